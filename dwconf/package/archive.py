"""Zip files: written deterministically, read defensively.

Writing: fixed entry order, a fixed timestamp (1980-01-01, the zip epoch), fixed permissions and
creator system, deflate at level 9 — the same parts always give the same bytes (with the same
zlib). Reading refuses what a hostile zip would use: unsafe names (absolute, drive letters,
`..`, backslashes, NUL), duplicate names, links, encryption, unknown compression, too many
entries, and zip bombs — the declared and the actual uncompressed sizes are both checked against
a per-file limit, a total limit and a compression-ratio limit while decompressing.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from dwconf.package.errors import UnsafeArchive

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
_CHUNK = 64 * 1024
_MiB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """What a solution zip may hold; the defaults are far above any real dual-write solution."""

    max_entries: int = 1000
    max_file_bytes: int = 64 * _MiB
    max_total_bytes: int = 256 * _MiB
    max_ratio: int = 100
    ratio_floor_bytes: int = _MiB  # smaller parts are never a bomb, whatever their ratio


def write_zip(parts: Mapping[str, bytes]) -> bytes:
    """A zip holding `parts` in the given order, byte-for-byte reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def _check_name(name: str) -> None:
    shown = name.encode("unicode_escape").decode("ascii")
    if "\x00" in name or "\\" in name:
        raise UnsafeArchive(f"the zip holds an entry with an unsafe name: '{shown}'")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        raise UnsafeArchive(f"the zip holds an entry with an absolute path: '{shown}'")
    if ".." in name.split("/"):
        raise UnsafeArchive(f"the zip holds an entry that leaves its folder: '{shown}'")


def _check_entry(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    _check_name(info.filename)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeArchive(f"the zip holds a symbolic link: '{info.filename}'")
    if info.flag_bits & 0x1:
        raise UnsafeArchive(f"the zip holds an encrypted entry: '{info.filename}'")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UnsafeArchive(
            f"'{info.filename}' uses compression method {info.compress_type}; "
            "solution zips use deflate"
        )
    _check_size(info.filename, info.file_size, info.compress_size, limits)


def _check_size(name: str, size: int, packed: int, limits: ZipLimits) -> None:
    if size > limits.max_file_bytes:
        raise UnsafeArchive(
            f"'{name}' unpacks to more than {limits.max_file_bytes} bytes (a zip bomb?)",
            "solution parts are far smaller; the limit protects the machine reading it",
        )
    if size > limits.ratio_floor_bytes and size > limits.max_ratio * max(packed, 1):
        raise UnsafeArchive(
            f"'{name}' is compressed more than {limits.max_ratio}:1 (a zip bomb?)",
            "a real solution part compresses far less",
        )


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise UnsafeArchive(f"the file is not a zip archive ({exc})") from None


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: ZipLimits
) -> bytes:
    out = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                out += chunk
                if len(out) > budget:
                    raise UnsafeArchive(
                        f"the zip unpacks to more than {limits.max_total_bytes} bytes (a zip bomb?)"
                    )
                _check_size(info.filename, len(out), info.compress_size, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise UnsafeArchive(f"'{info.filename}' is damaged ({exc})") from None
    return bytes(out)


def read_zip(data: bytes, limits: ZipLimits | None = None) -> dict[str, bytes]:
    """Every file of the zip by name (folders left out), after the safety checks."""
    limits = limits or ZipLimits()
    with _open(data) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise UnsafeArchive(f"the zip holds more than {limits.max_entries} entries")
        declared = 0
        for info in infos:
            _check_entry(info, limits)
            declared += info.file_size
        if declared > limits.max_total_bytes:
            raise UnsafeArchive(
                f"the zip unpacks to more than {limits.max_total_bytes} bytes (a zip bomb?)"
            )
        parts: dict[str, bytes] = {}
        seen: set[str] = set()
        budget = limits.max_total_bytes
        for info in infos:
            if info.is_dir():
                continue
            if info.filename.casefold() in seen:
                raise UnsafeArchive(f"the zip holds '{info.filename}' twice")
            seen.add(info.filename.casefold())
            parts[info.filename] = _read_entry(archive, info, budget, limits)
            budget -= len(parts[info.filename])
    return parts
