"""Benchmark traces from Alibaba's openb pod lists (scheduler/bench/openb.py).

The pod rows below are real rows of ``openb_pod_list_gpuspec33.csv`` (alibaba/clusterdata,
CC BY 4.0; pods 0048 and 0061, which did not run on GPUs, moved in time to sit among the
others); the expected trace rows are the first lines of ``../shared/traces/openb_dev.csv``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from scheduler.bench.__main__ import main
from scheduler.bench.openb import OwnerShape, convert, known_owners, num_gpus, ran_on_gpus
from scheduler.sim import load_trace

PODS = """\
name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,\
scheduled_time
openb-pod-0026,16000,32768,1,1000,,LS,Running,9924220,9964972,9924222
openb-pod-0027,1000,2048,1,320,,BE,Running,9941376,9972429,9941376
openb-pod-0028,16000,32768,1,1000,,LS,Running,9949982,9978759,9949984
openb-pod-0029,4000,15258,1,220,,BE,Running,9955274,10027972,9955274
openb-pod-0048,8000,30517,0,0,,BE,Running,9955280,10013821,9955280
openb-pod-0030,16000,32768,1,1000,,LS,Running,9957349,9967333,9957351
openb-pod-0031,16000,32768,1,1000,,LS,Running,9961302,9994357,9961304
openb-pod-0061,11908,47104,1,1000,,BE,Pending,9962000,9962125,
openb-pod-0032,6000,12288,1,460,P100,LS,Running,9963454,9978153,9963454
openb-pod-0033,3152,5600,1,1000,V100M16|V100M32,BE,Failed,9965463,9965645,9965463
"""
DEV_HEAD = """\
job_id,submit_s,duration_s,num_gpus,tenant,gpu_type
openb-pod-0027,0,31053,0.32,company-01,
openb-pod-0028,8606,28775,1,company-12,
openb-pod-0029,13898,72698,0.22,company-09,
openb-pod-0030,15973,9982,1,company-12,
openb-pod-0031,19926,33053,1,company-12,
openb-pod-0032,22078,14699,0.46,company-01,P100
openb-pod-0033,24087,182,1,company-03,V100M16|V100M32
"""
SINCE = 9941376  # creation time of openb_dev.csv's first job
HELDOUT = Path(__file__).resolve().parents[2] / "scheduler/bench/traces/openb_heldout.csv"
DEV = Path(__file__).resolve().parents[3] / "shared" / "traces" / "openb_dev.csv"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _pod(**fields: str) -> dict[str, str]:
    pod = _rows(PODS)[1] | {"name": "p"}
    return pod | fields


def _owners() -> dict[OwnerShape, str]:
    return known_owners(_rows(PODS), _rows(DEV_HEAD))


def test_conversion_gives_the_dev_trace_back_line_for_line() -> None:
    rows = convert(_rows(PODS), since_s=SINCE, skip=0, count=100, owners=_owners())
    assert rows == _rows(DEV_HEAD)


def test_skip_and_count_take_a_window_and_submit_times_count_from_its_first_job() -> None:
    rows = convert(_rows(PODS), since_s=SINCE, skip=2, count=3, owners=_owners())
    assert [(r["job_id"], r["submit_s"]) for r in rows] == [
        ("openb-pod-0029", "0"), ("openb-pod-0030", str(9957349 - 9955274)),
        ("openb-pod-0031", str(9961302 - 9955274)),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "ran"),
    [
        ({}, True),
        ({"num_gpu": "0", "gpu_milli": "0"}, False),  # a CPU pod
        ({"scheduled_time": ""}, False),  # never scheduled
        ({"deletion_time": ""}, False),  # no end recorded
        ({"deletion_time": "9941376", "scheduled_time": "9941376"}, False),  # ran 0 s
        ({"pod_phase": "Failed"}, True),  # failed after it ran: its GPU time was used
    ],
)
def test_which_pods_count_as_jobs(fields: dict[str, str], ran: bool) -> None:
    assert ran_on_gpus(_pod(**fields)) is ran


@pytest.mark.parametrize(
    ("num_gpu", "gpu_milli", "expected"),
    [("1", "460", "0.46"), ("1", "1000", "1"), ("2", "1000", "2"), ("8", "1000", "8")],
)
def test_a_share_below_one_gpu_is_a_fraction(num_gpu: str, gpu_milli: str, expected: str) -> None:
    assert num_gpus(_pod(num_gpu=num_gpu, gpu_milli=gpu_milli)) == expected


def test_a_new_owner_keeps_one_company_for_all_its_jobs_and_the_draw_is_seeded() -> None:
    pods = _rows(PODS)
    first = convert(pods, since_s=SINCE, skip=0, count=100, owners={}, seed=7, companies=3)
    again = convert(pods, since_s=SINCE, skip=0, count=100, owners={}, seed=7, companies=3)
    assert first == again
    tenant_of = {r["job_id"]: r["tenant"] for r in first}
    same_shape = ["openb-pod-0028", "openb-pod-0030", "openb-pod-0031"]
    assert len({tenant_of[j] for j in same_shape}) == 1
    assert set(tenant_of.values()) <= {"company-01", "company-02", "company-03"}


def test_an_owner_with_two_companies_in_the_owners_trace_is_refused() -> None:
    trace = _rows(DEV_HEAD)
    trace[3]["tenant"] = "company-05"  # pod 0030 has pod 0028's shape (company-12)
    with pytest.raises(ValueError, match="two companies"):
        known_owners(_rows(PODS), trace)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since-s", "99999999"], "no pod left to convert"),
        (["--skip", "-1"], "--skip must be >= 0"),
        (["--owners", "OTHER"], "is not in the pod list"),
    ],
)
def test_cli_refuses_bad_input_with_a_usage_error(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pods = tmp_path / "pods.csv"
    pods.write_text(PODS)
    other = tmp_path / "other.csv"
    other.write_text(DEV_HEAD.replace("openb-pod-0027", "openb-pod-9999"))
    args = [str(other) if a == "OTHER" else a for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(["openb", "--pods", str(pods), "--out", str(tmp_path / "o.csv"), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_names_the_pod_with_a_malformed_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pods = tmp_path / "pods.csv"
    pods.write_text(PODS.replace("openb-pod-0029,4000,15258,1,", "openb-pod-0029,4000,15258,x,"))
    with pytest.raises(SystemExit) as exit_info:
        main(["openb", "--pods", str(pods), "--out", str(tmp_path / "o.csv")])
    assert exit_info.value.code == 2
    assert "pod openb-pod-0029: num_gpu is not a whole number: 'x'" in capsys.readouterr().err


def test_cli_refuses_a_file_that_is_not_a_pod_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text(DEV_HEAD)
    with pytest.raises(SystemExit) as exit_info:
        main(["openb", "--pods", str(trace), "--out", str(tmp_path / "o.csv")])
    assert exit_info.value.code == 2
    assert "not an openb pod list" in capsys.readouterr().err


def test_cli_writes_a_trace_the_benchmark_loads(tmp_path: Path) -> None:
    pods, owners, out = tmp_path / "pods.csv", tmp_path / "dev.csv", tmp_path / "out.csv"
    pods.write_text(PODS)
    owners.write_text(DEV_HEAD)
    argv = ["openb", "--pods", str(pods), "--since-s", str(SINCE), "--owners", str(owners)]
    assert main([*argv, "--out", str(out)]) == 0
    assert out.read_bytes() == DEV_HEAD.replace("\n", "\r\n").encode()  # as openb_dev.csv
    assert [j.job_id for j in load_trace(out)][:2] == ["openb-pod-0027", "openb-pod-0028"]


def test_the_held_out_trace_is_the_half_after_the_dev_trace() -> None:
    held_out = load_trace(HELDOUT)
    assert len(held_out) == 3089
    assert held_out[0].submit_s == 0
    assert 15 * 86400 < held_out[-1].submit_s < 17 * 86400  # 16.1 days
    if DEV.exists():
        dev = load_trace(DEV)
        assert not {j.job_id for j in dev} & {j.job_id for j in held_out}
        last_dev = max(int(j.job_id.rsplit("-", 1)[1]) for j in dev)
        assert min(int(j.job_id.rsplit("-", 1)[1]) for j in held_out) > last_dev
