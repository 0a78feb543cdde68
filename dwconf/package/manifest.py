"""`[Content_Types].xml` and `solution.xml`: the package's declared types and the manifest
(UniqueName, LocalizedNames, Descriptions, Version, Managed, Publisher, RootComponents,
MissingDependencies)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from dwconf.model import Solution
from dwconf.package import shapes
from dwconf.package.errors import PackageError, UnsafeArchive
from dwconf.package.xmlparts import check_text, child, parse, serialize, text_of

CONTENT_TYPES = "[Content_Types].xml"
SOLUTION = "solution.xml"
CUSTOMIZATIONS = "customizations.xml"

TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_CONTENT_TYPE = "application/octet-stream"
ACCEPTED_TYPES = ("application/octet-stream", "application/xml", "text/xml")
LANGUAGE = "1033"
PACKAGE_VERSION = "9.2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class Manifest:
    """What `solution.xml` says: the dwconf solution model plus the managed flag."""

    solution: Solution
    managed: bool


# [Content_Types].xml --------------------------------------------------------------------------


def content_types() -> bytes:
    root = ET.Element("Types", {"xmlns": TYPES_NS})
    child(root, "Default", Extension="xml", ContentType=XML_CONTENT_TYPE)
    return serialize(root)


def _declared(root: ET.Element) -> dict[str, str]:
    """Declared content type by lower-case extension (`xml`) or part name (`/solution.xml`)."""
    found: dict[str, str] = {}
    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "Default" and element.get("Extension"):
            found[element.get("Extension", "").lower()] = element.get("ContentType", "")
        elif tag == "Override" and element.get("PartName"):
            found[element.get("PartName", "").lower()] = element.get("ContentType", "")
    return found


def check_content_types(data: bytes | None) -> None:
    """Both XML parts must have a declared XML content type."""
    if data is None:
        raise UnsafeArchive(f"the zip has no {CONTENT_TYPES}; it is not a Dataverse solution")
    root = parse(data, CONTENT_TYPES)
    if root.tag.rsplit("}", 1)[-1] != "Types":
        raise UnsafeArchive(f"{CONTENT_TYPES} does not declare content types (<Types>)")
    declared = _declared(root)
    for part in (SOLUTION, CUSTOMIZATIONS):
        kind = declared.get(f"/{part}", declared.get("xml"))
        if kind is None:
            raise UnsafeArchive(f"{CONTENT_TYPES} declares no content type for {part}")
        if kind.split(";")[0].strip().lower() not in ACCEPTED_TYPES:
            raise UnsafeArchive(
                f"{CONTENT_TYPES} declares {part} as '{kind}', not XML",
                "solution parts are application/octet-stream or XML",
            )


# solution.xml ---------------------------------------------------------------------------------


def _localized(parent: ET.Element, tag: str, text: str | None, what: str) -> None:
    container = child(parent, f"{tag}s")
    if text is not None:
        child(container, tag, description=check_text(text, what), languagecode=LANGUAGE)


def _publisher(manifest: ET.Element, solution: Solution) -> None:
    publisher = solution.publisher
    element = child(manifest, "Publisher")
    child(element, "UniqueName", publisher.unique_name)
    name = publisher.display_name or publisher.unique_name
    _localized(element, "LocalizedName", name, "the publisher's display name")
    child(element, "Descriptions")
    child(element, "CustomizationPrefix", publisher.prefix)
    child(element, "CustomizationOptionValuePrefix", str(publisher.option_value_prefix))


def _dependencies(manifest: ET.Element, solution: Solution, component: str | None) -> None:
    element = child(manifest, "MissingDependencies")
    for name, constraint in sorted(solution.requires.items()):
        dependency = child(element, "MissingDependency")
        child(dependency, "Required", **shapes.required_attributes(name, constraint))
        if component is not None:
            child(dependency, "Dependent", type=str(shapes.MAP_COMPONENT_TYPE), id=component)


def solution_xml(solution: Solution, managed: bool, components: Sequence[str]) -> bytes:
    """The manifest; `components` are the ids of the map records the solution carries."""
    root = ET.Element(
        "ImportExportXml",
        {
            "version": PACKAGE_VERSION,
            "SolutionPackageVersion": PACKAGE_VERSION,
            "languagecode": LANGUAGE,
            "generatedBy": "dwconf",
            "xmlns:xsi": XSI,
        },
    )
    manifest = child(root, "SolutionManifest")
    child(manifest, "UniqueName", solution.unique_name)
    display = solution.display_name or solution.unique_name
    _localized(manifest, "LocalizedName", display, "the solution's display name")
    _localized(manifest, "Description", solution.description, "the solution's description")
    child(manifest, "Version", solution.version)
    child(manifest, "Managed", "1" if managed else "0")
    _publisher(manifest, solution)
    roots = child(manifest, "RootComponents")
    for component in components:
        child(
            roots,
            "RootComponent",
            type=str(shapes.MAP_COMPONENT_TYPE),
            id=f"{{{component}}}",
            behavior="0",
        )
    _dependencies(manifest, solution, f"{{{components[0]}}}" if components else None)
    return serialize(root)


def _localized_text(parent: ET.Element, path: str) -> str | None:
    """The 1033 entry of a LocalizedNames/Descriptions list, else the first one."""
    entries = parent.findall(path)
    chosen = next((e for e in entries if e.get("languagecode") == LANGUAGE), None)
    chosen = chosen if chosen is not None else (entries[0] if entries else None)
    return None if chosen is None else chosen.get("description")


def _requires(manifest: ET.Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for required in manifest.findall("MissingDependencies/MissingDependency/Required"):
        parsed = shapes.parse_required(required.attrib)
        if parsed is None:
            continue
        name, constraint = parsed
        if name not in found or _version_key(constraint) > _version_key(found[name]):
            found[name] = constraint
    return dict(sorted(found.items()))


def _version_key(constraint: str) -> tuple[int, ...]:
    return tuple(int(p) for p in constraint.lstrip(">=").split("."))


def _publisher_data(manifest: ET.Element) -> dict[str, object]:
    element = manifest.find("Publisher")
    if element is None:
        raise PackageError(f"{SOLUTION} has no <Publisher>")
    unique = text_of(element, "UniqueName", f"{SOLUTION} <Publisher>")
    name = _localized_text(element, "LocalizedNames/LocalizedName")
    return {
        "unique_name": unique,
        "prefix": text_of(element, "CustomizationPrefix", f"{SOLUTION} <Publisher>"),
        "option_value_prefix": text_of(
            element, "CustomizationOptionValuePrefix", f"{SOLUTION} <Publisher>"
        ),
        "display_name": None if name in (None, unique) else name,
    }


def read_solution_xml(data: bytes) -> Manifest:
    root = parse(data, SOLUTION)
    manifest = root.find("SolutionManifest")
    if root.tag != "ImportExportXml" or manifest is None:
        raise PackageError(f"{SOLUTION} has no <ImportExportXml><SolutionManifest>")
    unique = text_of(manifest, "UniqueName", SOLUTION)
    display = _localized_text(manifest, "LocalizedNames/LocalizedName")
    managed = text_of(manifest, "Managed", SOLUTION, required=False) or "0"
    data_ = {
        "unique_name": unique,
        "display_name": None if display in (None, unique) else display,
        "description": _localized_text(manifest, "Descriptions/Description"),
        "version": text_of(manifest, "Version", SOLUTION),
        "publisher": _publisher_data(manifest),
        "requires": _requires(manifest),
    }
    try:
        solution = Solution.model_validate(data_)
    except ValidationError as exc:
        problem = exc.errors()[0]
        path = ".".join(str(p) for p in problem["loc"])
        raise PackageError(f"{SOLUTION}: {path}: {problem['msg']}") from None
    return Manifest(solution, managed.strip() not in ("0", "false"))
