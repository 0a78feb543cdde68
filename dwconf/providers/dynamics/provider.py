"""`DynamicsProvider`: the `LiveWriter` of a real environment pair, over the Dataverse Web API
and the dual-write gateway (ARCHITECTURE §4, live-api.md §6.5). Reads go through `reader`,
solutions through `solutions`, maps through `maps`, dwconf's lease and records through `locks`.
Integration keys are read before they are written (the gateway has no ETags); legal entities
change only through Reset link, and alert settings are read-only (`read_only`): no public client
of the gateway writes them (docs/evidence.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

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
    SolutionPackage,
)
from dwconf.live.errors import InvalidRequest
from dwconf.live.state import MasterSide
from dwconf.model import Environment
from dwconf.providers.dynamics import auth, shapes, solutions
from dwconf.providers.dynamics.cache import DefinitionCache
from dwconf.providers.dynamics.credentials import credential_for
from dwconf.providers.dynamics.dataverse import Dataverse
from dwconf.providers.dynamics.gateway import Gateway
from dwconf.providers.dynamics.locks import Locks
from dwconf.providers.dynamics.maps import Index, Maps
from dwconf.providers.dynamics.reader import RECORDS, Reader, Snapshot, records_of
from dwconf.providers.dynamics.settings import Settings, Tuning, settings_for
from dwconf.providers.dynamics.transport import Transport, ssl_context

READ_WORKERS = 4
Json = dict[str, Any]
ALERTS_READ_ONLY = (
    "dwconf can't write alert settings to a real environment: no public client of the "
    "dual-write gateway shows a call that writes them, so dwconf only reads them. Set them in "
    "the Dual-write workspace (Alert settings)"
)
ALERTS_HINT = "Once they match the configuration, plan and drift show no change for them."


class AlertsReadOnly(ProviderError):
    """A write of alert settings through a provider that can only read them."""


class DynamicsProvider:
    """A `LiveWriter` over HTTP; thread-safe (apply runs steps in parallel)."""

    def __init__(
        self,
        settings: Settings,
        *,
        root: Path,
        environ: Mapping[str, str],
        tuning: Tuning | None = None,
    ) -> None:
        self.settings = settings
        self.tuning = tuning or Tuning()
        self.transport = Transport(
            verify=ssl_context(settings.ca_file),
            timeout_s=self.tuning.timeout_s,
            max_per_host=self.tuning.max_per_host,
            retry=self.tuning.retry,
            sleep=self.tuning.sleep,
        )
        credential = credential_for(settings, environ, self.transport)
        dv_auth = auth.source(credential, settings.dataverse_url)
        gw_auth = auth.source(credential, settings.gateway_resource)
        self.dataverse = Dataverse(self.transport, dv_auth, settings.dataverse_url, self.tuning)
        self.gateway = Gateway(
            self.transport, gw_auth, settings.gateway_url, settings.finops_host, self.tuning
        )
        self.locks = Locks(self.dataverse)
        self._pool = ThreadPoolExecutor(READ_WORKERS, thread_name_prefix="dwconf-read")
        key = f"{settings.dataverse_url}|{settings.gateway_url}"
        self.cache = DefinitionCache.for_environment(root, key)
        self._reader = Reader(self.dataverse, self.gateway, self.cache, self._pool)
        self.maps = Maps(self.gateway, self.tuning, self._reread)

    @classmethod
    def open(
        cls,
        root: Path,
        env: Environment,
        *,
        environ: Mapping[str, str] | None = None,
        tuning: Tuning | None = None,
    ) -> Self:
        """The provider for `env`; refuses an incomplete configuration before any request."""
        environ = os.environ if environ is None else environ
        return cls(settings_for(root, env, environ), root=root, environ=environ, tuning=tuning)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # LiveReader ------------------------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        snapshot = self._reader.read(self.maps.masters())
        self.locks.records(snapshot.record_rows)
        self.maps.known(snapshot.index)
        return snapshot

    def _reread(self) -> Index:
        return self._snapshot().index

    def read(self) -> LiveState:
        return self._snapshot().state

    def lock_status(self) -> Lease | None:
        return self.locks.status()

    def records(self) -> tuple[DeploymentRecord, ...]:
        rows = self.dataverse.rows("read the deployment records", RECORDS)
        self.locks.records(rows)
        return records_of(rows)

    def record_desired(self, record_id: str) -> dict[str, Any]:
        return self.locks.desired(record_id)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.transport.close()

    # Solutions -------------------------------------------------------------------------------

    def import_solution(self, package: SolutionPackage) -> ImportResult:
        before = solutions.installed(self.dataverse, package.unique_name)
        result = solutions.outcome(before, solutions.wanted(package))
        if result is None:
            return ImportResult.UNCHANGED
        owner = solutions.publisher(self.dataverse, package.publisher)
        data = solutions.solution_zip(package, owner)
        self.dataverse.import_solution(f"import solution '{package.unique_name}'", data)
        return result

    def apply_solution(self, unique_name: str) -> tuple[MapTemplate, ...]:
        self.gateway.apply_solution(unique_name)
        self.maps.forget()  # the maps and their templates changed
        carried = solutions.installed(self.dataverse, unique_name)
        if carried is None:
            raise InvalidRequest(f"Solution '{unique_name}' is not installed.")
        return tuple(MapTemplate(n, v, unique_name, d) for n, v, d in carried.maps)

    # Maps ------------------------------------------------------------------------------------

    def switch_version(self, map_name: str, version: str, author: str | None = None) -> LiveMap:
        return self.maps.switch(map_name, version, author)

    def start_map(
        self, name: str, initial_sync: bool = False, master: MasterSide | None = None
    ) -> LiveMap:
        return self.maps.act(name, "initial_sync" if initial_sync else "start", master)

    def stop_map(self, name: str) -> LiveMap:
        return self.maps.act(name, "stop")

    def pause_map(self, name: str) -> LiveMap:
        return self.maps.act(name, "pause")

    def resume_map(self, name: str) -> LiveMap:
        return self.maps.act(name, "resume")

    def wait(self, name: str, timeout_s: float | None = None) -> LiveMap:
        """Poll until the map settles, at most `timeout_s` (default: the environment's
        `provider.wait_timeout`)."""
        chosen = self.settings.wait_timeout_s if timeout_s is None else timeout_s
        return self.maps.wait(name, chosen)

    def pause_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        """Pause several maps in one request, as the Microsoft tool's bulk pause does."""
        return self.maps.act_many(names, "pause")

    def resume_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        """Resume several maps in one request (their catch-up then runs: see `wait`)."""
        return self.maps.act_many(names, "resume")

    def prerequisites(self, names: Sequence[str]) -> list[list[str]]:
        """The gateway's dependency order (`GetTemplatePrerequisiteSequences`), by map name:
        for each map, the maps it needs first, then itself. Not part of `LiveWriter`."""
        return self.maps.prerequisites(names)

    # Link ------------------------------------------------------------------------------------

    def read_only(self) -> dict[str, str]:
        return {"alert": ALERTS_READ_ONLY}

    def set_integration_keys(self, table: str, columns: Sequence[str]) -> bool:
        """One table's key (`IntegrationKeys` names the table: keys of other tables set at the
        same time are left alone, so parallel steps don't wait for each other)."""
        current = self.gateway.connection_set()
        if shapes.integration_keys(current).get(table, ()) == tuple(columns):
            return False
        self.gateway.set_integration_keys(shapes.dataset_name(current), {table: list(columns)})
        return True

    def set_alerts(self, alerts: Sequence[AlertSetting]) -> bool:
        """Alert settings are read-only here: no public client writes them. Refused unless
        the link already has them (then nothing to do)."""
        current = shapes.alerts(self.gateway.connection_set())
        if shapes.same_alerts(current, tuple(alerts)):
            return False
        raise AlertsReadOnly(ALERTS_READ_ONLY, hint=ALERTS_HINT)

    def reset_link(self, force: bool = False, legal_entities: Sequence[str] = ()) -> None:
        """Reset link with the environments the link has now and `legal_entities`."""
        body = shapes.reset_body(self.gateway.connection_set(), tuple(legal_entities))
        self.gateway.reset(force, body)
        self.maps.forget()

    # Lock and deployment records -------------------------------------------------------------

    def acquire_lock(
        self, owner: str, operation: str, plan_id: str | None, ttl_seconds: float
    ) -> Lease:
        return self.locks.acquire(owner, operation, plan_id, ttl_seconds)

    def renew_lock(self, lease_id: str, ttl_seconds: float) -> Lease:
        return self.locks.renew(lease_id, ttl_seconds)

    def fence(self, lease_id: str | None) -> bool:
        """The lease is a Dataverse row and most writes go to the dual-write gateway, which
        knows nothing of it: no write can be made conditional on the lease (README,
        "Decisions"; docs/reliability.md)."""
        return False

    def release_lock(self, lease_id: str) -> bool:
        return self.locks.release(lease_id)

    def force_unlock(self, lease_id: str) -> Lease:
        return self.locks.force_unlock(lease_id)

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
        return self.locks.add(
            who=who,
            plan_hash=plan_hash,
            git_commit=git_commit,
            solution_versions=solution_versions,
            desired=desired,
            status=status,
            provenance=provenance,
        )

    def set_record_status(self, record_id: str, status: str) -> DeploymentRecord:
        return self.locks.set_status(record_id, status)
