"""Reading and writing Dataverse solution zips, as much as the emulator needs (live-api.md §5).

`read` takes `solution.xml` (unique name, version, managed flag, publisher, MissingDependencies)
and the `msdyn_dualwriteentitymap` records of `customizations.xml`; `write` produces the same
layout back for ExportSolution. Kept in one module so the real reader in `dwconf/package/` can
replace it later. XML is parsed with defusedxml.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeXml

from dwconf.emulator import mapping
from dwconf.live.state import Definition, InstalledSolution, SolutionPackage

MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAP_COMPONENT_TYPE = "10150"  # unverified (live-api.md §5); toolbAX uses 500 in queries
_REQUIRED = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((\d+(?:\.\d+){0,3})\)\s*$")
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?><Types xmlns='
    '"http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/octet-stream" /></Types>'
)


class SolutionZipError(ValueError):
    """The file is not a solution zip the emulator can read."""


@dataclass(frozen=True)
class Publisher:
    unique_name: str
    friendly_name: str = ""
    prefix: str = ""
    option_value_prefix: int = 10000


@dataclass(frozen=True)
class SolutionFile:
    """What a solution zip says: the package to import plus the details Dataverse shows."""

    package: SolutionPackage
    friendly_name: str
    description: str
    publisher: Publisher
    map_ids: dict[tuple[str, str], str] = field(default_factory=dict)


def _member(archive: zipfile.ZipFile, name: str) -> bytes:
    found = next((i for i in archive.infolist() if i.filename.lower() == name.lower()), None)
    if found is None:
        raise SolutionZipError(f"The solution file has no {name}.")
    if found.file_size > MAX_MEMBER_BYTES:
        raise SolutionZipError(f"{name} in the solution file is too large.")
    return archive.read(found)


def _xml(raw: bytes, name: str) -> Element:
    try:
        root: Element = SafeXml.fromstring(raw)
    except Exception as exc:  # defusedxml raises several unrelated types
        raise SolutionZipError(f"{name} is not well-formed XML: {exc}") from exc
    return root


def _text(parent: Element | None, path: str, default: str = "") -> str:
    node = parent.find(path) if parent is not None else None
    return (node.text or "").strip() if node is not None and node.text else default


def _localized(parent: Element | None) -> str:
    node = parent.find("LocalizedNames/LocalizedName") if parent is not None else None
    return node.get("description", "") if node is not None else ""


def _requires(manifest: Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for required in manifest.iterfind("MissingDependencies/MissingDependency/Required"):
        match = _REQUIRED.match(required.get("solution", ""))
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _publisher(manifest: Element) -> Publisher:
    node = manifest.find("Publisher")
    unique = _text(node, "UniqueName")
    if not unique:
        raise SolutionZipError("solution.xml names no publisher.")
    prefix = _text(node, "CustomizationPrefix")
    option = _text(node, "CustomizationOptionValuePrefix", "10000")
    return Publisher(
        unique, _localized(node) or unique, prefix, int(option) if option.isdigit() else 10000
    )


def _definition(record: Element) -> Definition:
    version = _text(record, "msdyn_version")
    raw_mapping = _text(record, "msdyn_mapping")
    if not raw_mapping:
        raise SolutionZipError("A msdyn_dualwriteentitymap record has no msdyn_mapping.")
    try:
        return mapping.from_columns(
            raw_mapping,
            _text(record, "msdyn_properties") or None,
            version,
            _text(record, "msdyn_displayname") or None,
        )
    except ValueError as exc:
        name = _text(record, "msdyn_name") or "?"
        raise SolutionZipError(f"Map '{name}' has an unreadable msdyn_mapping: {exc}") from exc


def _maps(customizations: Element) -> tuple[list[Definition], dict[tuple[str, str], str]]:
    definitions: list[Definition] = []
    ids: dict[tuple[str, str], str] = {}
    for record in customizations.iterfind("msdyn_dualwriteentitymaps/msdyn_dualwriteentitymap"):
        definition = _definition(record)
        definitions.append(definition)
        row_id = record.get("msdyn_dualwriteentitymapid", "").strip("{} ").lower()
        if row_id:
            ids[(str(definition["name"]), str(definition["version"]))] = row_id
    return definitions, ids


def read(data: bytes) -> SolutionFile:
    """The solution a zip carries; SolutionZipError when it isn't one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise SolutionZipError("The solution file is not a zip archive.") from exc
    with archive:
        manifest = _xml(_member(archive, "solution.xml"), "solution.xml").find("SolutionManifest")
        customizations = _xml(_member(archive, "customizations.xml"), "customizations.xml")
    if manifest is None:
        raise SolutionZipError("solution.xml has no SolutionManifest.")
    unique_name = _text(manifest, "UniqueName")
    if not unique_name:
        raise SolutionZipError("solution.xml has no UniqueName.")
    publisher = _publisher(manifest)
    definitions, ids = _maps(customizations)
    package = SolutionPackage(
        unique_name=unique_name,
        version=_text(manifest, "Version"),
        managed=_text(manifest, "Managed", "0") == "1",
        publisher=publisher.unique_name,
        requires=_requires(manifest),
        maps=definitions,
    )
    friendly = _localized(manifest) or unique_name
    description = _text(manifest, "Descriptions/Description")
    return SolutionFile(package, friendly, description, publisher, ids)


def _named(parent: Element, tag: str, description: str) -> None:
    names = SubElement(parent, tag)
    SubElement(names, tag[:-1], {"description": description, "languagecode": "1033"})


def _manifest(solution: SolutionFile, map_ids: list[str]) -> bytes:
    root = Element("ImportExportXml", {"version": "9.2.0.0", "SolutionPackageVersion": "9.2"})
    manifest = SubElement(root, "SolutionManifest")
    package = solution.package
    SubElement(manifest, "UniqueName").text = package.unique_name
    _named(manifest, "LocalizedNames", solution.friendly_name)
    SubElement(manifest, "Version").text = package.version
    SubElement(manifest, "Managed").text = "1" if package.managed else "0"
    publisher = SubElement(manifest, "Publisher")
    SubElement(publisher, "UniqueName").text = solution.publisher.unique_name
    _named(publisher, "LocalizedNames", solution.publisher.friendly_name)
    SubElement(publisher, "CustomizationPrefix").text = solution.publisher.prefix
    option = str(solution.publisher.option_value_prefix)
    SubElement(publisher, "CustomizationOptionValuePrefix").text = option
    roots = SubElement(manifest, "RootComponents")
    for row_id in map_ids:
        attrs = {"type": MAP_COMPONENT_TYPE, "id": f"{{{row_id}}}", "behavior": "0"}
        SubElement(roots, "RootComponent", attrs)
    missing = SubElement(manifest, "MissingDependencies")
    for name, version in sorted(package.requires.items()):
        entry = SubElement(missing, "MissingDependency")
        SubElement(entry, "Required", {"type": "solution", "solution": f"{name} ({version})"})
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode").encode()


def record_columns(definition: Definition, prefix: str) -> dict[str, Any]:
    """The columns of one `msdyn_dualwriteentitymap` record (also the Dataverse row)."""
    return {
        "msdyn_name": mapping.msdyn_name(definition, prefix),
        "msdyn_displayname": str(definition.get("name", "")),
        "msdyn_mapping": mapping.json_text(mapping.to_mapping(definition)),
        "msdyn_properties": mapping.json_text(mapping.to_properties(definition)),
        "msdyn_version": str(definition.get("version", "")),
        "iscustomizable": True,
        "statecode": 0,
        "statuscode": 1,
    }


def _customizations(solution: SolutionFile, map_ids: list[str]) -> bytes:
    root = Element("ImportExportXml")
    for tag in ("Entities", "Roles", "Workflows", "FieldSecurityProfiles", "Templates"):
        SubElement(root, tag)
    records = SubElement(root, "msdyn_dualwriteentitymaps")
    for definition, row_id in zip(solution.package.maps, map_ids, strict=True):
        record = SubElement(
            records, "msdyn_dualwriteentitymap", {"msdyn_dualwriteentitymapid": row_id}
        )
        for column, value in record_columns(definition, solution.publisher.prefix).items():
            text = str(int(value)) if isinstance(value, bool) else str(value)
            SubElement(record, column).text = text
    languages = SubElement(root, "Languages")
    SubElement(languages, "Language").text = "1033"
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode").encode()


def write(solution: SolutionFile) -> bytes:
    """A solution zip for `solution` (ids of maps not in `map_ids` must be given there)."""
    ids = [solution.map_ids[(str(d["name"]), str(d["version"]))] for d in solution.package.maps]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("solution.xml", _manifest(solution, ids))
        archive.writestr("customizations.xml", _customizations(solution, ids))
    return buffer.getvalue()


def from_installed(
    installed: InstalledSolution,
    *,
    friendly_name: str,
    description: str,
    publisher: Publisher,
    map_ids: dict[tuple[str, str], str],
    managed: bool,
) -> SolutionFile:
    """An installed solution as a `SolutionFile` (for ExportSolution)."""
    package = SolutionPackage(
        unique_name=installed.unique_name,
        version=installed.version,
        managed=managed,
        publisher=installed.publisher,
        requires=dict(installed.requires),
        maps=[dict(m.definition) for m in installed.maps],
    )
    return SolutionFile(package, friendly_name, description, publisher, dict(map_ids))
