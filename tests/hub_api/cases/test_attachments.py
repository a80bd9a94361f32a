"""Case attachments: size cap, content checks, safe names and storage, per-company access."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub_api.cases.models import Case
from hub_api.core.config import Settings
from hub_api.users.models import Role
from tests.factories import make_case, make_user
from tests.hub_api.conftest import World

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def case(session: Session, world: World) -> Case:
    return make_case(session, world.company_a, assignee=world.consultant)


def upload(
    client: TestClient, world: World, case: Case, name: str, data: bytes, media: str
) -> object:
    return client.post(
        f"/api/v1/cases/{case.id}/attachments",
        files={"file": (name, data, media)},
        headers=world.headers(Role.engineer),
    )


def test_uploaded_file_is_stored_under_a_random_name_and_downloads_intact(
    client: TestClient, world: World, case: Case, settings: Settings
) -> None:
    response = upload(client, world, case, "라인2 불량 보고서.pdf", PDF, "application/pdf")
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert (body["filename"], body["size_bytes"]) == ("라인2 불량 보고서.pdf", len(PDF))
    assert settings.attachment_dir is not None
    stored = [p for p in Path(settings.attachment_dir).rglob("*") if p.is_file()]
    assert [p.parent.name for p in stored] == [str(world.company_a.id)]
    assert "보고서" not in stored[0].name
    download = client.get(
        f"/api/v1/cases/{case.id}/attachments/{body['id']}", headers=world.headers(Role.consultant)
    )
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"


def test_oversized_file_is_refused(
    client: TestClient, world: World, case: Case, settings: Settings
) -> None:
    settings.attachment_max_bytes = 1024
    response = upload(client, world, case, "big.pdf", PDF + b"0" * 1024, "application/pdf")
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert "at most 1024 bytes" in response.json()["detail"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "data", "media", "message"),
    [
        ("setup.exe", b"MZ\x90\x00", "application/x-msdownload", "is not accepted"),
        ("report.pdf", b"MZ\x90\x00", "application/pdf", "content is not 'application/pdf'"),
        ("photo.png", PDF, "image/png", "content is not 'image/png'"),
        ("report.pdf.exe", PDF, "application/pdf", "does not end in .pdf"),
        ("data.csv", b"a,b\n\x00\x01", "text/csv", "content is not 'text/csv'"),
    ],
)
def test_wrong_content_types_are_refused(
    client: TestClient, world: World, case: Case, name: str, data: bytes, media: str, message: str
) -> None:
    response = upload(client, world, case, name, data, media)
    assert response.status_code == 415  # type: ignore[attr-defined]
    assert message in response.json()["detail"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "..\\..\\boot.txt",
        "a/b.txt",
        ".htaccess.txt",
        "invoice\u202etxt.exe.txt",
    ],
)
def test_path_tricks_in_file_names_are_refused(
    client: TestClient, world: World, case: Case, name: str
) -> None:
    response = upload(client, world, case, name, b"hello", "text/plain")
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]


def test_another_companys_attachment_is_invisible(
    client: TestClient, world: World, case: Case, session: Session
) -> None:
    attachment = upload(client, world, case, "a.png", PNG, "image/png").json()  # type: ignore[attr-defined]
    own_case_b = make_case(session, world.company_b)
    headers_b = world.headers(world.engineer_b)
    direct = client.get(
        f"/api/v1/cases/{case.id}/attachments/{attachment['id']}", headers=headers_b
    )
    via_own_case = client.get(
        f"/api/v1/cases/{own_case_b.id}/attachments/{attachment['id']}", headers=headers_b
    )
    assert (direct.status_code, via_own_case.status_code) == (404, 404)
    assert via_own_case.json()["detail"] == f"attachment {attachment['id']} not found"


def stored_files(settings: Settings) -> list[Path]:
    assert settings.attachment_dir is not None
    return [p for p in Path(settings.attachment_dir).rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("uploader", 204),
        ("assigned consultant", 204),
        ("operator", 204),
        ("colleague of the uploader", 403),
        ("other company", 404),
    ],
)
def test_who_may_delete_an_attachment(
    client: TestClient,
    world: World,
    case: Case,
    session: Session,
    settings: Settings,
    who: str,
    expected: int,
) -> None:
    attachment = upload(client, world, case, "a.png", PNG, "image/png").json()  # type: ignore[attr-defined]
    caller = {
        "uploader": world.engineer_a,
        "assigned consultant": world.consultant,
        "operator": world.operator,
        "colleague of the uploader": make_user(session, Role.engineer, world.company_a),
        "other company": world.engineer_b,
    }[who]
    url = f"/api/v1/cases/{case.id}/attachments/{attachment['id']}"
    response = client.delete(url, headers=world.headers(caller))
    assert response.status_code == expected, response.text
    gone = expected == 204
    assert (stored_files(settings) == []) is gone
    download = client.get(url, headers=world.headers(world.operator))
    assert download.status_code == (404 if gone else 200)
