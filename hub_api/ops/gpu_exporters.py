"""Real GPU utilization: ``nvidia-smi`` on a bare node, NVIDIA's DCGM exporter in Kubernetes.

Both parsers are pure (text in, readings out) and tested against recorded outputs; the sources
around them fetch the text (a subprocess, an HTTP GET) and never raise: an unreachable exporter
yields no readings and a warning.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import structlog
from prometheus_client.parser import text_string_to_metric_families

from hub_api.ops.config import GpuMetricsSource, OpsSettings

log = structlog.get_logger(__name__)

DCGM_UTIL = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
# The node label differs between DCGM exporter versions and deployments.
DCGM_NODE_LABELS = ("Hostname", "hostname", "node", "kubernetes_node", "instance")


@dataclass(frozen=True)
class GpuReading:
    node_id: str
    gpu_index: int
    utilization_pct: float
    memory_used_mib: float | None = None
    model: str | None = None
    pod: str | None = None  # DCGM: the pod using the GPU (a Ray worker pod = the hub's node id)


def _number(text: str) -> float | None:
    text = text.strip()
    if not text or text.startswith("[") or text.upper() in {"N/A", "[N/A]"}:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_nvidia_smi(text: str, *, node_id: str) -> list[GpuReading]:
    """``nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader,nounits``.

    Lines like ``0, 87, 30512``; ``[N/A]`` or ``[Not Supported]`` values skip the reading (or
    leave the memory unknown); a header line, if present, is ignored.
    """
    readings = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) < 2 or not parts[0].isdigit():
            continue
        utilization = _number(parts[1])
        if utilization is None:
            continue
        memory = _number(parts[2]) if len(parts) > 2 else None
        readings.append(
            GpuReading(
                node_id=node_id,
                gpu_index=int(parts[0]),
                utilization_pct=utilization,
                memory_used_mib=memory,
            )
        )
    return readings


def _node_of(labels: dict[str, str]) -> str | None:
    for name in DCGM_NODE_LABELS:
        if labels.get(name):
            return labels[name].split(":")[0] if name == "instance" else labels[name]
    return None


def parse_dcgm(text: str) -> list[GpuReading]:
    """Prometheus text of NVIDIA's dcgm-exporter: ``DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname=…}``
    (percent) joined with ``DCGM_FI_DEV_FB_USED`` (MiB) on node and GPU index; ``pod`` is kept
    (the exporter's pod mapping names the Ray worker pod holding the GPU)."""
    utilization: dict[tuple[str, int], tuple[float, str | None, str | None]] = {}
    memory: dict[tuple[str, int], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in (DCGM_UTIL, DCGM_FB_USED):
            continue
        for sample in family.samples:
            node = _node_of(sample.labels)
            gpu = sample.labels.get("gpu")
            if node is None or gpu is None or not gpu.isdigit():
                continue
            key = (node, int(gpu))
            if family.name == DCGM_UTIL:
                labels = sample.labels
                utilization[key] = (float(sample.value), labels.get("modelName"), labels.get("pod"))
            else:
                memory[key] = float(sample.value)
    return [
        GpuReading(
            node_id=node,
            gpu_index=index,
            utilization_pct=value,
            memory_used_mib=memory.get((node, index)),
            model=model,
            pod=pod or None,
        )
        for (node, index), (value, model, pod) in sorted(utilization.items())
    ]


GpuReader = Callable[[], list[GpuReading]]


def nvidia_smi_reader(command: str, node_id: str) -> GpuReader:
    def read() -> list[GpuReading]:
        try:
            result = subprocess.run(
                shlex.split(command), capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("nvidia_smi_failed", error=str(exc))
            return []
        return parse_nvidia_smi(result.stdout, node_id=node_id)

    return read


def dcgm_reader(url: str) -> GpuReader:
    def read() -> list[GpuReading]:
        try:
            response = httpx.get(url, timeout=5.0)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("dcgm_exporter_unreachable", url=url, error=str(exc))
            return []
        return parse_dcgm(response.text)

    return read


def reader_from_settings(settings: OpsSettings, *, default_node_id: str) -> GpuReader | None:
    if settings.gpu_metrics_source == GpuMetricsSource.nvidia_smi:
        node_id = settings.gpu_metrics_node_id or default_node_id
        return nvidia_smi_reader(settings.nvidia_smi_command, node_id)
    if settings.gpu_metrics_source == GpuMetricsSource.dcgm:
        return dcgm_reader(settings.dcgm_exporter_url)
    return None
