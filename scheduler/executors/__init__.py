"""Executors run the core's decisions: Ray Jobs API (later), simulated (scheduler.sim)."""
