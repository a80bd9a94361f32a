"""Settings of the operations domain (prefix ``HUB_``), kept apart from the core settings.

``HUB_GPU_HOURLY_RATES`` is JSON, e.g. ``{"A100": 3200, "L40S": 1400, "*": 1000}`` (currency per
GPU-hour; ``*`` prices any type not listed and jobs that asked for "any GPU").
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GpuMetricsSource(StrEnum):
    none = "none"
    nvidia_smi = "nvidia-smi"
    dcgm = "dcgm"


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    metrics_token: str | None = Field(
        default=None, description="Bearer token Prometheus sends to /metrics"
    )
    utilization_sample_interval_s: float = Field(default=60.0, ge=0)
    gpu_metrics_source: GpuMetricsSource = GpuMetricsSource.none
    dcgm_exporter_url: str = "http://dcgm-exporter:9400/metrics"
    nvidia_smi_command: str = (
        "nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader,nounits"
    )
    gpu_metrics_node_id: str | None = Field(
        default=None, description="nvidia-smi only: the node the readings belong to"
    )
    gpu_hourly_rates: dict[str, float] = Field(default_factory=lambda: {"*": 0.0})
    currency: str = "KRW"
    idle_gpu_threshold_pct: float = Field(default=5.0, ge=0, le=100)
    idle_gpu_window_s: float = Field(default=900.0, gt=0)
    budget_alert_fraction: float = Field(default=0.9, gt=0, le=1)
    grant_expiry_alert_days: int = Field(default=7, ge=1)
    node_stale_after_s: float = Field(default=300.0, gt=0)

    def rate_for(self, gpu_type: str | None) -> float:
        rates = self.gpu_hourly_rates
        return float(rates.get(gpu_type or "*", rates.get("*", 0.0)))


@lru_cache
def get_ops_settings() -> OpsSettings:
    return OpsSettings()
