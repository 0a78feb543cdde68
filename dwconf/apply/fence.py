"""The lease an apply holds, and the fence every write of the apply passes through.

A lease expires unless it is renewed: if renewals fail (the service is unreachable for a
while) or the service says someone else holds the lease now, another apply may already be
writing. `Keeper` renews the lease in the background, retrying a failed renewal until the lease
is within a safety margin of expiring; `Fenced` is the apply's writer, which asks the keeper
before every write and stops the apply (`LeaseLostError`, exit 5) once the lease can no longer
be counted on. The margin covers the time one write takes to reach the service.

Where the provider can (`LiveWriter.fence`: the local environment), each write also carries
the lease's id and the environment refuses it once another lease holds the lock: an apply
that lost its lease without knowing (a process paused for longer than the lease, say) is
stopped by the environment itself. The dual-write gateway has no such check.

The keeper measures the lease's life on `lease_clock`, which keeps counting while the machine
sleeps (Linux's CLOCK_BOOTTIME): a laptop that sleeps in the middle of an apply wakes up with
its lease expired and stops, where a monotonic clock, paused during the sleep, would trust the
lease until the next renewal failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from dwconf.errors import DwconfError, LeaseLostError, LockHeldError
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
from dwconf.live.errors import LockNotFound
from dwconf.live.state import MasterSide
from dwconf.providers.base import LiveWriter

RETRY_SECONDS = 2.0  # between tries of a failed renewal
Clock = Callable[[], float]
P = ParamSpec("P")
T = TypeVar("T")


def lease_clock() -> float:
    """Seconds since boot, sleep included, where the system has such a clock (Linux's
    CLOCK_BOOTTIME); elsewhere the monotonic clock."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return time.monotonic()
    return time.clock_gettime(boottime)


def margin_for(ttl: float) -> float:
    """How long before the lease's expiry a holder stops trusting it."""
    return min(30.0, ttl / 4)


class Keeper:
    """Keeps one lease renewed while an apply runs; `check` says whether writes may go on."""

    def __init__(
        self,
        writer: LiveWriter,
        lease: Lease,
        ttl: float,
        *,
        taken_at: float,
        clock: Clock = lease_clock,
    ) -> None:
        self.lease = lease
        self._writer, self._ttl, self._clock = writer, ttl, clock
        self._retry_s = min(RETRY_SECONDS, ttl / 20)  # a short lease retries sooner
        self._valid_until = taken_at + ttl  # measured from before the request that took it
        self._margin = margin_for(ttl)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="dwconf-lease")
        self.lost = ""
        self.renewal_failures = 0

    def __enter__(self) -> Keeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def lose(self, why: str) -> None:
        """The lease is known to be lost (the first reason found is kept)."""
        self.lost = self.lost or why

    def check(self) -> None:
        """Raise `LeaseLostError` when the lease can't be counted on for the next write."""
        if not self.lost and self._clock() >= self._valid_until - self._margin:
            self.lost = "its renewal did not succeed before the lease was about to expire"
        if self.lost:
            raise LeaseLostError(
                f"the apply lost the environment's lock: {self.lost}",
                "another apply may have taken over; see `dwconf lock status`, then continue "
                "with `dwconf apply ENV --resume`",
            )

    def _beat(self) -> None:
        wait = self._ttl / 3
        while not self._stop.wait(wait):
            started = self._clock()
            try:
                self._writer.renew_lock(self.lease.id, self._ttl)
            except (LockHeldError, LockNotFound) as exc:  # the service says it is not ours
                self.lost = f"the service says so: {exc.message}"
                return
            except Exception as exc:  # any failure: retried, then the lease is given up
                self.renewal_failures += 1
                if self._clock() + self._retry_s >= self._valid_until - self._margin:
                    why = exc.message if isinstance(exc, DwconfError) else repr(exc)
                    self.lost = f"renewing it failed until too late: {why}"
                    return
                wait = self._retry_s
                continue
            self._valid_until = started + self._ttl
            wait = self._ttl / 3


class Fenced:
    """The apply's `LiveWriter`: every write first asks the keeper whether the lease still
    holds; reads and the lock's own calls go straight through."""

    def __init__(self, writer: LiveWriter, keeper: Keeper) -> None:
        self._writer, self._keeper = writer, keeper

    def _write(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Make one write if the lease can be counted on; a refusal by the environment
        itself (the lease was taken over without the keeper knowing yet) loses it too."""
        self._keeper.check()
        try:
            return call(*args, **kwargs)
        except LeaseLostError as exc:
            self._keeper.lose(f"the environment refused a write: {exc.message}")
            raise

    # Reads -----------------------------------------------------------------------------------

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

    def wait(self, name: str, timeout_s: float | None = None) -> LiveMap:
        return self._writer.wait(name, timeout_s)

    # Writes ----------------------------------------------------------------------------------

    def import_solution(self, package: SolutionPackage) -> ImportResult:
        return self._write(self._writer.import_solution, package)

    def apply_solution(self, unique_name: str) -> tuple[MapTemplate, ...]:
        return self._write(self._writer.apply_solution, unique_name)

    def switch_version(self, map_name: str, version: str, author: str | None = None) -> LiveMap:
        return self._write(self._writer.switch_version, map_name, version, author)

    def start_map(
        self, name: str, initial_sync: bool = False, master: MasterSide | None = None
    ) -> LiveMap:
        return self._write(self._writer.start_map, name, initial_sync, master)

    def stop_map(self, name: str) -> LiveMap:
        return self._write(self._writer.stop_map, name)

    def pause_map(self, name: str) -> LiveMap:
        return self._write(self._writer.pause_map, name)

    def resume_map(self, name: str) -> LiveMap:
        return self._write(self._writer.resume_map, name)

    def pause_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        return self._write(self._writer.pause_maps, names)

    def resume_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        return self._write(self._writer.resume_maps, names)

    def set_integration_keys(self, table: str, columns: Sequence[str]) -> bool:
        return self._write(self._writer.set_integration_keys, table, columns)

    def set_alerts(self, alerts: Sequence[AlertSetting]) -> bool:
        return self._write(self._writer.set_alerts, alerts)

    def reset_link(self, force: bool = False, legal_entities: Sequence[str] = ()) -> None:
        self._write(self._writer.reset_link, force, legal_entities)

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
        return self._write(
            self._writer.add_record,
            who=who,
            plan_hash=plan_hash,
            git_commit=git_commit,
            solution_versions=solution_versions,
            desired=desired,
            status=status,
            provenance=provenance,
        )

    def set_record_status(self, record_id: str, status: str) -> DeploymentRecord:
        return self._write(self._writer.set_record_status, record_id, status)

    # The lock: the keeper's business, passed through ------------------------------------------

    def acquire_lock(
        self, owner: str, operation: str, plan_id: str | None, ttl_seconds: float
    ) -> Lease:
        return self._writer.acquire_lock(owner, operation, plan_id, ttl_seconds)

    def renew_lock(self, lease_id: str, ttl_seconds: float) -> Lease:
        return self._writer.renew_lock(lease_id, ttl_seconds)

    def fence(self, lease_id: str | None) -> bool:
        return self._writer.fence(lease_id)

    def release_lock(self, lease_id: str) -> bool:
        return self._writer.release_lock(lease_id)

    def force_unlock(self, lease_id: str) -> Lease:
        return self._writer.force_unlock(lease_id)
