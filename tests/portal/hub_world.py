"""A real hub_api over HTTP with demo data, jobs on a fake cluster and a proposed grant.

Built once per test session: the demo seed (Korean companies, one user per role), then through
the API itself: a Gwangju consultation triaged by the consultant with a grant proposal waiting
for the operator, and Changwon jobs placed by the real scheduler service on an in-memory
cluster (one finished with per-epoch metric lines in its log, some running, one queued).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub_api.core.config import Environment, Settings
from hub_api.core.db import build_engine
from hub_api.demo.seed import DEMO_PASSWORD, seed_demo
from hub_api.jobs.models import Job
from hub_api.main import create_app
from hub_api.models_registry import metadata
from portal.api_client import PortalClient
from scheduler.core.model import GpuNode
from scheduler.executors.memory import InMemoryExecutor
from scheduler.service.runner import SchedulerService
from tests.conftest import TEST_SECRET
from tests.hub_api.jobs.builders import Clock

LOGINS = {
    "engineer": "engineer@changwon.example",
    "engineer_gwangju": "engineer@gwangju.example",
    "consultant": "consultant@axhub.example",
    "operator": "operator@axhub.example",
    "admin": "admin@axhub.example",
}
NODES = (GpuNode("gpu-a100-0", "A100", 4), GpuNode("gpu-l40s-0", "L40S", 4))


def metric_log(epochs: int = 4) -> str:
    lines = [json.dumps({"params": {"epochs": epochs}})]
    for step in range(1, epochs + 1):
        lines.append(
            json.dumps(
                {
                    "step": step,
                    "train_loss": round(1.2 / step, 4),
                    "val_accuracy": round(0.55 + 0.1 * step, 4),
                }
            )
        )
    return "\n".join([*lines, json.dumps({"done": True, "elapsed_s": 12.5})]) + "\n"


@dataclass
class HubWorld:
    url: str
    engine: Engine
    settings: Settings
    service: SchedulerService
    executor: InMemoryExecutor
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str) -> PortalClient:
        """A client signed in as ``who``; one login per persona (argon2 is slow on purpose)."""
        if who not in self.tokens:
            self.tokens[who] = PortalClient(self.url).login(LOGINS[who], DEMO_PASSWORD)[
                "access_token"
            ]
        return PortalClient(self.url, token=self.tokens[who])


def build_engine_and_settings(tmp: Path, *, file_db: bool = False) -> tuple[Engine, Settings]:
    """In-memory SQLite for AppTest; a file (real locking) when a scheduler thread shares it."""
    engine = build_engine(f"sqlite:///{tmp / 'hub.db'}" if file_db else "sqlite://")
    metadata.create_all(engine)
    settings = Settings(
        environment=Environment.test,
        database_url="sqlite://",
        data_dir=tmp / "data",
        attachment_dir=tmp / "attachments",
        secret_key=TEST_SECRET,
    ).model_copy(update={"scheduler_pass_interval_s": 0.0})
    with Session(engine) as session:
        seed_demo(session=session, settings=settings)
        session.commit()
    return engine, settings


def make_app(engine: Engine, settings: Settings, executor: Any) -> Any:
    app = create_app(settings, engine=engine)
    app.state.executor = executor
    return app


def populate(world: HubWorld, clock: Clock) -> None:
    """Cases, a proposed grant and jobs, all made through the API as the personas would."""
    gwangju = world.client("engineer_gwangju")
    case = gwangju.create_case(
        {
            "title": "프레스 금형 마모 예측",
            "service_type": "predictive_maintenance",
            "description": "금형 교체 시점을 센서 데이터로 예측하고 싶습니다.",
        }
    )
    world.ids["gwangju_case"] = case["id"]
    consultant = world.client("consultant")
    consultant.transition_case(case["id"], "triaged", "현장 방문 일정 확정")
    consultant.add_comment(case["id"], "센서 데이터 샘플을 공유해 주세요.", "shared")
    consultant.add_comment(case["id"], "예산 규모 확인 필요", "internal")
    programme = consultant.programmes()[0]
    now = datetime.now(UTC)
    grant = consultant.propose_grant(
        {
            "programme_id": programme["id"],
            "case_id": case["id"],
            "gpu_hours": 120.0,
            "gpu_type": None,
            "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(days=120)).isoformat(),
            "purpose": "금형 마모 예측 모델 학습",
        }
    )
    world.client("operator").decide_grant(
        grant["id"],
        "approve",
        "협약 체결 확인",
        agreement_number="AX-2026-0042",
        agreement_signed_on=now.date().isoformat(),
    )
    second = consultant.propose_grant(
        {
            "programme_id": programme["id"],
            "case_id": case["id"],
            "gpu_hours": 60.0,
            "gpu_type": "L40S",
            "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(days=90)).isoformat(),
            "purpose": "추가 실험 (L40S)",
        }
    )
    world.ids["proposed_grant"] = second["id"]
    world.ids["changwon_case"] = consultant.cases(company_id=_company_of(world, "engineer"))[0][
        "id"
    ]

    engineer = world.client("engineer")
    done = engineer.submit_job(
        {
            "name": "결함 분류 v1",
            "template": "defect_classifier",
            "num_gpus": 1,
            "gpu_type": "A100",
            "time_limit_s": 3600,
            "arguments": {"epochs": "4"},
        }
    )
    world.service.run_pass()
    clock.advance(900)
    sid = _submission(world, done["id"])
    world.executor.runs[sid].log += metric_log()
    world.executor.complete(sid)
    world.service.run_pass()
    world.ids["succeeded_job"] = done["id"]
    running = engineer.submit_job(
        {
            "name": "예지보전 MLP",
            "template": "predictive_maintenance",
            "num_gpus": 2,
            "gpu_type": "L40S",
            "time_limit_s": 7200,
        }
    )
    big = engineer.submit_job(
        {
            "name": "결함 분류 대형",
            "template": "defect_classifier",
            "num_gpus": 4,
            "gpu_type": "A100",
            "time_limit_s": 3600,
        }
    )
    gwangju.submit_job(
        {
            "name": "금형 마모 예측",
            "template": "predictive_maintenance",
            "num_gpus": 2,
            "gpu_type": "L40S",
            "time_limit_s": 3600,
        }
    )
    world.service.run_pass()
    clock.advance(120)
    world.executor.runs[_submission(world, running["id"])].log += metric_log(2)
    waiting = engineer.submit_job(
        {
            "name": "결함 분류 v2",
            "template": "defect_classifier",
            "num_gpus": 4,
            "gpu_type": "A100",
            "time_limit_s": 3600,
        }
    )
    world.service.run_pass()
    world.ids |= {"running_job": running["id"], "big_job": big["id"], "queued_job": waiting["id"]}


def _company_of(world: HubWorld, who: str) -> int:
    return int(world.client(who).me()["company_id"])


def _submission(world: HubWorld, job_id: int) -> str:
    with Session(world.engine) as session:
        job = session.exec(select(Job).where(Job.id == job_id)).one()
        return str(job.submission_id)
