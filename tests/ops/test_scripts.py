"""The operator scripts in ops/ parse as POSIX sh and refuse to run without their argument.

What they do needs a Docker daemon (check-image.sh, debian-python-image.sh) or a C compiler
(compile-core.sh, built and checked by tests/scheduler/test_compiled_core.py); the build
machines have neither daemon, so here they are held to their interface.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

OPS = Path(__file__).resolve().parents[2] / "ops"
SCRIPTS = sorted(OPS.glob("*.sh"))


def test_every_script_is_found() -> None:
    assert {script.name for script in SCRIPTS} >= {
        "check-image.sh",
        "compile-core.sh",
        "debian-python-image.sh",
    }


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_parses_as_posix_sh(script: Path) -> None:
    result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_without_its_argument_prints_its_usage_and_does_nothing(
    script: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        ["sh", str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=30
    )
    assert result.returncode != 0
    assert f"usage: ops/{script.name}" in result.stderr
    assert list(tmp_path.iterdir()) == []
