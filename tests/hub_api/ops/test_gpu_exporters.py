"""Parsers of real GPU utilization, against recorded exporter outputs (no GPU needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_api.ops.config import GpuMetricsSource, OpsSettings
from hub_api.ops.gpu_exporters import (
    GpuReading,
    nvidia_smi_reader,
    parse_dcgm,
    parse_nvidia_smi,
    reader_from_settings,
)

RECORDED = Path(__file__).parent / "recorded"


def test_nvidia_smi_readings_skip_unsupported_gpus() -> None:
    text = (RECORDED / "nvidia_smi.csv").read_text()
    assert parse_nvidia_smi(text, node_id="n1") == [
        GpuReading("n1", 0, 97.0, 38211.0),
        GpuReading("n1", 1, 0.0, 3.0),
        GpuReading("n1", 2, 45.0, 20480.0),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("index, utilization.gpu [%], memory.used [MiB]\n0, 5, 10\n", [GpuReading("n", 0, 5, 10)]),
        ("0, 7\n", [GpuReading("n", 0, 7.0, None)]),
        ("0, 7, [Not Supported]\n", [GpuReading("n", 0, 7.0, None)]),
        ("garbage line\n1, x, 3\n", []),
    ],
)
def test_nvidia_smi_edge_cases(text: str, expected: list[GpuReading]) -> None:
    assert parse_nvidia_smi(text, node_id="n") == expected


def test_dcgm_readings_join_utilization_and_memory_per_node_and_gpu() -> None:
    readings = parse_dcgm((RECORDED / "dcgm_exporter.txt").read_text())
    assert [(r.node_id, r.gpu_index, r.utilization_pct, r.memory_used_mib) for r in readings] == [
        ("gpu-a100-0", 0, 88.0, 61234.0),
        ("gpu-a100-0", 1, 0.0, 0.0),
        ("gpu-l40s-0", 0, 12.0, None),
    ]
    assert readings[0].model == "NVIDIA A100-SXM4-80GB"
    assert [r.pod for r in readings] == ["axhub-raycluster-gpu-a100-worker-7x2kq", None, None]


def test_dcgm_without_node_label_falls_back_to_instance() -> None:
    text = 'DCGM_FI_DEV_GPU_UTIL{gpu="3",instance="10.0.0.7:9400"} 55\n'
    assert parse_dcgm(text) == [GpuReading("10.0.0.7", 3, 55.0, None, None)]


def test_a_failing_nvidia_smi_yields_no_readings() -> None:
    assert nvidia_smi_reader("/nonexistent/nvidia-smi", "n")() == []


def test_nvidia_smi_reader_runs_the_configured_command(tmp_path: Path) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\ncat {RECORDED / 'nvidia_smi.csv'}\n")
    fake.chmod(0o755)
    settings = OpsSettings(
        gpu_metrics_source=GpuMetricsSource.nvidia_smi, nvidia_smi_command=str(fake)
    )
    reader = reader_from_settings(settings, default_node_id="bare-1")
    assert reader is not None
    assert [r.gpu_index for r in reader()] == [0, 1, 2]
    assert reader_from_settings(OpsSettings(), default_node_id="x") is None
