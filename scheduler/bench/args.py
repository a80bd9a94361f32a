"""argparse types of the benchmark's command lines: bad input is a usage error naming the
problem (exit 2), never a traceback."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from scheduler.sim.trace import parse_cluster


def trace_file(text: str) -> str:
    """An argparse type: a trace CSV that exists (a clear usage error, not a traceback)."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such trace file: {text}")
    return text


def cluster_spec(text: str) -> str:
    """An argparse type: a cluster spec such as ``4x8:A100,6x4:L40S``."""
    try:
        parse_cluster(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (sizes, counts)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seeds(text: str) -> list[int]:
    """An argparse type: comma-separated non-negative integers."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        msg = f"expected comma-separated integers, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return values


def settings_override(text: str) -> tuple[str, Any]:
    """An argparse type: one ``FIELD=VALUE`` override of a ``PolicySettings`` field (the
    value read as JSON and checked against the field's type)."""
    from scheduler.bench.suite import parse_overrides

    try:
        ((field, value),) = parse_overrides([text]).items()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return field, value
