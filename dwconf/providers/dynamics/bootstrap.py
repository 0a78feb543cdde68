"""dwconf's own tables in a real environment (`dwconf bootstrap`): the lease (`dwconf_lease`,
entity set `dwconf_leases`, alternate key on `dwconf_name`) and the deployment records
(`dwconf_deploymentrecord`, entity set `dwconf_deploymentrecords`), with the columns `locks` and
`reader` use.

`check` reads the table definitions (`GET EntityDefinitions(LogicalName='…')`, 404 when the
table is absent, then its `Attributes` and `Keys`) and says what is missing; `create` adds only
that, through the Web API's metadata writes (`POST EntityDefinitions` with the primary name column,
then `POST …/Attributes` per column and `POST …/Keys` per alternate key), so running it again
changes nothing; `verify` reads each table once. Every request goes through the provider's
transport (tokens, retries, redaction); metadata writes are never repeated after a timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dwconf.errors import ProviderError
from dwconf.providers.dynamics.dataverse import Dataverse, Query
from dwconf.providers.dynamics.errors import service_error

Json = dict[str, Any]
LANGUAGE = 1033
MEMO_MAX = 1_048_576
DOUBLE_MAX = 100_000_000_000
CREATED = (200, 201, 204)


def label(text: str) -> Json:
    """A metadata `Label` in English."""
    localized = {
        "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel",
        "Label": text,
        "LanguageCode": LANGUAGE,
    }
    return {"@odata.type": "Microsoft.Dynamics.CRM.Label", "LocalizedLabels": [localized]}


def _kind_properties(kind: str, max_length: int) -> Json:
    """What each kind of column adds to `AttributeMetadata`."""
    if kind == "String":
        return {"MaxLength": max_length, "FormatName": {"Value": "Text"}}
    if kind == "Memo":
        return {"MaxLength": MEMO_MAX, "Format": "TextArea"}
    if kind == "Double":
        return {"MinValue": 0, "MaxValue": DOUBLE_MAX, "Precision": 2}
    if kind == "DateTime":
        return {"Format": "DateAndTime", "DateTimeBehavior": {"Value": "UserLocal"}}
    raise ValueError(f"unknown column kind {kind}")


@dataclass(frozen=True)
class Column:
    schema_name: str
    display: str
    kind: str = "String"  # String, Memo, Double or DateTime
    max_length: int = 100

    @property
    def logical(self) -> str:
        return self.schema_name.lower()

    def metadata(self, *, primary: bool = False) -> Json:
        body: Json = {
            "@odata.type": f"Microsoft.Dynamics.CRM.{self.kind}AttributeMetadata",
            "AttributeType": self.kind,
            "AttributeTypeName": {"Value": f"{self.kind}Type"},
            "SchemaName": self.schema_name,
            "DisplayName": label(self.display),
            "Description": label(f"{self.display} (written by dwconf)"),
            "RequiredLevel": {"Value": "None", "CanBeChanged": True},
            **_kind_properties(self.kind, self.max_length),
        }
        if primary:
            body["IsPrimaryName"] = True
        return body


@dataclass(frozen=True)
class Key:
    """An alternate key (`EntityKeyMetadata`)."""

    schema_name: str
    display: str
    columns: tuple[str, ...]

    @property
    def logical(self) -> str:
        return self.schema_name.lower()

    def metadata(self) -> Json:
        return {
            "SchemaName": self.schema_name,
            "DisplayName": label(self.display),
            "KeyAttributes": list(self.columns),
        }


@dataclass(frozen=True)
class Table:
    schema_name: str
    entity_set: str
    display: str
    plural: str
    description: str
    primary: Column
    columns: tuple[Column, ...]
    keys: tuple[Key, ...] = ()

    @property
    def logical(self) -> str:
        return self.schema_name.lower()

    @property
    def path(self) -> str:
        return f"EntityDefinitions(LogicalName='{self.logical}')"

    def metadata(self) -> Json:
        return {
            "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
            "SchemaName": self.schema_name,
            "DisplayName": label(self.display),
            "DisplayCollectionName": label(self.plural),
            "Description": label(self.description),
            "OwnershipType": "OrganizationOwned",
            "IsActivity": False,
            "HasActivities": False,
            "HasNotes": False,
            "PrimaryNameAttribute": self.primary.logical,
            "Attributes": [self.primary.metadata(primary=True)],
        }


LEASE = Table(
    "dwconf_Lease",
    "dwconf_leases",
    "dwconf lease",
    "dwconf leases",
    "dwconf's lock of this environment: at most one row, dwconf_name 'lock'.",
    Column("dwconf_Name", "Name"),
    (
        Column("dwconf_Owner", "Owner", max_length=200),
        Column("dwconf_Operation", "Operation"),
        Column("dwconf_PlanId", "Plan id"),
        Column("dwconf_TtlSeconds", "Time to live (s)", "Double"),
        Column("dwconf_ExpiresOn", "Expires on", "DateTime"),
    ),
    (Key("dwconf_LeaseName", "Lease name", ("dwconf_name",)),),
)
RECORDS = Table(
    "dwconf_DeploymentRecord",
    "dwconf_deploymentrecords",
    "dwconf deployment record",
    "dwconf deployment records",
    "What dwconf applied to this environment, one row per apply or rollback.",
    Column("dwconf_PlanHash", "Plan hash", max_length=200),
    (
        Column("dwconf_Who", "Who", max_length=200),
        Column("dwconf_GitCommit", "Git commit"),
        Column("dwconf_SolutionVersions", "Solution versions", "Memo"),
        Column("dwconf_Desired", "Desired state", "Memo"),
        Column("dwconf_Status", "Status"),
    ),
)
TABLES = (LEASE, RECORDS)


@dataclass(frozen=True)
class Gap:
    """What one table lacks: all of it, or some columns and keys."""

    table: Table
    exists: bool
    columns: tuple[Column, ...] = ()
    keys: tuple[Key, ...] = ()
    pending_keys: tuple[str, ...] = ()  # keys whose index isn't built yet

    @property
    def complete(self) -> bool:
        return self.exists and not self.columns and not self.keys

    def describe(self) -> str:
        name = f"{self.table.logical} ({self.table.entity_set})"
        if not self.exists:
            return f"table {name} is missing"
        missing = [c.logical for c in self.columns] + [f"key {k.logical}" for k in self.keys]
        return f"table {name} lacks {', '.join(missing)}"


# Reading the definitions -----------------------------------------------------------------------


def _listed(dv: Dataverse, table: Table, nav: str, select: str) -> list[Json]:
    operation = f"read the {nav.lower()} of table {table.logical}"
    return dv.rows(operation, Query(f"{table.path}/{nav}", {"$select": select}))


def _exists(dv: Dataverse, table: Table) -> bool:
    operation = f"read the definition of table {table.logical}"
    return dv.row(operation, table.path, {"$select": "LogicalName,EntitySetName"}) is not None


def inspect(dv: Dataverse, table: Table) -> Gap:
    """What `table` lacks in the environment."""
    if not _exists(dv, table):
        return Gap(table, False, table.columns, table.keys)
    columns = {str(r.get("LogicalName")) for r in _listed(dv, table, "Attributes", "LogicalName")}
    keys = {
        str(r.get("LogicalName")): str(r.get("EntityKeyIndexStatus") or "")
        for r in _listed(dv, table, "Keys", "LogicalName,EntityKeyIndexStatus")
    }
    return Gap(
        table,
        True,
        tuple(c for c in (table.primary, *table.columns) if c.logical not in columns),
        tuple(k for k in table.keys if k.logical not in keys),
        tuple(k for k, status in sorted(keys.items()) if status and status != "Active"),
    )


def check(dv: Dataverse) -> list[Gap]:
    """Each of dwconf's tables, with what it lacks."""
    return [inspect(dv, table) for table in TABLES]


# Creating what is missing ----------------------------------------------------------------------


def _post(dv: Dataverse, operation: str, path: str, body: Json) -> None:
    dv.transport.call(dv.request(operation, "POST", path, json=body), ok=CREATED)


def fill(dv: Dataverse, gap: Gap) -> list[str]:
    """Create what `gap` names; what was created, as texts ("column dwconf_lease.dwconf_owner")."""
    table, done = gap.table, []
    if not gap.exists:
        _post(dv, f"create table {table.logical}", "EntityDefinitions", table.metadata())
        done += [f"table {table.logical}", f"column {table.logical}.{table.primary.logical}"]
    for column in gap.columns:
        operation = f"create column {column.logical} of table {table.logical}"
        _post(dv, operation, f"{table.path}/Attributes", column.metadata())
        done.append(f"column {table.logical}.{column.logical}")
    for key in gap.keys:
        operation = f"create alternate key {key.logical} of table {table.logical}"
        _post(dv, operation, f"{table.path}/Keys", key.metadata())
        done.append(f"alternate key {table.logical}.{key.logical}")
    return done


def create(dv: Dataverse, gaps: list[Gap]) -> list[str]:
    """Fill every gap; what was created (empty when nothing was missing)."""
    return [item for gap in gaps if not gap.complete for item in fill(dv, gap)]


def verify(dv: Dataverse) -> list[Gap]:
    """Check again, and read one row of each table; refuses when something is still missing
    or unreadable. The gaps are returned for their keys whose index is still being built."""
    gaps = check(dv)
    left = [g.describe() for g in gaps if not g.complete]
    if left:
        raise ProviderError(
            f"dwconf's tables are still incomplete after bootstrap: {'; '.join(left)}.",
            hint="Run dwconf bootstrap again; if it persists, check the app user's privileges "
            "(System Customizer or System Administrator).",
        )
    for table in TABLES:
        operation = f"read table {table.entity_set}"
        response = dv.send(dv.request(operation, "GET", table.entity_set, params={"$top": "1"}))
        if response.status_code != 200:
            raise service_error(response, operation)
    return gaps
