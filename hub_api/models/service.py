"""A company's experiments, runs, artifacts and registered models, read from MLflow.

Every MLflow call names the company's workspace, so an id from another company's workspace is
"not found" in MLflow itself; the hub answers 404 exactly as for an id that does not exist.
Engineers reach their own company's workspace; hub staff name a company (``company_id``) or,
for lists, see every company's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from hub_api.cases.scope import company_condition, ensure_company_in_scope
from hub_api.core.authz import Principal
from hub_api.core.config import Settings
from hub_api.core.errors import ConflictError, HubError, InvalidInputError, NotFoundError
from hub_api.grants.models import Grant, LedgerEntry, LedgerKind
from hub_api.jobs.models import Job
from hub_api.models.models import (
    ArtifactEntry,
    ArtifactListing,
    ExperimentPublic,
    Lineage,
    LoggedModelPublic,
    MetricPoint,
    ModelVersionDetail,
    ModelVersionPublic,
    ModelVersionRef,
    RegisteredModelDetail,
    RegisteredModelPublic,
    RunDetail,
    RunMetrics,
    RunPublic,
)
from hub_api.tracking.client import (
    MlflowRest,
    TrackingNotFoundError,
    TrackingRequestError,
    TrackingUnavailableError,
    quoted,
)
from hub_api.tracking.job_runs import TAG_JOB_ID
from hub_api.tracking.models import MlflowTenant
from hub_api.tracking.tenancy import admin_client

LOGGED_MODELS_DIR = "logged-models"
MAX_METRIC_POINTS = 25_000


class TrackingServiceUnavailableError(HubError):
    status_code = 503
    problem_type = "tracking-unavailable"


@dataclass(frozen=True)
class Space:
    company_id: int
    workspace: str
    client: MlflowRest


def _time(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except TrackingUnavailableError as exc:
        raise TrackingServiceUnavailableError(f"MLflow is unavailable right now: {exc}") from exc
    except TrackingRequestError as exc:
        raise InvalidInputError(f"MLflow refused the request: {exc}") from exc


# ----- scope ----------------------------------------------------------------------------------
def spaces(
    *, session: Session, settings: Settings, actor: Principal, company_id: int | None
) -> list[Space]:
    """The MLflow spaces the caller may read: their company's, or (staff) one or all."""
    client = admin_client(settings)
    if not actor.is_staff:
        company_id = company_id or actor.company_id
    if company_id is not None:
        ensure_company_in_scope(session, actor, company_id, what=f"company {company_id}")
    statement = select(MlflowTenant).where(col(MlflowTenant.provisioned_at).is_not(None))
    if company_id is not None:
        statement = statement.where(MlflowTenant.company_id == company_id)
    else:
        scope = company_condition(session, actor, MlflowTenant.company_id)
        if scope is not None:
            statement = statement.where(scope)
    tenants = session.exec(statement.order_by(col(MlflowTenant.company_id))).all()
    if client is None:
        return []
    return [Space(t.company_id, t.workspace, client) for t in tenants]


def _spaces_for_run(
    session: Session, settings: Settings, actor: Principal, company_id: int | None, run_id: str
) -> list[Space]:
    if actor.is_staff and company_id is None:
        job = session.exec(select(Job).where(Job.mlflow_run_id == run_id)).first()
        if job is not None:
            company_id = job.company_id
    return spaces(session=session, settings=settings, actor=actor, company_id=company_id)


# ----- experiments and runs -------------------------------------------------------------------
def list_experiments(
    *, session: Session, settings: Settings, actor: Principal, company_id: int | None
) -> list[ExperimentPublic]:
    items: list[ExperimentPublic] = []
    for space in spaces(session=session, settings=settings, actor=actor, company_id=company_id):
        found = _call(
            space.client.post,
            "/api/2.0/mlflow/experiments/search",
            {"max_results": 1000},
            workspace=space.workspace,
        )
        items.extend(
            ExperimentPublic(
                company_id=space.company_id,
                experiment_id=str(e["experiment_id"]),
                name=e["name"],
                lifecycle_stage=e.get("lifecycle_stage", "active"),
                created_at=_time(e.get("creation_time")),
            )
            for e in found.get("experiments", [])
        )
    return items


def _pairs(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: item.get("value") for item in items or []}


def _run_public(space: Space, run: dict[str, Any]) -> RunPublic:
    info, data = run["info"], run.get("data", {})
    tags = {k: str(v) for k, v in _pairs(data.get("tags")).items()}
    job_id = tags.get(TAG_JOB_ID)
    return RunPublic(
        company_id=space.company_id,
        run_id=info["run_id"],
        experiment_id=str(info["experiment_id"]),
        name=info.get("run_name"),
        status=info.get("status", "UNKNOWN"),
        started_at=_time(info.get("start_time")),
        ended_at=_time(info.get("end_time")),
        job_id=int(job_id) if job_id and job_id.isdigit() else None,
        params={k: str(v) for k, v in _pairs(data.get("params")).items()},
        metrics={k: float(v) for k, v in _pairs(data.get("metrics")).items()},
        tags={k: v for k, v in tags.items() if not k.startswith("mlflow.log-model")},
    )


def list_runs(
    *,
    session: Session,
    settings: Settings,
    actor: Principal,
    company_id: int | None,
    experiment_id: str | None,
    job_id: int | None,
    limit: int,
) -> list[RunPublic]:
    runs: list[RunPublic] = []
    for space in spaces(session=session, settings=settings, actor=actor, company_id=company_id):
        if experiment_id is not None:
            experiment_ids = [experiment_id]
        else:
            experiment_ids = [
                e.experiment_id
                for e in list_experiments(
                    session=session, settings=settings, actor=actor, company_id=space.company_id
                )
            ]
        if not experiment_ids:
            continue
        body: dict[str, Any] = {
            "experiment_ids": experiment_ids,
            "max_results": limit,
            "order_by": ["attributes.start_time DESC"],
        }
        if job_id is not None:
            body["filter"] = f"tags.`{TAG_JOB_ID}` = '{job_id}'"
        try:
            found = _call(
                space.client.post, "/api/2.0/mlflow/runs/search", body, workspace=space.workspace
            )
        except TrackingNotFoundError:
            continue  # an experiment id of another workspace
        runs.extend(_run_public(space, run) for run in found.get("runs", []))
    runs.sort(key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return runs[:limit]


def _find_run(
    session: Session, settings: Settings, actor: Principal, company_id: int | None, run_id: str
) -> tuple[Space, dict[str, Any]]:
    for space in _spaces_for_run(session, settings, actor, company_id, run_id):
        try:
            found = _call(
                space.client.get,
                "/api/2.0/mlflow/runs/get",
                workspace=space.workspace,
                run_id=run_id,
            )
        except TrackingNotFoundError:
            continue
        return space, found["run"]
    raise NotFoundError(f"run {run_id} not found")


def _logged_models(space: Space, run: dict[str, Any]) -> list[dict[str, Any]]:
    found = _call(
        space.client.post,
        "/api/2.0/mlflow/logged-models/search",
        {"experiment_ids": [str(run["info"]["experiment_id"])], "max_results": 100},
        workspace=space.workspace,
    )
    return [
        m["info"]
        for m in found.get("models", [])
        if m["info"].get("source_run_id") == run["info"]["run_id"]
    ]


def _versions_of_run(space: Space, run_id: str) -> list[dict[str, Any]]:
    found = _call(
        space.client.get,
        "/api/2.0/mlflow/model-versions/search",
        workspace=space.workspace,
        filter=f"run_id = '{run_id}'",
        max_results=200,
    )
    versions: list[dict[str, Any]] = found.get("model_versions", [])
    return versions


def get_run(
    *, session: Session, settings: Settings, actor: Principal, company_id: int | None, run_id: str
) -> RunDetail:
    space, run = _find_run(session, settings, actor, company_id, run_id)
    public = _run_public(space, run)
    logged = [
        LoggedModelPublic(
            model_id=m["model_id"],
            name=m.get("name", ""),
            status=m.get("status"),
            artifact_path=f"{LOGGED_MODELS_DIR}/{m['model_id']}/",
        )
        for m in _logged_models(space, run)
    ]
    versions = []
    for found in _versions_of_run(space, run_id):
        # search results carry no aliases: read each version (a run has few)
        v = _call(
            space.client.get,
            "/api/2.0/mlflow/model-versions/get",
            workspace=space.workspace,
            name=found["name"],
            version=str(found["version"]),
        )["model_version"]
        versions.append(
            ModelVersionRef(name=v["name"], version=str(v["version"]), aliases=v.get("aliases", []))
        )
    return RunDetail(**public.model_dump(), logged_models=logged, model_versions=versions)


def _history(space: Space, run_id: str, keys: list[str]) -> dict[str, list[MetricPoint]]:
    history: dict[str, list[MetricPoint]] = {}
    for key in sorted(keys):
        found = _call(
            space.client.get,
            "/api/2.0/mlflow/metrics/get-history",
            workspace=space.workspace,
            run_id=run_id,
            metric_key=key,
            max_results=MAX_METRIC_POINTS,
        )
        points = [
            MetricPoint(
                step=int(m.get("step", 0)),
                value=float(m["value"]),
                timestamp=_time(m.get("timestamp")) or datetime.fromtimestamp(0, UTC),
            )
            for m in found.get("metrics", [])
        ]
        history[key] = sorted(points, key=lambda p: (p.step, p.timestamp))
    return history


def run_metrics(
    *, session: Session, settings: Settings, actor: Principal, company_id: int | None, run_id: str
) -> RunMetrics:
    space, run = _find_run(session, settings, actor, company_id, run_id)
    keys = list(_pairs(run.get("data", {}).get("metrics")))
    public = _run_public(space, run)
    return RunMetrics(run_id=run_id, job_id=public.job_id, history=_history(space, run_id, keys))


def job_metrics(*, session: Session, settings: Settings, actor: Principal, job: Job) -> RunMetrics:
    """The metric history of a job's run (empty while it has none, with the reason)."""
    empty = RunMetrics(
        run_id=job.mlflow_run_id, job_id=job.id, history={}, tracking_error=job.tracking_error
    )
    if job.mlflow_run_id is None:
        return empty
    try:
        found = run_metrics(
            session=session,
            settings=settings,
            actor=actor,
            company_id=job.company_id,
            run_id=job.mlflow_run_id,
        )
    except NotFoundError:
        return empty
    found.job_id, found.tracking_error = job.id, job.tracking_error
    return found


# ----- artifacts ------------------------------------------------------------------------------
def _safe_path(path: str) -> str:
    path = path.strip("/")
    if any(part in ("..", "") for part in path.split("/")) and path != "":
        raise InvalidInputError("artifact paths are relative, without '..'", field="query.path")
    if "\\" in path or "\x00" in path:
        raise InvalidInputError("invalid artifact path", field="query.path")
    return path


def _logged_model_of(space: Space, run: dict[str, Any], model_id: str) -> dict[str, Any]:
    for model in _logged_models(space, run):
        if model["model_id"] == model_id:
            return model
    raise NotFoundError(f"artifact {LOGGED_MODELS_DIR}/{model_id} not found")


def list_artifacts(
    *,
    session: Session,
    settings: Settings,
    actor: Principal,
    company_id: int | None,
    run_id: str,
    path: str,
) -> ArtifactListing:
    path = _safe_path(path)
    space, run = _find_run(session, settings, actor, company_id, run_id)
    items: list[ArtifactEntry] = []
    if path == LOGGED_MODELS_DIR:
        items = [
            ArtifactEntry(path=f"{LOGGED_MODELS_DIR}/{m['model_id']}", is_dir=True, size_bytes=None)
            for m in _logged_models(space, run)
        ]
    elif path.startswith(LOGGED_MODELS_DIR + "/"):
        model_id, _, inner = path.removeprefix(LOGGED_MODELS_DIR + "/").partition("/")
        _logged_model_of(space, run, model_id)
        params = {"artifact_directory_path": inner} if inner else {}
        found = _call(
            space.client.get,
            f"/api/2.0/mlflow/logged-models/{quoted(model_id)}/artifacts/directories",
            workspace=space.workspace,
            **params,
        )
        prefix = f"{LOGGED_MODELS_DIR}/{model_id}/"
        items = [
            ArtifactEntry(
                path=prefix + f["path"],
                is_dir=f.get("is_dir", False),
                size_bytes=f.get("file_size"),
            )
            for f in found.get("files", [])
        ]
    else:
        params = {"path": path} if path else {}
        found = _call(
            space.client.get,
            "/api/2.0/mlflow/artifacts/list",
            workspace=space.workspace,
            run_id=run_id,
            **params,
        )
        items = [
            ArtifactEntry(
                path=f["path"], is_dir=f.get("is_dir", False), size_bytes=f.get("file_size")
            )
            for f in found.get("files", [])
        ]
        if not path and _logged_models(space, run):
            items.append(ArtifactEntry(path=LOGGED_MODELS_DIR, is_dir=True, size_bytes=None))
    return ArtifactListing(run_id=run_id, path=path, items=items)


def download_artifact(
    *,
    session: Session,
    settings: Settings,
    actor: Principal,
    company_id: int | None,
    run_id: str,
    path: str,
) -> Iterator[bytes]:
    path = _safe_path(path)
    if not path:
        raise InvalidInputError("name the artifact file to download", field="query.path")
    space, run = _find_run(session, settings, actor, company_id, run_id)
    if path.startswith(LOGGED_MODELS_DIR + "/"):
        model_id, _, inner = path.removeprefix(LOGGED_MODELS_DIR + "/").partition("/")
        _logged_model_of(space, run, model_id)
        url = f"/ajax-api/2.0/mlflow/logged-models/{quoted(model_id)}/artifacts/files"
        params = {"artifact_file_path": inner}
    else:
        url, params = "/get-artifact", {"path": path, "run_uuid": run_id}
    try:
        return _call(space.client.stream, url, workspace=space.workspace, params=params)
    except TrackingNotFoundError as exc:
        raise NotFoundError(f"artifact {path} not found in run {run_id}") from exc


# ----- registry -------------------------------------------------------------------------------
def _job_of_run(session: Session, run_id: str | None) -> Job | None:
    if not run_id:
        return None
    return session.exec(select(Job).where(Job.mlflow_run_id == run_id)).first()


def _version_public(session: Session, space: Space, v: dict[str, Any]) -> ModelVersionPublic:
    source = v.get("source")
    model_id = v.get("model_id") or (
        source.removeprefix("models:/") if source and source.startswith("models:/m-") else None
    )
    job = _job_of_run(session, v.get("run_id"))
    return ModelVersionPublic(
        company_id=space.company_id,
        name=v["name"],
        version=str(v["version"]),
        status=v.get("status"),
        run_id=v.get("run_id") or None,
        model_id=model_id,
        source=source,
        aliases=list(v.get("aliases", [])),
        created_at=_time(v.get("creation_timestamp")),
        job_id=job.id if job is not None and job.company_id == space.company_id else None,
    )


def _model_public(
    session: Session, space: Space, m: dict[str, Any], versions: list[dict[str, Any]] | None
) -> RegisteredModelDetail:
    aliases = {a["alias"]: str(a["version"]) for a in m.get("aliases", [])}
    return RegisteredModelDetail(
        company_id=space.company_id,
        name=m["name"],
        description=m.get("description") or None,
        aliases=aliases,
        latest_versions=[_version_public(session, space, v) for v in m.get("latest_versions", [])],
        created_at=_time(m.get("creation_timestamp")),
        versions=[_version_public(session, space, v) for v in versions or []],
    )


def list_registered_models(
    *, session: Session, settings: Settings, actor: Principal, company_id: int | None
) -> list[RegisteredModelPublic]:
    items: list[RegisteredModelPublic] = []
    for space in spaces(session=session, settings=settings, actor=actor, company_id=company_id):
        found = _call(
            space.client.get,
            "/api/2.0/mlflow/registered-models/search",
            workspace=space.workspace,
            max_results=1000,
        )
        for m in found.get("registered_models", []):
            detail = _model_public(session, space, m, None)
            items.append(RegisteredModelPublic(**detail.model_dump(exclude={"versions"})))
    return items


def _find_model(
    session: Session, settings: Settings, actor: Principal, company_id: int | None, name: str
) -> tuple[Space, dict[str, Any]]:
    found: list[tuple[Space, dict[str, Any]]] = []
    for space in spaces(session=session, settings=settings, actor=actor, company_id=company_id):
        try:
            model = _call(
                space.client.get,
                "/api/2.0/mlflow/registered-models/get",
                workspace=space.workspace,
                name=name,
            )
        except TrackingNotFoundError:
            continue
        found.append((space, model["registered_model"]))
    if not found:
        raise NotFoundError(f"registered model '{name}' not found")
    if len(found) > 1:
        companies = ", ".join(str(space.company_id) for space, _ in found)
        raise ConflictError(f"companies {companies} each have a model '{name}'; give company_id")
    return found[0]


def get_registered_model(
    *, session: Session, settings: Settings, actor: Principal, company_id: int | None, name: str
) -> RegisteredModelDetail:
    space, model = _find_model(session, settings, actor, company_id, name)
    versions = _call(
        space.client.get,
        "/api/2.0/mlflow/model-versions/search",
        workspace=space.workspace,
        filter=f"name = '{name.replace(chr(39), chr(39) * 2)}'",
        max_results=1000,
    ).get("model_versions", [])
    versions.sort(key=lambda v: int(v["version"]), reverse=True)
    return _model_public(session, space, model, versions)


def _lineage(session: Session, job: Job | None, run: dict[str, Any] | None) -> Lineage:
    tags = {k: str(v) for k, v in _pairs((run or {}).get("data", {}).get("tags")).items()}
    grant_ids: list[int] = []
    if job is not None:
        grant_ids = sorted(
            set(
                session.exec(
                    select(LedgerEntry.grant_id).where(
                        LedgerEntry.job_id == job.id, LedgerEntry.kind == LedgerKind.job_debit
                    )
                ).all()
            )
        )
    if not grant_ids and tags.get("axhub.grant_id", "").isdigit():
        grant_ids = [int(tags["axhub.grant_id"])]
    grants = [g for g in (session.get(Grant, gid) for gid in grant_ids) if g is not None]
    if job is not None:
        grants = [g for g in grants if g.company_id == job.company_id]
    return Lineage(
        job_id=job.id if job else None,
        job_name=job.name if job else None,
        job_status=job.status.value if job else None,
        grant_ids=[g.id for g in grants if g.id is not None],
        case_ids=sorted({g.case_id for g in grants}),
    )


def get_model_version(
    *,
    session: Session,
    settings: Settings,
    actor: Principal,
    company_id: int | None,
    name: str,
    version: str,
) -> ModelVersionDetail:
    space, _ = _find_model(session, settings, actor, company_id, name)
    try:
        found = _call(
            space.client.get,
            "/api/2.0/mlflow/model-versions/get",
            workspace=space.workspace,
            name=name,
            version=version,
        )
    except TrackingNotFoundError as exc:
        raise NotFoundError(f"version {version} of model '{name}' not found") from exc
    public = _version_public(session, space, found["model_version"])
    job = _job_of_run(session, public.run_id)
    if job is not None and job.company_id != space.company_id:
        job = None
    run = None
    if public.run_id:
        try:
            run = _call(
                space.client.get,
                "/api/2.0/mlflow/runs/get",
                workspace=space.workspace,
                run_id=public.run_id,
            )["run"]
        except TrackingNotFoundError:
            run = None
    return ModelVersionDetail(**public.model_dump(), lineage=_lineage(session, job, run))


def register_run_model(
    *,
    session: Session,
    settings: Settings,
    actor: Principal,
    company_id: int | None,
    name: str,
    run_id: str,
    model_id: str | None,
) -> ModelVersionPublic:
    space, run = _find_run(session, settings, actor, company_id, run_id)
    logged = _logged_models(space, run)
    if model_id is not None:
        chosen = [m for m in logged if m["model_id"] == model_id]
        if not chosen:
            raise NotFoundError(f"logged model {model_id} not found in run {run_id}")
    else:
        chosen = sorted(logged, key=lambda m: m.get("creation_timestamp_ms", 0))[-1:]
        if not chosen:
            raise ConflictError(f"run {run_id} has logged no model to register")
    try:
        _call(
            space.client.post,
            "/api/2.0/mlflow/registered-models/create",
            {"name": name, "tags": [{"key": "axhub.company_id", "value": str(space.company_id)}]},
            workspace=space.workspace,
        )
    except InvalidInputError as exc:
        if "already exists" not in str(exc).lower():
            raise
    model = chosen[0]
    created = _call(
        space.client.post,
        "/api/2.0/mlflow/model-versions/create",
        {
            "name": name,
            "source": f"models:/{model['model_id']}",
            "run_id": run_id,
            "model_id": model["model_id"],
            "tags": [{"key": "axhub.registered_by", "value": str(actor.user_id)}],
        },
        workspace=space.workspace,
    )
    return _version_public(session, space, created["model_version"])


def set_alias(
    *,
    session: Session,
    settings: Settings,
    actor: Principal,
    company_id: int | None,
    name: str,
    alias: str,
    version: str,
) -> ModelVersionDetail:
    space, _ = _find_model(session, settings, actor, company_id, name)
    try:
        _call(
            space.client.post,
            "/api/2.0/mlflow/registered-models/alias",
            {"name": name, "alias": alias, "version": version},
            workspace=space.workspace,
        )
    except TrackingNotFoundError as exc:
        raise NotFoundError(f"version {version} of model '{name}' not found") from exc
    return get_model_version(
        session=session,
        settings=settings,
        actor=actor,
        company_id=space.company_id,
        name=name,
        version=version,
    )
