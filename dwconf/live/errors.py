"""The refusals of the live model: one class per rule.

Each class has a stable `code`, the HTTP status the emulator answers with, and a message. Where
the reference quotes the real service's text (dual-write-domain.md), the message is that text,
exactly, with only its placeholders filled in; the others are written in the same style.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import ClassVar

from dwconf.errors import ExitCode, LeaseLostError, LockHeldError, ProviderError
from dwconf.live.state import Lease, RunState

MAX_LEGAL_ENTITIES = 250
MAX_INITIAL_SYNC_LEGAL_ENTITIES = 40

# Quoted from dual-write-domain.md §1.10 (starting a map whose related maps are not running).
LOOKUP_METADATA_FAILURE = (
    "Unable to complete initial data sync. Error: dual-write failure - plugin registration "
    "failed: Unable to build dual-write lookup metadata. Error object reference not set to an "
    "instance of an object."
)
# Quoted from dual-write-domain.md §1.8 (duplicate or blank company names at link time).
CONNECTION_SET_DUPLICATE = (
    "Saving connection set failed! An item with the same key has already been added."
)


def partition_failure(project: str) -> str:
    """The initial-sync failure above 40 linked legal entities (dual-write-domain §1.8)."""
    return (
        f"Dual-write failure - Plugin registration failed: [(Unable to get partition map for "
        f"project {project} Error Exceeds the maximum partitions allowed for mapping {project})]"
    )


class LiveError(ProviderError):
    """An operation the environment refuses."""

    code: ClassVar[str] = "live.error"
    http_status: ClassVar[int] = 400


class InvalidRequest(LiveError):
    code = "request.invalid"


class StoreUnavailable(LiveError):
    """The environment file could not be read or written (busy, damaged, disk full)."""

    code = "store.unavailable"
    http_status = 503

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The environment file is unavailable: {detail}.",
            hint="Try again; if it persists, check the disk (space, permissions, errors).",
        )


class StoreDamaged(LiveError):
    """The environment file is damaged (a bad page, not a database, empty)."""

    code = "store.damaged"
    http_status = 500

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"The environment file {path} is damaged: {detail}. It holds the environment's "
            "deployment history, so it is left as it is.",
            hint=f"Restore it from a backup, or salvage what SQLite can still read: sqlite3 "
            f"{path} .recover | sqlite3 {path}.recovered, then move {path}.recovered in its "
            "place. Only as a last resort start over (dwconf env reset "
            f"{PurePath(path).stem} for a local environment): that loses the deployment "
            "history.",
        )


class StoreFull(LiveError):
    """The disk holding the environment file is full."""

    code = "store.full"
    http_status = 503

    def __init__(self, path: str) -> None:
        super().__init__(
            f"The disk holding {path} is full; the operation was undone and nothing changed.",
            hint="Free some space on that disk, then run the command again.",
        )


class StoreReadOnly(LiveError):
    """The environment file or its folder can't be written."""

    code = "store.read_only"
    http_status = 503

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"The environment file {path} can't be written: {detail}.",
            hint="Make its folder and file writable for this user (commands that only read — "
            "plan, drift, history, env show, lock status, doctor — work without that).",
        )


class SchemaTooNew(LiveError):
    code = "store.schema_too_new"
    http_status = 500

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"The environment file has schema version {found}; this dwconf reads up to "
            f"{supported}.",
            hint="Upgrade dwconf.",
        )


class SolutionNotFound(LiveError):
    code = "solution.not_found"
    http_status = 404

    def __init__(self, unique_name: str) -> None:
        super().__init__(f"Solution '{unique_name}' is not installed in the Dataverse environment.")
        self.unique_name = unique_name


class MissingDependency(LiveError):
    code = "solution.missing_dependency"

    def __init__(self, unique_name: str, required: str, minimum: str) -> None:
        super().__init__(
            f"The following solution cannot be imported: {unique_name}. Some dependencies are "
            f"missing: solution '{required}' version '{minimum}' or later is required.",
            hint=f"Install {required} first.",
        )
        self.unique_name, self.required, self.minimum = unique_name, required, minimum


class VersionMismatch(LiveError):
    """Quoted from dual-write-domain.md §2.4 / §6.3."""

    code = "solution.version_mismatch"

    def __init__(self, unique_name: str, installed: str, required: str) -> None:
        super().__init__(
            f"Dynamics 365 for Sales solution '{unique_name}' has version mismatch. "
            f"Version: '{installed}' Required version: '{required}'",
            hint=f"Upgrade {unique_name} to {required} or later.",
        )
        self.unique_name, self.installed, self.required = unique_name, installed, required


class Downgrade(LiveError):
    code = "solution.downgrade"

    def __init__(self, unique_name: str, installed: str, version: str) -> None:
        super().__init__(
            f"Solution '{unique_name}' version '{version}' can't be imported: version "
            f"'{installed}' is already installed. Import a version higher than '{installed}'."
        )


class PublisherMismatch(LiveError):
    code = "solution.publisher_mismatch"

    def __init__(self, unique_name: str, installed: str, publisher: str) -> None:
        super().__init__(
            f"Solution '{unique_name}' is installed with publisher '{installed}' and can't be "
            f"upgraded by a solution from publisher '{publisher}'."
        )


class MapNotFound(LiveError):
    code = "map.not_found"
    http_status = 404

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Table map '{name}' was not found.", hint="Apply the solution that carries it."
        )
        self.name = name


class MapVersionNotFound(LiveError):
    code = "map.version_not_found"
    http_status = 404

    def __init__(self, name: str, version: str, available: Sequence[str]) -> None:
        listed = ", ".join(available) or "none"
        super().__init__(
            f"Table map '{name}' has no version '{version}'. Available versions: {listed}."
        )


class MapNotStopped(LiveError):
    """Written after dual-write-domain.md §1.3: maps must be stopped before you edit them."""

    code = "map.not_stopped"
    http_status = 409

    def __init__(self, name: str, state: RunState) -> None:
        super().__init__(
            f"Table map '{name}' is {state.label}. Stop the table map (Not running) before you "
            f"edit it, otherwise changes aren't saved."
        )


class MapBusy(LiveError):
    code = "map.busy"
    http_status = 409

    def __init__(self, name: str, state: RunState) -> None:
        super().__init__(
            f"Table map '{name}' is {state.label}. No actions are available until it finishes."
        )


class MapStateConflict(LiveError):
    code = "map.state_conflict"
    http_status = 409

    def __init__(self, name: str, state: RunState, action: str, hint: str = "") -> None:
        super().__init__(
            f"Table map '{name}' is {state.label}. {action.capitalize()} isn't available in "
            f"this state.",
            hint=hint,
        )


class NoActiveVersion(LiveError):
    code = "map.no_active_version"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Table map '{name}' has no active version. Choose a table map version before you "
            f"run it."
        )


class MasterRequired(LiveError):
    code = "map.master_required"

    def __init__(self, name: str) -> None:
        super().__init__(f"Initial sync of table map '{name}' needs a master: dataverse or finops.")


class DependencyNotRunning(LiveError):
    """The closest quoted text (dual-write-domain §1.10); the hint names the related map."""

    code = "map.dependency_not_running"
    http_status = 409

    def __init__(self, name: str, dependency: str) -> None:
        super().__init__(
            LOOKUP_METADATA_FAILURE,
            hint=f"Run '{dependency}' first: '{name}' depends on it.",
        )
        self.name, self.dependency = name, dependency


class TooManyLegalEntities(LiveError):
    """The quoted partition error's core text, completed with the limit."""

    code = "link.too_many_legal_entities"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"Exceeds the maximum partitions allowed: {count} legal entities, at most "
            f"{MAX_LEGAL_ENTITIES} can be linked."
        )


class DuplicateLegalEntity(LiveError):
    """Quoted from dual-write-domain.md §1.8."""

    code = "link.duplicate_legal_entity"

    def __init__(self, code: str) -> None:
        super().__init__(
            CONNECTION_SET_DUPLICATE,
            hint=f"Legal entity '{code}' is blank or listed more than once.",
        )


class ResetRefused(LiveError):
    code = "link.reset_refused"
    http_status = 409

    def __init__(self, active: Sequence[str]) -> None:
        super().__init__(
            "Table maps are running. Stop all table maps before you reset the link, or select "
            "Force Reset.",
            hint="Not stopped: " + ", ".join(active),
        )


class LockHeld(LiveError, LockHeldError):
    code = "lock.held"
    http_status = 412
    exit_code = ExitCode.LOCKED

    def __init__(self, lease: Lease) -> None:
        plan = f", plan {lease.plan_id}" if lease.plan_id else ""
        super().__init__(
            f"The environment is locked by {lease.owner} ({lease.operation}{plan}) since "
            f"{lease.created.isoformat()}, until {lease.expires.isoformat()}. "
            f"Lock ID: {lease.id}",
            hint="Wait for it to finish or expire, or run force-unlock with the lock ID.",
        )
        self.lease = lease


class LockNotFound(LiveError):
    code = "lock.not_found"
    http_status = 404

    def __init__(self, lease_id: str) -> None:
        super().__init__(f"No lock with ID '{lease_id}' is held on this environment.")


class LeaseLost(LiveError, LeaseLostError):
    """A write made under a lease that no longer holds the lock (it was taken over, or
    removed): the environment refuses it, whatever the writer believes about its lease."""

    code = "lock.lost"
    http_status = 409
    exit_code = ExitCode.LOCKED

    def __init__(self, lease_id: str, holder: Lease | None) -> None:
        now = f"lock ID {holder.id} ({holder.owner}) holds it now" if holder else "nobody holds it"
        super().__init__(f"The lock '{lease_id}' this write was made under is gone: {now}.")
        self.holder = holder
