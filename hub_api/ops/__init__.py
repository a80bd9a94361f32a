"""Operations: GPU utilization history, Prometheus metrics, usage accounting, KPI report, alerts."""
