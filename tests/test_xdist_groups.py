"""`make test` runs two workers with ``--dist loadgroup``: the tests of one ``xdist_group`` must
share a worker, or each worker starts its own Ray cluster and MLflow server (tests/conftest.py
groups every integration test as ``cluster``). pytest 9.2 broke that silently with
pytest-xdist 3.8 (pytest-dev/pytest-xdist#1386); this runs the same setup on a tiny suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CONFTEST = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if "dynamic" in item.name:
            item.add_marker(pytest.mark.xdist_group("shared"))
"""

TESTS = """
import os
import time

import pytest

def record(name):
    time.sleep(0.2)  # keeps both workers busy, so an ungrouped split would show
    with open(os.path.join(os.environ["GROUP_LOG"], name), "w") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"])

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("i", range(4))
def test_static_{file}(i):
    record(f"static-{file}-{{i}}")

@pytest.mark.parametrize("i", range(4))
def test_dynamic_{file}(i):
    record(f"dynamic-{file}-{{i}}")

@pytest.mark.parametrize("i", range(4))
def test_free_{file}(i):
    record(f"free-{file}-{{i}}")
"""


def test_tests_of_one_group_run_on_one_worker(tmp_path: Path) -> None:
    suite, log = tmp_path / "suite", tmp_path / "log"
    suite.mkdir()
    log.mkdir()
    (suite / "conftest.py").write_text(CONFTEST)
    for file in ("a", "b"):
        (suite / f"test_{file}.py").write_text(TESTS.format(file=file))
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--dist", "loadgroup", "--rootdir", str(suite), "-c", os.devnull, str(suite)],
        env={**os.environ, "GROUP_LOG": str(log)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    workers = {path.name: path.read_text() for path in log.iterdir()}
    assert len(workers) == 24
    grouped = {w for name, w in workers.items() if not name.startswith("free")}
    assert len(grouped) == 1, f"the group ran on {sorted(grouped)}: {workers}"
    # and the rest was spread, so the check above could fail
    assert {w for name, w in workers.items() if name.startswith("free")} - grouped
