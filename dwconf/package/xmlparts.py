"""XML in and out: parsing through defusedxml (no DTDs, no entities, no external references)
and writing with a fixed declaration, indentation and attribute order."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # writing only; every parse goes through defusedxml

import defusedxml
import defusedxml.ElementTree as SafeET

from dwconf.package.errors import PackageError, UnsafeArchive

DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def parse(data: bytes, part: str) -> ET.Element:
    """The root element of one XML part of a zip; hostile or broken XML is refused."""
    try:
        root: ET.Element = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeArchive(
            f"{part} uses a DTD or entities, which solution files never need ({exc})"
        ) from None
    except (ET.ParseError, ValueError) as exc:
        raise PackageError(f"{part} is not XML ({exc})") from None
    return root


def check_text(value: str, what: str) -> str:
    """`value` if XML can carry it; text with control characters is refused."""
    found = _NOT_XML.search(value)
    if found:
        code = f"U+{ord(found.group()):04X}"
        raise PackageError(f"{what} holds the character {code}, which XML can't carry")
    return value


def serialize(root: ET.Element) -> bytes:
    """UTF-8 XML with two-space indentation, the same bytes for the same tree."""
    ET.indent(root, space="  ")
    return (DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def child(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def text_of(parent: ET.Element, path: str, part: str, *, required: bool = True) -> str | None:
    found = parent.find(path)
    if found is None or found.text is None or not found.text.strip():
        if required:
            raise PackageError(f"{part} has no <{path}>")
        return None
    return found.text.strip()
