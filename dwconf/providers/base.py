"""The provider protocol, split by capability (ARCHITECTURE §4, style rule 6).

Planning code receives a `LiveReader` and can only read; apply receives a `LiveWriter`. Both
speak in the live model's types (`dwconf.live`) and raise `ProviderError`s: the live model's
refusals carry the real service's texts, and a remote provider maps the service's errors onto
the same classes of failure (`LockHeldError` for a held lock, exit code 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from dwconf.errors import ProviderError
from dwconf.live import (
    AlertSetting,
    DeploymentRecord,
    ImportResult,
    Lease,
    LiveMap,
    LiveState,
    MapTemplate,
    Provenance,
    RunState,
    SolutionPackage,
)
from dwconf.live.state import MasterSide


class LiveReader(Protocol):
    """What planning may do with an environment: look at it."""

    def read(self) -> LiveState:
        """A consistent snapshot of the environment, with its fingerprint."""
        ...

    def lock_status(self) -> Lease | None:
        """The current lease (also an expired one nobody took over), or None."""
        ...

    def records(self) -> tuple[DeploymentRecord, ...]:
        """dwconf's deployment records, oldest first (summaries)."""
        ...

    def record_desired(self, record_id: str) -> dict[str, Any]:
        """The desired state a deployment record holds, by address."""
        ...

    def read_only(self) -> dict[str, str]:
        """The kinds of object (`alert`, …) this provider reads but can't write, each with
        the reason: plans say so, and their steps are refused."""
        ...

    def close(self) -> None:
        """Release the connection; the provider can't be used afterwards."""
        ...


class LiveWriter(LiveReader, Protocol):
    """What apply may do: every operation of the live model, each idempotent where the
    service is (repeating a completed operation changes nothing)."""

    # Solutions -------------------------------------------------------------------------------

    def import_solution(self, package: SolutionPackage) -> ImportResult: ...

    def apply_solution(self, unique_name: str) -> tuple[MapTemplate, ...]: ...

    # Maps ------------------------------------------------------------------------------------

    def switch_version(self, map_name: str, version: str, author: str | None = None) -> LiveMap:
        """Make `version` the map's active one; where several templates have that version,
        the one by `author` (the publisher of the solution carrying the map)."""
        ...

    def start_map(
        self, name: str, initial_sync: bool = False, master: MasterSide | None = None
    ) -> LiveMap: ...

    def stop_map(self, name: str) -> LiveMap: ...

    def pause_map(self, name: str) -> LiveMap: ...

    def resume_map(self, name: str) -> LiveMap: ...

    def pause_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        """Pause several maps at once (one request where the service takes one)."""
        ...

    def resume_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        """Resume several maps at once; each catches up afterwards (see `wait`)."""
        ...

    def wait(self, name: str, timeout_s: float | None = None) -> LiveMap:
        """Poll the map's status until it is no longer Initializing or Resuming; raises
        `WaitTimeout` when it still is after `timeout_s` seconds (None: the environment's
        `provider.wait_timeout`)."""
        ...

    # Link ------------------------------------------------------------------------------------

    def set_integration_keys(self, table: str, columns: Sequence[str]) -> bool: ...

    def set_alerts(self, alerts: Sequence[AlertSetting]) -> bool:
        """Where `read_only()` names `alert`: False when the link has them already, else a
        `ProviderError` saying why they can't be written."""
        ...

    def reset_link(self, force: bool = False, legal_entities: Sequence[str] = ()) -> None:
        """Reset link: maps, integration keys and alert settings go, the legal entities become
        `legal_entities`; solutions stay. The only way the link's legal entities change (as
        in Microsoft's client, ResetLinkEngine.cs)."""
        ...

    # Lock and deployment records -------------------------------------------------------------

    def acquire_lock(
        self, owner: str, operation: str, plan_id: str | None, ttl_seconds: float
    ) -> Lease: ...

    def fence(self, lease_id: str | None) -> bool:
        """Make this writer's writes under the lease `lease_id` (None: under none): the
        environment refuses each write (`LeaseLostError`) unless that lease holds the lock
        when the write is made. False where the service can't check it: then the apply's own
        check before each write (`dwconf.apply.fence`) is all there is."""
        ...

    def renew_lock(self, lease_id: str, ttl_seconds: float) -> Lease: ...

    def release_lock(self, lease_id: str) -> bool: ...

    def force_unlock(self, lease_id: str) -> Lease: ...

    def add_record(
        self,
        *,
        who: str,
        plan_hash: str,
        git_commit: str | None,
        solution_versions: dict[str, str],
        desired: dict[str, Any],
        status: str = "succeeded",
        provenance: Provenance | None = None,
    ) -> DeploymentRecord:
        """A new deployment record; `provenance` says where its desired state came from."""
        ...

    def set_record_status(self, record_id: str, status: str) -> DeploymentRecord: ...


class WaitTimeout(ProviderError):
    """A map was still in a transitional state when `wait` gave up."""

    def __init__(self, name: str, state: RunState, timeout_s: float) -> None:
        super().__init__(
            f"Table map '{name}' is still {state.label} after {timeout_s:g} s.",
            hint="It keeps going in the environment; check it again later.",
        )
        self.name, self.state, self.timeout_s = name, state, timeout_s


class ReadOnly:
    """A `LiveReader` over a writer that hides every write, also from `getattr` at run time:
    what `open_reader` hands to planning code."""

    def __init__(self, writer: LiveWriter) -> None:
        self._writer = writer

    def read(self) -> LiveState:
        return self._writer.read()

    def lock_status(self) -> Lease | None:
        return self._writer.lock_status()

    def records(self) -> tuple[DeploymentRecord, ...]:
        return self._writer.records()

    def read_only(self) -> dict[str, str]:
        return self._writer.read_only()

    def record_desired(self, record_id: str) -> dict[str, Any]:
        return self._writer.record_desired(record_id)

    def close(self) -> None:
        self._writer.close()
