"""dwconf's own tables in the table definitions (`EntityDefinitions`, live-api.md §2): an
environment configured with `dwconf_tables: absent` starts without `dwconf_lease` and
`dwconf_deploymentrecord`, as a real one does, until `dwconf bootstrap` creates them.

While a table is absent its entity set answers as an unknown one and
`GET EntityDefinitions(LogicalName='…')` answers 404. `POST EntityDefinitions` creates it (with the
columns its `Attributes` carry), `POST EntityDefinitions(LogicalName='…')/Attributes` and `…/Keys`
add a column or an alternate key; what was created is kept in the side state
(`<env>.emulator.json`, key `dwconf_tables`). The rows themselves stay the live model's lease and
records: the emulator checks no column when they are written.
"""

from __future__ import annotations

import re
from typing import Any

from dwconf.emulator.dataverse import odata
from dwconf.emulator.dataverse.request import NOT_FOUND, VALIDATION, DvError, DvRequest
from dwconf.emulator.registry import EnvHandle, stable_id
from dwconf.emulator.reply import Reply

# logical name -> (entity set, every column dwconf uses, alternate keys as name -> columns)
TABLES: dict[str, tuple[str, tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "dwconf_lease": (
        "dwconf_leases",
        (
            "dwconf_name",
            "dwconf_owner",
            "dwconf_operation",
            "dwconf_planid",
            "dwconf_ttlseconds",
            "dwconf_expireson",
        ),
        {"dwconf_leasename": ("dwconf_name",)},
    ),
    "dwconf_deploymentrecord": (
        "dwconf_deploymentrecords",
        (
            "dwconf_planhash",
            "dwconf_who",
            "dwconf_gitcommit",
            "dwconf_solutionversions",
            "dwconf_desired",
            "dwconf_status",
        ),
        {},
    ),
}
SET_TABLES = {entity_set: logical for logical, (entity_set, _, _) in TABLES.items()}
SYSTEM_COLUMNS = ("createdon", "modifiedon")
_PATH = re.compile(r"^/EntityDefinitions\(LogicalName='(?P<name>[^']*)'\)(?:/(?P<nav>\w+))?/?$")
EMPTY_ID = "00000000-0000-0000-0000-000000000000"


def present(handle: EnvHandle, logical: str) -> bool:
    """Whether dwconf's table `logical` exists (any other table: always)."""
    if logical not in TABLES or handle.config.dwconf_tables == "present":
        return True
    return logical in handle.side["dwconf_tables"]


def hidden(handle: EnvHandle, entity_set: str) -> bool:
    """Whether `entity_set` is one of dwconf's tables and doesn't exist yet."""
    logical = SET_TABLES.get(entity_set)
    return logical is not None and not present(handle, logical)


def _unknown_table(logical: str) -> DvError:
    # [I] the message of RetrieveEntity's CrmObjectNotFoundException for a logical name
    return DvError(
        404, NOT_FOUND, f"Could not find an entity with name {logical} and id {EMPTY_ID}."
    )


def _created(handle: EnvHandle, logical: str) -> dict[str, list[str]]:
    """What was created of a table: {"columns": [...], "keys": [...]}."""
    if handle.config.dwconf_tables == "present":
        _, columns, keys = TABLES[logical]
        return {"columns": list(columns), "keys": list(keys)}
    found: dict[str, list[str]] = handle.side["dwconf_tables"][logical]
    return found


def _schema_name(body: dict[str, Any], what: str) -> str:
    name = body.get("SchemaName")
    if not isinstance(name, str) or not name:
        raise DvError(400, VALIDATION, f"{what} needs a SchemaName.")
    return name.lower()


def _create_table(handle: EnvHandle, request: DvRequest) -> Reply:
    body = request.json()
    logical = _schema_name(body, "A table")
    if logical not in TABLES:
        raise DvError(400, VALIDATION, "The emulator creates only dwconf's own tables.")
    if present(handle, logical):
        raise DvError(400, VALIDATION, f"A table named {logical} already exists.")
    attributes = body.get("Attributes") or []
    if not any(isinstance(a, dict) and a.get("IsPrimaryName") for a in attributes):
        raise DvError(400, VALIDATION, "A table needs a primary name attribute (IsPrimaryName).")
    columns = [_schema_name(a, "An attribute") for a in attributes if isinstance(a, dict)]
    handle.side["dwconf_tables"][logical] = {"columns": columns, "keys": []}
    handle.save()
    url = f"{request.root}/EntityDefinitions({stable_id('entity', logical)})"
    return odata.empty(204, {"OData-EntityId": url})


def _add(handle: EnvHandle, request: DvRequest, logical: str, kind: str) -> Reply:
    """A column (`Attributes`) or an alternate key (`Keys`) added to a created table."""
    body = request.json()
    name = _schema_name(body, "An attribute" if kind == "columns" else "A key")
    created = _created(handle, logical)
    if name in created[kind]:
        raise DvError(400, VALIDATION, f"{logical} already has {name}.")
    if handle.config.dwconf_tables != "present":
        created[kind].append(name)
        handle.save()
    nav = "Attributes" if kind == "columns" else "Keys"
    url = f"{request.root}/EntityDefinitions(LogicalName='{logical}')/{nav}({stable_id(nav, name)})"
    return odata.empty(204, {"OData-EntityId": url})


def _list(request: DvRequest, logical: str, kind: str, created: dict[str, list[str]]) -> Reply:
    _, _, keys = TABLES[logical]
    value: list[dict[str, Any]]
    if kind == "columns":
        names = [f"{logical}id", *created["columns"], *SYSTEM_COLUMNS]
        value = [{"LogicalName": n, "MetadataId": stable_id("Attributes", n)} for n in names]
    else:
        value = [
            {
                "LogicalName": n,
                "MetadataId": stable_id("Keys", n),
                "KeyAttributes": list(keys.get(n, ())),
                "EntityKeyIndexStatus": "Active",
            }
            for n in created["keys"]
        ]
    nav = "Attributes" if kind == "columns" else "Keys"
    context = f"{request.root}/$metadata#EntityDefinitions('{logical}')/{nav}"
    return odata.json_reply(200, {"@odata.context": context, "value": value})


def route(handle: EnvHandle, request: DvRequest) -> Reply | None:
    """The answer to a table-definition request about dwconf's tables; None for any other,
    which the `EntityDefinitions` entity set then answers as before."""
    if request.path.rstrip("/") == "/EntityDefinitions" and request.method == "POST":
        return _create_table(handle, request)
    match = _PATH.match(request.path)
    if match is None or match.group("name").lower() not in TABLES:
        return None
    logical, nav = match.group("name").lower(), match.group("nav")
    if not present(handle, logical):
        raise _unknown_table(logical)
    kind = {"Attributes": "columns", "Keys": "keys"}.get(nav or "")
    if kind is None:
        return None
    if request.method == "POST":
        return _add(handle, request, logical, kind)
    if request.method == "GET":
        return _list(request, logical, kind, _created(handle, logical))
    raise DvError(405, "", f"{request.method} is not allowed on this resource.")
