"""The hostile-zip corpus: every case is refused with a DwconfError and a clear message, before
anything is written or expanded."""

from __future__ import annotations

import io
import stat
import warnings
import zipfile
from collections.abc import Callable

import pytest

from dwconf.errors import DwconfError
from dwconf.package import PackageError, UnsafeArchive, ZipLimits, build_zip, read_zip
from tests.unit.package.builders import customers, solution

Entry = tuple[str | zipfile.ZipInfo, bytes]


def good_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(build_zip(solution(), [customers()]))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def make_zip(entries: list[Entry], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def with_parts(**replace: bytes | None) -> bytes:
    parts: dict[str, bytes | None] = dict(good_parts())
    parts.update(
        {
            k.replace("_", ".") if k != "content_types" else "[Content_Types].xml": v
            for k, v in replace.items()
        }
    )
    return make_zip([(n, d) for n, d in parts.items() if d is not None])


def info(name: str, **attributes: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name)
    for key, value in attributes.items():
        setattr(entry, key, value)
    return entry


def encrypted(data: bytes) -> bytes:
    """Set the "encrypted" flag of the last central-directory entry, as an encrypting tool does."""
    at = data.rindex(b"PK\x01\x02") + 8
    return data[:at] + bytes([data[at] | 0x1]) + data[at + 1 :]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ImportExportXml><msdyn_dualwriteentitymaps>&lol3;</msdyn_dualwriteentitymaps></ImportExportXml>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ImportExportXml><SolutionManifest><UniqueName>&xxe;</UniqueName></SolutionManifest></ImportExportXml>"""


def mapping_record(mapping: str) -> bytes:
    text = good_parts()["customizations.xml"].decode()
    start = text.index("<msdyn_mapping>") + len("<msdyn_mapping>")
    end = text.index("</msdyn_mapping>")
    return (text[:start] + mapping + text[end:]).encode()


CASES: dict[str, tuple[Callable[[], bytes], type[DwconfError], str, ZipLimits | None]] = {
    "path traversal": (
        lambda: make_zip([*good_parts().items(), ("../../etc/cron.d/evil.xml", b"<x/>")]),
        UnsafeArchive,
        "leaves its folder: '../../etc/cron.d/evil.xml'",
        None,
    ),
    "absolute path": (
        lambda: make_zip([*good_parts().items(), ("/etc/passwd", b"root")]),
        UnsafeArchive,
        "absolute path: '/etc/passwd'",
        None,
    ),
    "drive letter": (
        lambda: make_zip([*good_parts().items(), ("C:/Windows/evil.xml", b"<x/>")]),
        UnsafeArchive,
        "absolute path: 'C:/Windows/evil.xml'",
        None,
    ),
    "backslash traversal": (
        lambda: make_zip([*good_parts().items(), ("..\\evil.xml", b"<x/>")]),
        UnsafeArchive,
        "unsafe name",
        None,
    ),
    "compression ratio bomb": (
        lambda: make_zip([*good_parts().items(), ("Other/zeros.xml", bytes(8 * 1024 * 1024))]),
        UnsafeArchive,
        "compressed more than 100:1 (a zip bomb?)",
        None,
    ),
    "file larger than the limit": (
        lambda: make_zip([*good_parts().items(), ("Other/big.xml", b"x" * 5000)]),
        UnsafeArchive,
        "'Other/big.xml' unpacks to more than 4096 bytes",
        ZipLimits(max_file_bytes=4096),
    ),
    "total larger than the limit": (
        lambda: make_zip(
            [*good_parts().items(), *[(f"Other/{i}.xml", b"y" * 3000) for i in range(4)]]
        ),
        UnsafeArchive,
        "the zip unpacks to more than 10000 bytes",
        ZipLimits(max_total_bytes=10000),
    ),
    "too many entries": (
        lambda: make_zip([*good_parts().items(), *[(f"Other/{i}.xml", b"<x/>") for i in range(5)]]),
        UnsafeArchive,
        "more than 6 entries",
        ZipLimits(max_entries=6),
    ),
    "symbolic link": (
        lambda: make_zip(
            [
                *good_parts().items(),
                (info("Other/link", external_attr=(stat.S_IFLNK | 0o777) << 16), b"/etc/passwd"),
            ]
        ),
        UnsafeArchive,
        "symbolic link: 'Other/link'",
        None,
    ),
    "encrypted entry": (
        lambda: encrypted(make_zip([*good_parts().items(), ("Other/secret.xml", b"<x/>")])),
        UnsafeArchive,
        "encrypted entry",
        None,
    ),
    "duplicate names": (
        lambda: make_zip([*good_parts().items(), ("SOLUTION.XML", b"<x/>")]),
        UnsafeArchive,
        "holds 'SOLUTION.XML' twice",
        None,
    ),
    "unknown compression": (
        lambda: make_zip(list(good_parts().items()), zipfile.ZIP_BZIP2),
        UnsafeArchive,
        "compression method 12",
        None,
    ),
    "damaged data": (
        lambda: bytes(
            b ^ 0xFF if 60 < i < 90 else b
            for i, b in enumerate(build_zip(solution(), [customers()]))
        ),
        UnsafeArchive,
        "",
        None,
    ),
    "not a zip": (lambda: b"%PDF-1.7 not a zip at all", UnsafeArchive, "not a zip archive", None),
    "entity expansion": (
        lambda: with_parts(customizations_xml=BILLION_LAUGHS),
        UnsafeArchive,
        "customizations.xml uses a DTD or entities",
        None,
    ),
    "external entity": (
        lambda: with_parts(solution_xml=XXE),
        UnsafeArchive,
        "solution.xml uses a DTD or entities",
        None,
    ),
    "missing content types": (
        lambda: with_parts(content_types=None),
        UnsafeArchive,
        "has no [Content_Types].xml",
        None,
    ),
    "wrong content type": (
        lambda: with_parts(
            content_types=b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Default Extension="xml" ContentType="text/html"/></Types>'
        ),
        UnsafeArchive,
        "declares solution.xml as 'text/html', not XML",
        None,
    ),
    "content types without xml": (
        lambda: with_parts(
            content_types=b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Default Extension="js" ContentType="application/octet-stream"/></Types>'
        ),
        UnsafeArchive,
        "declares no content type for solution.xml",
        None,
    ),
    "missing solution.xml": (
        lambda: with_parts(solution_xml=None),
        PackageError,
        "has no solution.xml; it is not a Dataverse solution",
        None,
    ),
    "missing customizations.xml": (
        lambda: with_parts(customizations_xml=None),
        PackageError,
        "has no customizations.xml",
        None,
    ),
    "binary solution.xml": (
        lambda: with_parts(solution_xml=bytes(range(256))),
        PackageError,
        "solution.xml is not XML",
        None,
    ),
    "mapping that is not JSON": (
        lambda: with_parts(customizations_xml=mapping_record("{not json")),
        PackageError,
        "msdyn_mapping is not JSON",
        None,
    ),
    "mapping nested without end": (
        lambda: with_parts(customizations_xml=mapping_record("[" * 100_000)),
        PackageError,
        "msdyn_mapping is not JSON",
        None,
    ),
    "mapping with an unknown transform": (
        lambda: with_parts(
            customizations_xml=mapping_record(
                '{"name":"x","legs":[{"sourceSchema":"A","destinationSchema":"b",'
                '"fieldMappings":[{"syncDirection":3,"sourceField":"F","destinationField":"f",'
                '"valueTransforms":[{"transformType":"Script"}]}]}]}'
            )
        ),
        PackageError,
        "transform type 'Script' is not supported",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_zip_is_refused(case: str) -> None:
    make, error, message, limits = CASES[case]
    with pytest.raises(error) as refused:
        read_zip(make(), limits)
    assert isinstance(refused.value, DwconfError)
    assert message in refused.value.message


def test_the_corpus_starts_from_a_zip_that_reads() -> None:
    assert read_zip(make_zip(list(good_parts().items()))).solution == solution()
