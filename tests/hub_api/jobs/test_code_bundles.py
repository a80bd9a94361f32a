"""Code upload safety: zip-slip, links, zip bombs, size caps, bad archives; nothing left behind."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from hub_api.core.errors import InvalidInputError
from hub_api.jobs.bundles import BundleLimits, store_bundle

LIMITS = BundleLimits(max_zip_bytes=64 * 1024, max_unpacked_bytes=256 * 1024, max_files=20)


def make_zip(entries: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


def test_a_normal_project_is_unpacked(tmp_path: Path) -> None:
    data = make_zip({"train.py": b"print('hi')\n", "pkg/util.py": b"X = 1\n"})
    code_dir, bundle = store_bundle(io.BytesIO(data), root=tmp_path, name="b1", limits=LIMITS)
    assert (code_dir / "pkg" / "util.py").read_text() == "X = 1\n"
    assert bundle.file_count == 2
    assert len(bundle.sha256) == 64
    assert not (tmp_path / "b1" / "upload.zip").exists()


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (make_zip({"../evil.py": b"x"}), "zip-slip"),
        (make_zip({"/etc/evil.py": b"x"}), "zip-slip"),
        (make_zip({"a/../../evil.py": b"x"}), "zip-slip"),
        (make_zip({"ok.py": b"x"}, links={"link": "/etc/passwd"}), "symbolic link"),
        (make_zip({"bomb.txt": b"\0" * 250_000}), "zip bomb"),
        (make_zip({f"f{i}.py": b"x" for i in range(25)}), "at most 20"),
        (b"this is not a zip file at all", "not a valid zip"),
        (make_zip({}), "no files"),
        (b"", "empty"),
        (b"x" * (LIMITS.max_zip_bytes + 1), "larger than"),
    ],
    ids=[
        "dotdot",
        "absolute",
        "nested-dotdot",
        "symlink",
        "bomb",
        "too-many",
        "not-zip",
        "empty-zip",
        "empty-file",
        "too-big",
    ],
)
def test_unsafe_archives_are_refused_and_nothing_stays(
    tmp_path: Path, archive: bytes, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        store_bundle(io.BytesIO(archive), root=tmp_path, name="bad", limits=LIMITS)
    assert not (tmp_path / "bad").exists()
    assert not (tmp_path.parent / "evil.py").exists()


def test_total_unpacked_size_is_capped_across_members(tmp_path: Path) -> None:
    # each member compresses modestly but together they pass the unpacked cap
    import os

    entries = {f"part{i}.bin": os.urandom(60_000) for i in range(5)}
    archive = make_zip(entries)
    limits = BundleLimits(max_zip_bytes=1_000_000, max_unpacked_bytes=256 * 1024)
    with pytest.raises(InvalidInputError, match="more than"):
        store_bundle(io.BytesIO(archive), root=tmp_path, name="big", limits=limits)
