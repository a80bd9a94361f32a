"""Case attachments in an S3-compatible bucket, against a real S3 server over HTTP.

The server is moto's standalone S3 server, started once per test session (tests/s3_server.py).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlmodel import Session, select

from hub_api.audit.models import AuditEvent
from hub_api.cases.activity_models import CaseAttachment
from hub_api.cases.models import Case
from hub_api.core.config import AttachmentStorageKind, Settings
from hub_api.main import create_app
from hub_api.storage.base import StorageSetupError, storage_for
from hub_api.storage.s3 import S3Storage, is_transient
from hub_api.users.models import Role
from tests.factories import make_case
from tests.hub_api.conftest import World
from tests.s3_server import KEY_ID, SECRET, free_port, s3, s3_endpoint

__all__ = ["s3", "s3_endpoint"]  # session fixtures

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PREFIX = "hub/attachments"


@pytest.fixture
def bucket() -> str:
    return f"axhub-{uuid.uuid4().hex[:12]}"


def s3_settings(base: Settings, **fields: Any) -> Settings:
    values = base.model_dump() | {
        "attachment_storage": AttachmentStorageKind.s3,
        "s3_access_key_id": SecretStr(KEY_ID),
        "s3_secret_access_key": SecretStr(SECRET),
        "s3_key_prefix": PREFIX,
        "s3_attempts": 3,
        "s3_timeout_s": 2.0,
    }
    return Settings(**(values | fields))


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str, bucket: str) -> Settings:
    """The shared test settings, with attachments in a fresh bucket the hub creates at start."""
    return s3_settings(
        settings, s3_endpoint_url=s3_endpoint, s3_bucket=bucket, s3_create_bucket=True
    )


@pytest.fixture
def case(session: Session, world: World) -> Case:
    return make_case(session, world.company_a, assignee=world.consultant)


def upload(client: TestClient, world: World, case: Case, name: str, data: bytes, media: str) -> Any:
    return client.post(
        f"/api/v1/cases/{case.id}/attachments",
        files={"file": (name, data, media)},
        headers=world.headers(Role.engineer),
    )


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


def test_the_app_uses_one_s3_storage_built_at_start(app: FastAPI, s3: Any, bucket: str) -> None:
    storage = app.state.attachment_storage
    assert isinstance(storage, S3Storage)
    assert storage.bucket == bucket
    s3.head_bucket(Bucket=bucket)  # created at start (HUB_S3_CREATE_BUCKET=true)


def test_upload_lands_in_the_bucket_and_downloads_intact(
    client: TestClient, world: World, case: Case, s3: Any, bucket: str, app: FastAPI
) -> None:
    response = upload(client, world, case, "라인2 불량 보고서.pdf", PDF, "application/pdf")
    assert response.status_code == 201, response.text
    body = response.json()

    stored = objects(s3, bucket)
    assert len(stored) == 1
    [(key, content)] = stored.items()
    assert content == PDF
    prefix, company, name = key.rsplit("/", 2)
    assert (prefix, company) == (PREFIX, str(world.company_a.id))
    assert len(name) == 32
    assert "보고서" not in key

    download = client.get(
        f"/api/v1/cases/{case.id}/attachments/{body['id']}", headers=world.headers(Role.consultant)
    )
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"

    # delete through the hub's storage; the object is gone and a download is a clear 404
    storage: S3Storage = app.state.attachment_storage
    storage.delete(key.removeprefix(PREFIX + "/"))
    assert objects(s3, bucket) == {}
    missing = client.get(
        f"/api/v1/cases/{case.id}/attachments/{body['id']}", headers=world.headers(Role.consultant)
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "attachment content is missing from storage"
    storage.delete(key.removeprefix(PREFIX + "/"))  # deleting again is not an error


def test_another_companys_attachment_is_invisible(
    client: TestClient, world: World, case: Case, session: Session
) -> None:
    attachment = upload(client, world, case, "a.png", PNG, "image/png").json()
    own_case_b = make_case(session, world.company_b)
    headers_b = world.headers(world.engineer_b)
    direct = client.get(
        f"/api/v1/cases/{case.id}/attachments/{attachment['id']}", headers=headers_b
    )
    via_own_case = client.get(
        f"/api/v1/cases/{own_case_b.id}/attachments/{attachment['id']}", headers=headers_b
    )
    assert (direct.status_code, via_own_case.status_code) == (404, 404)


def test_refused_uploads_leave_nothing_in_the_bucket(
    client: TestClient, world: World, case: Case, settings: Settings, s3: Any, bucket: str
) -> None:
    settings.attachment_max_bytes = 1024
    oversized = upload(client, world, case, "big.pdf", PDF + b"0" * 1024, "application/pdf")
    wrong_type = upload(client, world, case, "report.pdf", b"MZ\x90\x00", "application/pdf")
    path_trick = upload(client, world, case, "../../etc/passwd.txt", b"hello", "text/plain")
    assert [r.status_code for r in (oversized, wrong_type, path_trick)] == [413, 415, 422]
    assert objects(s3, bucket) == {}


def test_s3_down_is_a_clear_503_and_leaves_no_row(
    client: TestClient,
    world: World,
    case: Case,
    session: Session,
    app: FastAPI,
    bucket: str,
) -> None:
    uploaded = upload(client, world, case, "a.png", PNG, "image/png").json()
    audited = len(session.exec(select(AuditEvent)).all())
    # the S3 service goes away: the app's storage now points at a port nobody listens on
    down = S3Storage(
        bucket=bucket,
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        key_prefix=PREFIX,
        timeout_s=1.0,
        attempts=3,
        max_wait_s=0.1,
    )
    tries: list[str] = []
    put_object = down.client.put_object

    def counting_put(**kwargs: Any) -> Any:
        tries.append(kwargs["Key"])
        return put_object(**kwargs)

    down.client.put_object = counting_put
    app.state.attachment_storage = down
    response = upload(client, world, case, "b.pdf", PDF, "application/pdf")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "30"
    problem = response.json()
    assert problem["type"].endswith("/storage-unavailable")
    assert "attachment storage is unavailable (put failed: unreachable)" in problem["detail"]
    assert SECRET not in response.text
    assert len(tries) == 3  # transient: tried three times, then the 503

    session.expire_all()
    rows = session.exec(select(CaseAttachment)).all()
    assert [r.id for r in rows] == [uploaded["id"]]  # only the earlier upload
    assert len(session.exec(select(AuditEvent)).all()) == audited  # no event of the failed one
    listing = client.get(
        f"/api/v1/cases/{case.id}/attachments", headers=world.headers(Role.engineer)
    )
    assert [a["id"] for a in listing.json()] == [uploaded["id"]]

    download = client.get(
        f"/api/v1/cases/{case.id}/attachments/{uploaded['id']}",
        headers=world.headers(Role.engineer),
    )
    assert download.status_code == 503
    assert "get failed: unreachable" in download.json()["detail"]


def test_storage_refuses_keys_of_another_shape(app: FastAPI) -> None:
    storage: S3Storage = app.state.attachment_storage
    for key in ("../1/" + "0" * 32, "1/../../x", "1/" + "0" * 31 + "g", "/1/" + "0" * 32):
        with pytest.raises(ValueError, match="invalid storage key"):
            storage.get(key)
    assert storage.object_key("7/" + "a" * 32) == f"{PREFIX}/7/" + "a" * 32


def test_a_missing_bucket_stops_the_start_with_a_clear_error(
    settings: Settings, bucket: str
) -> None:
    no_create = settings.model_copy(
        update={"s3_bucket": bucket + "-absent", "s3_create_bucket": False}
    )
    with pytest.raises(StorageSetupError, match=r"does not exist; create it, or set HUB_S3_CREATE"):
        create_app(no_create)


def test_an_unreachable_endpoint_stops_the_start_with_a_clear_error(settings: Settings) -> None:
    dead = settings.model_copy(
        update={"s3_endpoint_url": f"http://127.0.0.1:{free_port()}", "s3_attempts": 1}
    )
    with pytest.raises(
        StorageSetupError, match=r"cannot reach bucket .* check HUB_S3_ENDPOINT_URL"
    ):
        storage_for(dead)


def test_settings_refuse_an_incomplete_s3_setup(tmp_path: Path) -> None:
    base: dict[str, Any] = {"data_dir": tmp_path, "attachment_storage": "s3"}
    with pytest.raises(ValidationError, match="needs HUB_S3_BUCKET"):
        Settings(**base)
    with pytest.raises(ValidationError, match="must be set together"):
        Settings(**base, s3_bucket="b", s3_access_key_id="k")
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(**base, s3_bucket="b", s3_endpoint_url="minio:9000")
    for prefix in ("../x", "/abs", "a/../b", "a\\b", "a b"):
        with pytest.raises(ValidationError, match="HUB_S3_KEY_PREFIX"):
            Settings(**base, s3_bucket="b", s3_key_prefix=prefix)


def test_settings_read_s3_from_the_environment_and_hide_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "HUB_ATTACHMENT_STORAGE": "s3",
        "HUB_S3_ENDPOINT_URL": "http://minio.axhub:9000",
        "HUB_S3_BUCKET": "attachments",
        "HUB_S3_ACCESS_KEY_ID": "hub",
        "HUB_S3_SECRET_ACCESS_KEY": "very-secret-value",
        "HUB_S3_KEY_PREFIX": "prod/",
        "HUB_S3_PATH_STYLE": "false",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(data_dir=tmp_path)
    assert settings.attachment_storage == AttachmentStorageKind.s3
    assert (settings.s3_bucket, settings.s3_path_style) == ("attachments", False)
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "very-secret-value"
    assert "very-secret-value" not in repr(settings)
    assert S3Storage.from_settings(settings).prefix == "prod/"


def test_transient_errors_are_the_retried_ones() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    def client_error(code: str, status: int) -> ClientError:
        return ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject"
        )

    assert is_transient(EndpointConnectionError(endpoint_url="http://x"))
    assert is_transient(ReadTimeoutError(endpoint_url="http://x"))
    assert is_transient(client_error("SlowDown", 503))
    assert is_transient(client_error("InternalError", 500))
    assert not is_transient(client_error("AccessDenied", 403))
    assert not is_transient(client_error("NoSuchKey", 404))


def test_a_failed_commit_removes_the_stored_object(
    client: TestClient,
    world: World,
    case: Case,
    s3: Any,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hub_api.cases import activity
    from hub_api.core.errors import ConflictError

    def failing_commit(session: Session, *, conflict_message: str) -> None:
        raise ConflictError(conflict_message)

    monkeypatch.setattr(activity, "commit_or_conflict", failing_commit)
    response = upload(client, world, case, "a.png", PNG, "image/png")
    assert response.status_code == 409
    assert objects(s3, bucket) == {}
