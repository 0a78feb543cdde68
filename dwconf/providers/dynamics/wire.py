"""The shapes dwconf expects from the gateway and Dataverse, as pydantic models: what the
provider reads and what `dwconf probe` checks, in one place.

Gateway models follow the structs Microsoft's own client deserializes (`DWLibary/Struct/*.cs`
in microsoft/Dual-write-automations; docs/evidence.md): only the fields dwconf reads, extra
fields ignored, every field optional where the C# struct would take a missing value as its
default. Dataverse models hold the columns dwconf selects.

`parse` checks one answer: a value of another shape raises `ShapeError`, which names the call,
the field, what was expected and what came, and never a `TypeError` or `KeyError` further in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from dwconf.errors import ProviderError

T = TypeVar("T")
MAX_SHOWN = 80


def _code(value: Any) -> Any:
    """States and actions are strings in the structs; a number is taken as its digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Code = Annotated[str, BeforeValidator(_code)]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# Gateway: maps (DWMaps.cs, MapsHelper.cs) --------------------------------------------------


class Version(Model):
    major: int = 0
    minor: int = 0
    build: int = 0
    revision: int = 0

    @property
    def text(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}.{self.revision}"


class Template(Model):
    id: str | None = None
    name: str | None = None
    displayName: str | None = None
    author: str | None = None
    version: Version | None = None


class LastRequest(Model):
    requestId: str | None = None
    action: Code | None = None
    createdOn: datetime | None = None
    modifiedOn: datetime | None = None
    state: Code | None = None
    errorMessage: str | None = None


class Side(Model):
    targetType: str | None = None
    name: str | None = None


class MapDetail(Model):
    tid: str | None = None
    tName: str | None = None
    template: Template | None = None
    templates: list[Template] | None = None
    pid: str | None = None
    state: Code | None = None
    lastRequest: LastRequest | None = None
    lastRequests: list[LastRequest] | None = None


class DWMap(Model):
    leftEntity: Side | None = None
    rightEntity: Side | None = None
    detail: MapDetail

    def request(self, request_id: str) -> LastRequest | None:
        """This map's entry for one request (`lastRequests[requestId == id]`)."""
        wanted = request_id.lower()
        for entry in self.detail.lastRequests or []:
            if (entry.requestId or "").lower() == wanted:
                return entry
        return None


class RequestId(Model):
    requestId: str


class LinkEntry(Model):
    """An element of `Environments` (DWEnvironment.cs)."""

    cid: str
    cname: str | None = None


class SolutionResult(Model):
    message: str | None = None
    status: str | None = None


class SolutionRequest(Model):
    """`SolutionAware/{cid}/Status/{id}` (SolutionAwareRequest in DWConnectionSet.cs)."""

    requestId: str | None = None
    state: Code
    result: SolutionResult | None = None


class Solution(Model):
    """An element of `SolutionAware/{cid}/Solutions/` (SolutionList.cs)."""

    uniquename: str


# Gateway: the project of a map (DWFieldMapping.cs) -----------------------------------------


class TemplateIdentifier(Model):
    id: str | None = None
    version: Version | None = None


class Task(Model):
    legs: list[dict[str, Any]] | None = None


class FieldMapping(Model):
    id: str | None = None
    name: str | None = None  # the project's name: what `Project/{name}/Refresh` takes
    templateIdentifier: TemplateIdentifier | None = None
    entityMappingTasks: list[Task] | None = None


# Gateway: the link (DWConnectionSet.cs) -----------------------------------------------------


class Key(Model):
    name: str | None = None
    fields: list[str] | None = None


class Schema(Model):
    name: str | None = None
    keys: list[Key] | None = None


class LinkEnvironment(Model):
    name: str | None = None
    targetType: str | None = None
    schemas: list[Schema] | None = None
    environmentDisplayName: str | None = None
    powerAppsEnvironment: str | None = None
    directUrl: str | None = None
    isDevInstance: bool = False


class Company(Model):
    name: str | None = None
    id: str | None = None


class CompanyPair(Model):
    left: Company | None = None
    right: Company | None = None


class LegalEntityMappings(Model):
    mappings: list[CompanyPair] | None = None


class Threshold(Model):
    count: int = 0
    interval: int = 0
    unitOfTime: str | None = None


class Alert(Model):
    name: str | None = None
    state: str | None = None
    errorTypes: list[str] | None = None
    threshold: Threshold | None = None
    action: str | None = None


class DualWriteDetail(Model):
    legalEntityMappings: LegalEntityMappings | None = None
    alertSettings: list[Alert] | None = None


class ConnectionSet(Model):
    id: str | None = None
    name: str | None = None
    environments: dict[str, LinkEnvironment] | None = None
    dualWriteDetail: DualWriteDetail | None = None

    def sides(self) -> Iterator[LinkEnvironment]:
        yield from (self.environments or {}).values()


# Dataverse rows ------------------------------------------------------------------------------


class Publisher(Model):
    uniquename: str | None = None


class SolutionRow(Model):
    solutionid: str
    uniquename: str
    version: str | None = None
    ismanaged: bool | None = None
    publisherid: Publisher | None = None


class MapRow(Model):
    msdyn_dualwriteentitymapid: str
    msdyn_displayname: str | None = None
    msdyn_version: str | None = None
    solutionid: str | None = None


class LeaseRow(Model):
    dwconf_leaseid: str
    dwconf_owner: str | None = None
    dwconf_operation: str | None = None
    dwconf_planid: str | None = None
    createdon: datetime
    dwconf_expireson: datetime


class RecordRow(Model):
    dwconf_deploymentrecordid: str
    createdon: datetime | None = None
    dwconf_who: str | None = None
    dwconf_planhash: str | None = None
    dwconf_gitcommit: str | None = None
    dwconf_solutionversions: str | None = None
    dwconf_desired: str | None = None
    dwconf_status: str | None = None


# Checking an answer --------------------------------------------------------------------------


class ShapeError(ProviderError):
    """An answer of a shape dwconf doesn't know: the call, the field, expected and found."""

    def __init__(self, call: str, field: str, expected: str, found: str) -> None:
        where = f" field '{field}'" if field else ""
        super().__init__(
            f"unexpected answer to '{call}':{where} expected {expected}, got {found}.",
            hint="The service answered in a shape this version of dwconf doesn't know; "
            "`dwconf probe ENV` lists every call and what it found.",
        )
        self.call, self.field, self.expected, self.found = call, field, expected, found


def shown(value: Any) -> str:
    """A value as an error shows it: JSON, cut short."""
    try:
        text = json.dumps(value, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _location(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _error(call: str, exc: ValidationError) -> ShapeError:
    first = exc.errors(include_url=False)[0]
    found = "nothing" if first["type"] == "missing" else shown(first.get("input"))
    expected = str(first["msg"]).removeprefix("Input should be ").rstrip(".")
    if first["type"] == "missing":
        expected = "a value"
    return ShapeError(call, _location(tuple(first["loc"])), expected, found)


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(shape: Any) -> TypeAdapter[Any]:
    found = _adapters.get(shape)
    if found is None:
        found = _adapters[shape] = TypeAdapter(shape)
    return found


def parse(call: str, shape: type[T] | Any, value: Any) -> T:
    """`value` as `shape` (a model, or a type such as `list[DWMap]`), or a `ShapeError`."""
    try:
        found: T = _adapter(shape).validate_python(value)
    except ValidationError as exc:
        raise _error(call, exc) from None
    return found


def utc(moment: datetime | None) -> datetime | None:
    """A naive time (C# `DateTime` without a zone) is taken as UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
