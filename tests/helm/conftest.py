"""Rendering the Helm chart in ``helm/axhub`` with a real ``helm`` binary.

helm is looked up in ``$AXHUB_HELM``, ``.tools/bin/helm`` (``make helm`` puts it there through
``../shared/tools/get-helm``) and ``$PATH``; without one every chart test is skipped with that
reason. No Kubernetes API server is needed: everything is ``helm lint`` / ``helm template``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "axhub"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "hub"
NAMESPACE = "axhub"


def find_helm() -> str | None:
    for candidate in (os.environ.get("AXHUB_HELM"), str(REPO / ".tools" / "bin" / "helm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("helm")


@dataclass(frozen=True)
class Render:
    returncode: int
    stdout: str
    stderr: str

    @property
    def docs(self) -> list[dict[str, Any]]:
        assert self.returncode == 0, self.stderr
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return [doc for doc in yaml.load_all(self.stdout, Loader=loader) if doc]


@cache
def _run_helm(helm: str, args: tuple[str, ...]) -> Render:
    done = subprocess.run([helm, *args], capture_output=True, text=True, timeout=120, check=False)
    return Render(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class Helm:
    binary: str

    def run(self, *args: str) -> Render:
        return _run_helm(self.binary, args)

    def template(self, *values_files: Path, sets: tuple[str, ...] = ()) -> Render:
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        for values_file in values_files:
            args += ["--values", str(values_file)]
        return self.run(*args, *_set_args(sets))


def _set_args(sets: tuple[str, ...]) -> list[str]:
    """``key=value`` becomes ``--set key=value``; ``key:=<json>`` becomes ``--set-json``."""
    args: list[str] = []
    for item in sets:
        if ":=" in item:
            key, raw = item.split(":=", 1)
            args += ["--set-json", f"{key}={raw}"]
        else:
            args += ["--set", item]
    return args


@pytest.fixture(scope="session")
def helm() -> Helm:
    binary = find_helm()
    if binary is None:
        pytest.skip(
            "helm not found ($AXHUB_HELM, .tools/bin/helm, PATH): run `make helm` "
            "(fetches it with ../shared/tools/get-helm)"
        )
    return Helm(binary)


def load_values(*values_files: Path) -> dict[str, Any]:
    """The chart's values.yaml with the given files merged over it (like helm does)."""
    merged: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    for values_file in values_files:
        _merge(merged, yaml.safe_load(values_file.read_text()) or {})
    return merged


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
