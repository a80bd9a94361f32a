"""Helpers shared by the built-in templates (copied next to each template's train.py at submit).

Kept dependency-free beyond PyTorch and NumPy so a template runs on any Ray worker image.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def pick_device() -> Any:
    """The GPU Ray gave this job (``CUDA_VISIBLE_DEVICES``), or the CPU when there is none."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def describe_device(device: Any) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "device": str(device),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        info["gpu_name"] = torch.cuda.get_device_name(device)
    return info


class MetricsReporter:
    """Prints one JSON line per metric step (the hub's log view parses them) and logs to MLflow
    when the hub injected a run (``MLFLOW_RUN_ID``)."""

    def __init__(self) -> None:
        self._mlflow: Any = None
        self._started = time.monotonic()
        if os.environ.get("MLFLOW_RUN_ID") and os.environ.get("MLFLOW_TRACKING_URI"):
            try:
                import mlflow

                mlflow.start_run(run_id=os.environ["MLFLOW_RUN_ID"])
                self._mlflow = mlflow
            except Exception as exc:  # tracking must never break training
                print(f"mlflow unavailable, metrics only in logs: {exc}", file=sys.stderr)

    def params(self, values: dict[str, Any]) -> None:
        print(json.dumps({"params": values}), flush=True)
        if self._mlflow:
            self._safe(self._mlflow.log_params, values)

    def metrics(self, step: int, values: dict[str, float]) -> None:
        print(json.dumps({"step": step, **values}), flush=True)
        if self._mlflow:
            self._safe(self._mlflow.log_metrics, values, step=step)

    def model(self, model: Any, name: str, example: Any) -> None:
        if not self._mlflow:
            return
        import mlflow.pytorch

        # The template models need torch (and cloudpickle) only: naming them skips MLflow's
        # requirement inference, a subprocess that reloads the model and took 35-70 s of the
        # job's GPU time here (the model still loads back with these pins).
        self._safe(
            mlflow.pytorch.log_model,
            model,
            name=name,
            input_example=example,
            pip_requirements=mlflow.pytorch.get_default_pip_requirements(),
        )

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        print(json.dumps({"done": True, "elapsed_s": round(elapsed, 2)}), flush=True)
        if self._mlflow:
            self._safe(self._mlflow.end_run)

    @staticmethod
    def _safe(fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            print(f"mlflow call failed: {exc}", file=sys.stderr)
