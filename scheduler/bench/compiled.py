"""The image's compiled build of ``scheduler/core``, made in a copy of the checkout.

The container image runs the core compiled by mypyc (``ops/compile-core.sh``); a checkout runs
its sources, and must: an extension module built in place would shadow every later edit of its
``.py`` file. To measure or test the compiled build from a checkout, copy the tree and compile
the copy — this module does that for ``python -m scheduler.bench scale --compiled`` and for
``tests/scheduler/test_compiled_core.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import scheduler

CHECKOUT = Path(scheduler.__file__).resolve().parents[1]
COMPILE_SCRIPT = CHECKOUT / "ops" / "compile-core.sh"


class CompileError(RuntimeError):
    """The compiled build could not be made here (no checkout, no C compiler, a build error)."""


def compile_copy(dest: Path, *, extra: Sequence[str] = (), timeout_s: float = 600.0) -> Path:
    """Copy ``scheduler/`` (and ``extra`` paths of the checkout) into ``dest`` and compile the
    core there; returns ``dest``, whose ``scheduler`` package then imports compiled."""
    if not COMPILE_SCRIPT.exists():
        raise CompileError(f"{COMPILE_SCRIPT} not found: the compiled build needs a checkout")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        raise CompileError("no C compiler (cc or gcc): mypyc cannot build the core here")
    skip = shutil.ignore_patterns("__pycache__", "*.so", ".hypothesis")
    for name in ("scheduler", *extra):
        source = CHECKOUT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=skip)
        else:
            shutil.copy2(source, dest / name)
    built = subprocess.run(
        ["sh", str(COMPILE_SCRIPT), str(dest)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if built.returncode != 0:
        raise CompileError(f"compile-core.sh failed:\n{built.stdout}{built.stderr}")
    return dest


def run_python(
    tree: Path, *args: str, timeout_s: float = 600.0, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` with ``tree`` first on the import path (-m / -c put the working
    directory first: the copy's packages, not the checkout's)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def measure_compiled(tree: Path, *, pending: int, gpus: int, repeats: int, policy: str) -> Any:
    """``scheduler.bench.scale.measure`` run by the compiled build in ``tree``."""
    out = tree / "scale-compiled.json"
    ran = run_python(
        tree, "-m", "scheduler.bench", "scale", "--json", str(out),
        "--pending", str(pending), "--gpus", str(gpus), "--repeats", str(repeats),
        "--policy", policy,
    )  # fmt: skip
    if ran.returncode != 0:
        raise CompileError(f"the compiled build's scale run failed:\n{ran.stderr[-4000:]}")
    return json.loads(out.read_text())
