"""The compiled core (mypyc, as the container image ships it) behaves as the sources do.

The image runs ``scheduler/core`` built by ``ops/compile-core.sh``; everything else here runs
the sources. A compiled module checks declared types at run time and may differ in details
the type checker cannot see, so the build is made once per run (in a copy of the tree, never
in place) and checked three ways: it really loads the extension modules, it decides exactly
as the sources do (``python -m scheduler.bench fingerprint``), and the core's own tests pass
against it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler.bench.compiled import COMPILE_SCRIPT, CompileError, compile_copy, run_python
from scheduler.bench.fingerprint import fingerprint
from scheduler.bench.runner import BENCH_POLICIES
from scheduler.core import POLICIES, SchedulingResult, SchedulingSnapshot, core_build, schedule

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT.parent / "shared" / "traces" / "openb_dev.csv"
NESTED_TEST_NEEDS = ("hub_api", "tests", "pyproject.toml")  # beside scheduler/
CORE_TESTS = (
    "tests/scheduler/test_properties.py",
    "tests/scheduler/test_policies.py",
    "tests/scheduler/test_placement.py",
    "tests/scheduler/test_pass_rejections.py",
)
FINGERPRINT_ARGS = {"pending": 1500, "gpus": 200, "seeds": 2, "trace_jobs": 500}


@pytest.fixture(scope="session")  # the xdist group keeps its tests on one worker: one build
def compiled_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("compiled-core")
    try:  # (within pytest-timeout's 300 s for the test that builds it)
        return compile_copy(tree, extra=NESTED_TEST_NEEDS, timeout_s=240)
    except CompileError as exc:
        if os.environ.get("CI") or shutil.which("cc") or shutil.which("gcc"):
            raise  # CI must check the build the image ships; a build error is a failure
        pytest.skip(str(exc))


def test_the_checkout_runs_the_sources() -> None:
    # an extension module built in place would shadow every later edit of the .py files
    assert core_build() == "pure", list((ROOT / "scheduler" / "core").glob("*.so"))


@pytest.mark.slow
@pytest.mark.xdist_group("compiled-core")  # one build per run
def test_the_build_loads_the_extension_modules(compiled_tree: Path) -> None:
    probe = run_python(
        compiled_tree, "-c", "from scheduler.core import core_build; print(core_build())"
    )
    assert probe.stdout.strip() == "compiled", probe.stderr


def test_the_fingerprint_is_stable_and_tells_changed_decisions_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import scheduler.bench.fingerprint as module

    small = {"pending": 300, "gpus": 40, "seeds": range(1), "trace": None, "trace_jobs": 0}
    first, again = fingerprint(**small), fingerprint(**small)
    assert first["fingerprint"] == again["fingerprint"]
    assert first["scale_passes"] == len(POLICIES)

    def one_reason_changed(snapshot: SchedulingSnapshot) -> SchedulingResult:
        result = schedule(snapshot)
        wait = result.waiting[-1]
        waiting = (*result.waiting[:-1], wait._replace(reason=wait.reason + "."))
        return replace(result, waiting=waiting)

    monkeypatch.setattr(module, "schedule", one_reason_changed)
    assert fingerprint(**small)["fingerprint"] != first["fingerprint"]


@pytest.mark.slow
@pytest.mark.xdist_group("compiled-core")  # one build per run
def test_a_module_the_build_missed_makes_it_partial(compiled_tree: Path, tmp_path: Path) -> None:
    # (one mypyc group: a compiled module's shim missing would not fall back to its source —
    # the shared library registers every module of the group — but a module added to the
    # package after the build runs as source beside the compiled ones)
    tree = tmp_path / "tree"
    shutil.copytree(compiled_tree / "scheduler", tree / "scheduler")
    for shared in compiled_tree.glob("*__mypyc*.so"):
        shutil.copy2(shared, tree / shared.name)
    (tree / "scheduler" / "core" / "added_later.py").write_text('"""Not compiled."""\n')
    probe = run_python(tree, "-c", "from scheduler.core import core_build; print(core_build())")
    assert probe.stdout.strip() == "partial", probe.stderr


def test_compile_script_refuses_a_git_checkout(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    refused = subprocess.run(
        ["sh", str(COMPILE_SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "git checkout" in refused.stderr


@pytest.mark.slow
@pytest.mark.xdist_group("compiled-core")  # one build per run
def test_compiled_core_decides_exactly_as_the_sources(compiled_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "compiled.json"
    args = FINGERPRINT_ARGS
    trace = str(TRACE) if TRACE.exists() else None  # the replays need the shared trace
    ran = run_python(
        compiled_tree, "-m", "scheduler.bench", "fingerprint", "--json", str(out),
        "--pending", str(args["pending"]), "--gpus", str(args["gpus"]),
        "--seeds", str(args["seeds"]), "--trace-jobs", str(args["trace_jobs"]),
        *(["--trace", trace] if trace else []),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    compiled = json.loads(out.read_text())
    pure = fingerprint(
        pending=args["pending"],
        gpus=args["gpus"],
        seeds=range(args["seeds"]),
        trace=trace,
        trace_jobs=args["trace_jobs"],
    )
    assert (compiled["core_build"], pure["core_build"]) == ("compiled", "pure")
    assert compiled["scale_passes"] == pure["scale_passes"] > 0
    assert compiled["replays"] == pure["replays"] == (0 if trace is None else len(BENCH_POLICIES))
    assert compiled["fingerprint"] == pure["fingerprint"]


@pytest.mark.slow
@pytest.mark.xdist_group("compiled-core")  # one build per run
def test_the_cores_tests_pass_against_the_compiled_core(compiled_tree: Path) -> None:
    ran = run_python(
        compiled_tree,
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *CORE_TESTS,
        AXHUB_REQUIRE_COMPILED_CORE="1",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout


@pytest.mark.slow
@pytest.mark.xdist_group("compiled-core")
def test_scale_mode_measures_the_sources_and_the_compiled_build(
    compiled_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scheduler.bench import compiled
    from scheduler.bench.__main__ import main

    built_in: list[Path] = []

    def the_sessions_build(dest: Path) -> Path:  # the same compile_copy, made once above
        built_in.append(dest)
        return compiled_tree

    monkeypatch.setattr(compiled, "compile_copy", the_sessions_build)

    out = tmp_path / "scale.json"
    args = ["scale", "--pending", "300", "--gpus", "40", "--repeats", "2", "--compiled"]
    assert main([*args, "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert (result["core_build"], result["compiled"]["core_build"]) == ("pure", "compiled")
    assert result["compiled"]["pending"] == 300
    assert result["compiled_to_pure_p50"] > 0
    [temporary] = built_in
    assert not temporary.exists()  # the CLI's temporary copy, removed
