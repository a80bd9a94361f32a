"""Uploaded code: a zip checked against zip-slip, links, zip bombs and size limits, then unpacked.

Nothing in the archive is trusted: sizes are counted while streaming (not taken from headers),
every member name is resolved inside the destination, links and special files are refused, and
a failed check removes whatever was unpacked.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from hub_api.core.errors import InvalidInputError

CHUNK = 64 * 1024
MAX_COMPRESSION_RATIO = 200  # per member; real source code compresses ~3-10x
MAX_FILES = 5000


@dataclass(frozen=True)
class BundleLimits:
    max_zip_bytes: int
    max_unpacked_bytes: int
    max_files: int = MAX_FILES


@dataclass(frozen=True)
class UnpackedBundle:
    size_bytes: int
    unpacked_bytes: int
    file_count: int
    sha256: str


def _refuse(message: str) -> InvalidInputError:
    return InvalidInputError(message, field="file")


def _safe_member_path(destination: Path, name: str) -> Path:
    if "\x00" in name or "\\" in name:
        raise _refuse(f"archive member '{name}' has an invalid name")
    posix = PurePosixPath(name)
    if posix.is_absolute() or ".." in posix.parts or (posix.parts and ":" in posix.parts[0]):
        raise _refuse(f"archive member '{name}' points outside the archive (zip-slip)")
    target = (destination / posix).resolve()
    if not target.is_relative_to(destination.resolve()):
        raise _refuse(f"archive member '{name}' points outside the archive (zip-slip)")
    return target


def _check_member(info: zipfile.ZipInfo) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _refuse(f"archive member '{info.filename}' is a symbolic link; links are refused")
    file_type = stat.S_IFMT(mode)  # 0 when the archiver stored permissions only
    if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
        raise _refuse(f"archive member '{info.filename}' is not a regular file")
    if info.flag_bits & 0x1:
        raise _refuse(f"archive member '{info.filename}' is encrypted")


def save_upload(source: BinaryIO, target: Path, *, limits: BundleLimits) -> tuple[int, str]:
    """Copy the upload to ``target`` while counting; refuse it once it passes the limit."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limits.max_zip_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise _refuse(f"the zip is larger than {limits.max_zip_bytes // 2**20} MiB")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        target.unlink(missing_ok=True)
        raise _refuse("the uploaded file is empty")
    return size, digest.hexdigest()


def unpack(archive: Path, destination: Path, *, limits: BundleLimits) -> tuple[int, int]:
    """Unpack ``archive`` into ``destination``; returns ``(unpacked_bytes, file_count)``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > limits.max_files:
                raise _refuse(f"the zip holds {len(members)} entries; at most {limits.max_files}")
            destination.mkdir(parents=True, exist_ok=False)
            total = files = 0
            for info in members:
                _check_member(info)
                target = _safe_member_path(destination, info.filename)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with zf.open(info) as src, target.open("wb") as out:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        total += len(chunk)
                        if total > limits.max_unpacked_bytes:
                            raise _refuse(
                                "the zip unpacks to more than "
                                f"{limits.max_unpacked_bytes // 2**20} MiB (zip bomb?)"
                            )
                        if written > max(info.compress_size, 1) * MAX_COMPRESSION_RATIO + CHUNK:
                            raise _refuse(
                                f"archive member '{info.filename}' compresses more than "
                                f"{MAX_COMPRESSION_RATIO}:1 (zip bomb?)"
                            )
                        out.write(chunk)
                files += 1
            if files == 0:
                raise _refuse("the zip holds no files")
            return total, files
    except zipfile.BadZipFile as exc:
        shutil.rmtree(destination, ignore_errors=True)
        raise _refuse("the file is not a valid zip archive") from exc
    except (InvalidInputError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        shutil.rmtree(destination, ignore_errors=True)
        if isinstance(exc, InvalidInputError):
            raise
        raise _refuse(f"the zip cannot be unpacked: {exc}") from exc


def store_bundle(
    source: BinaryIO, *, root: Path, name: str, limits: BundleLimits
) -> tuple[Path, UnpackedBundle]:
    """Save and unpack an upload under ``root/name``; on failure nothing stays on disk."""
    folder = root / name
    try:
        size, sha256 = save_upload(source, folder / "upload.zip", limits=limits)
        unpacked, files = unpack(folder / "upload.zip", folder / "code", limits=limits)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    (folder / "upload.zip").unlink()
    return folder / "code", UnpackedBundle(size, unpacked, files, sha256)
