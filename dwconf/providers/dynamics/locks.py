"""dwconf's own rows in Dataverse: the lease (`dwconf_leases`, one row, alternate key
`dwconf_name='lock'`) and the deployment records (`dwconf_deploymentrecords`), ARCHITECTURE §6.

The lease is created with `If-None-Match: *` (412 while one exists) and renewed, taken over or
released with `If-Match: <etag>` of the row just read, so two dwconf runs never both win. An
expired lease is taken over by deleting its row and creating a new one, so every holding has
its own id. The refusals carry the live model's texts
(`LockHeld`, `LockNotFound`), rebuilt from the row.

A deployment record is a plain `POST`, which the transport never repeats once it may have been
sent. When its answer is lost (a dropped connection or a 504), the record is looked for by the
order stamp it carries before it is written again, so one apply leaves one record.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from dwconf.errors import LockHeldError, ProviderError
from dwconf.live import DeploymentRecord, Lease, Provenance
from dwconf.live.errors import InvalidRequest, LockHeld, LockNotFound
from dwconf.providers.dynamics import shapes
from dwconf.providers.dynamics.dataverse import Dataverse, Query, Row
from dwconf.providers.dynamics.errors import (
    ChangedSinceRead,
    TransportFailure,
    dumps,
    service_error,
)

LEASES = "dwconf_leases"
LEASE_BY_NAME = "dwconf_leases(dwconf_name='lock')"
RECORDS = "dwconf_deploymentrecords"
ACQUIRE_TRIES = 3  # reads of the lease when it changes hands between a read and a write
REPRESENTATION = {"Prefer": "return=representation"}
RECORD_TRIES = 3  # POSTs of one record at most: each again only after a look found none
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
log = logging.getLogger("dwconf.providers.dynamics")


def _etag(row: Row) -> str:
    return str(row.get("@odata.etag") or "*")


def _server_now(response: httpx.Response) -> datetime | None:
    value = response.headers.get("date")
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _expiry(ttl: float, now: datetime | None = None) -> dict[str, Any]:
    """The lease's lifetime as both columns: the TTL, and the expiry a plain table stores."""
    expires = (now or datetime.now(UTC)) + timedelta(seconds=ttl)
    return {"dwconf_ttlseconds": ttl, "dwconf_expireson": expires.isoformat()}


class Locks:
    def __init__(self, dataverse: Dataverse) -> None:
        self.dv = dataverse
        self._record_etags: dict[str, str] = {}
        self._record_texts: dict[str, Any] = {}  # the stored desired states, by record id

    # The lease ---------------------------------------------------------------------------------

    def _current(self, operation: str) -> tuple[Row | None, datetime | None]:
        response = self.dv.send(self.dv.request(operation, "GET", LEASES))
        if response.status_code != 200:
            raise service_error(response, operation)
        rows = response.json().get("value") or []
        return (rows[0] if rows else None), _server_now(response)

    def status(self) -> Lease | None:
        row, _ = self._current("read the lock")
        return shapes.lease(row) if row else None

    def _write(
        self, operation: str, method: str, path: str, body: Any, **headers: str
    ) -> httpx.Response:
        merged = {**REPRESENTATION, **headers}
        return self.dv.send(self.dv.request(operation, method, path, headers=merged, json=body))

    def acquire(self, owner: str, operation: str, plan_id: str | None, ttl: float) -> Lease:
        """The lease runs from the service's time (the Date header of the read before it), as
        its renewals and take-overs are judged: a machine whose clock is behind can't write a
        lease that others already see as expired. When the lease changes hands between the
        read and the write (taken, then released), the read is made again, a few times."""
        for _ in range(ACQUIRE_TRIES):
            row, now = self._current("take the lock")
            if now is None:
                log.warning("the service sent no Date header: the lease runs from this clock")
            body = {
                "dwconf_owner": owner,
                "dwconf_operation": operation,
                "dwconf_planid": plan_id,
                **_expiry(ttl, now),
            }
            taken = self._create(body) if row is None else self._take_over(row, now, body)
            if taken is not None:
                return taken
        raise LockHeldError(
            f"the environment's lock changed hands {ACQUIRE_TRIES} times while dwconf tried "
            "to take it",
            "run the command again, or wait for the lock with --lock-timeout",
        )

    def _take_over(self, row: Row, now: datetime | None, body: dict[str, Any]) -> Lease | None:
        """Someone holds a lease: it is taken over only if it has expired, judged by the
        service's clock (its Date header) so that clock skew on this machine can't steal it.
        The expired row is deleted and a new one made: a lease's id is its row's, and a holder
        that outlived its lease must find its id gone, not renew or release ours. None: the
        lease was released meanwhile (read again)."""
        what = "take over the lock"
        held = shapes.lease(row)
        if not held.is_expired(now or datetime.now(UTC)):
            raise LockHeld(held)
        path, headers = f"{LEASES}({held.id})", {"If-Match": _etag(row)}
        response = self.dv.send(self.dv.request(what, "DELETE", path, headers=headers))
        if response.status_code in (404, 412):  # renewed, released or taken meanwhile
            latest = self.status()
            if latest is None:
                return None
            raise LockHeld(latest)
        if response.status_code != 204:
            raise service_error(response, what)
        return self._create(body)

    def _create(self, body: dict[str, Any]) -> Lease | None:
        """The lease made, or None when another was made first and is already gone."""
        what = "take the lock"
        response = self._write(what, "PATCH", LEASE_BY_NAME, body, **{"If-None-Match": "*"})
        if response.status_code in (200, 201):
            return shapes.lease(response.json())
        if response.status_code != 412:
            raise service_error(response, what)
        latest = self.status()
        if latest is not None:
            raise LockHeld(latest)
        return None

    def renew(self, lease_id: str, ttl: float) -> Lease:
        what = "renew the lock"
        row, now = self._current(what)
        if row is None:
            raise LockNotFound(lease_id)
        held = shapes.lease(row)
        if held.id != lease_id:
            raise LockHeld(held)
        body = {"dwconf_owner": held.owner, **_expiry(ttl, now)}
        path = f"{LEASES}({held.id})"
        response = self._write(what, "PATCH", path, body, **{"If-Match": _etag(row)})
        if response.status_code == 200:
            return shapes.lease(response.json())
        if response.status_code in (404, 412):
            latest = self.status()
            raise LockHeld(latest) if latest else LockNotFound(lease_id)
        raise service_error(response, what)

    def _delete(self, lease_id: str, what: str) -> tuple[Lease | None, bool]:
        row, _ = self._current(what)
        held = shapes.lease(row) if row else None
        if row is None or held is None or held.id != lease_id:
            return held, False
        path, headers = f"{LEASES}({held.id})", {"If-Match": _etag(row)}
        response = self.dv.send(self.dv.request(what, "DELETE", path, headers=headers))
        if response.status_code in (404, 412):
            return held, False
        if response.status_code != 204:
            raise service_error(response, what)
        return held, True

    def release(self, lease_id: str) -> bool:
        return self._delete(lease_id, "release the lock")[1]

    def force_unlock(self, lease_id: str) -> Lease:
        held, removed = self._delete(lease_id, "force-unlock")
        if not removed or held is None:
            raise LockNotFound(lease_id)
        return held

    # Deployment records ----------------------------------------------------------------------

    def _remember(self, row: Row) -> DeploymentRecord:
        found, _ = shapes.record(row)
        self._record_etags[found.id] = _etag(row)
        if "dwconf_desired" in row:  # what a record holds never changes once written
            self._record_texts[found.id] = row["dwconf_desired"]
        return found

    def records(self, rows: list[Row]) -> None:
        """Remember the ETags (for `set_status`) and the desired states (for `desired`) of
        records read elsewhere."""
        for row in rows:
            self._remember(row)

    def desired(self, record_id: str) -> dict[str, Any]:
        """The desired state a record holds: as read with the records, else read now."""
        if record_id not in self._record_texts:
            if not GUID.match(record_id):
                raise InvalidRequest(f"There is no deployment record '{record_id}'.")
            what = f"read deployment record '{record_id}'"
            row = self.dv.row(what, f"{RECORDS}({record_id})")
            if row is None:
                raise InvalidRequest(f"There is no deployment record '{record_id}'.")
            self._remember(row)
        return shapes.record_desired({"dwconf_desired": self._record_texts[record_id]})

    def add(
        self,
        *,
        who: str,
        plan_hash: str,
        git_commit: str | None,
        solution_versions: dict[str, str],
        desired: dict[str, Any],
        status: str,
        provenance: Provenance | None = None,
    ) -> DeploymentRecord:
        order = time.time_ns()  # also what tells this record from any other
        # The table has no provenance column: it travels in the desired state's text, as the
        # order stamp does, so existing environments need no new column.
        extra = {shapes.PROVENANCE_KEY: provenance.as_dict()} if provenance else {}
        body = {
            "dwconf_who": who,
            "dwconf_planhash": plan_hash,
            "dwconf_gitcommit": git_commit,
            "dwconf_solutionversions": dumps(solution_versions),
            "dwconf_desired": dumps({**desired, shapes.ORDER_KEY: order, **extra}),
            "dwconf_status": status,
        }
        what = "write the deployment record"
        for _ in range(RECORD_TRIES):
            try:
                response = self._write(what, "POST", RECORDS, body)
            except TransportFailure as exc:
                if not exc.sent:
                    raise
                lost: ProviderError = exc
            else:
                if response.status_code == 201:
                    return self._remember(response.json())
                lost = service_error(response, what)
                if response.status_code != 504:
                    raise lost
            written = self._written(plan_hash, order)  # the answer was lost, maybe not the write
            if written is not None:
                return self._remember(written)
        raise lost

    def _written(self, plan_hash: str, order: int) -> Row | None:
        """The record of `plan_hash` carrying the order stamp `order`, if it was written."""
        quoted = plan_hash.replace("'", "''")
        query = Query(RECORDS, {"$filter": f"dwconf_planhash eq '{quoted}'"})
        rows = self.dv.rows("look for the deployment record just written", query)
        return next((r for r in rows if shapes.record(r)[1] == order), None)

    def set_status(self, record_id: str, status: str) -> DeploymentRecord:
        what = f"set the status of deployment record '{record_id}'"
        if not GUID.match(record_id):
            raise InvalidRequest(f"There is no deployment record '{record_id}'.")
        path = f"{RECORDS}({record_id})"
        etag = self._record_etags.get(record_id, "*")
        response = self._write(what, "PATCH", path, {"dwconf_status": status}, **{"If-Match": etag})
        if response.status_code == 200:
            return self._remember(response.json())
        if response.status_code == 412:
            raise ChangedSinceRead(what, f"PATCH {self.dv.url(path)}")
        if response.status_code == 404:
            raise InvalidRequest(f"There is no deployment record '{record_id}'.")
        raise service_error(response, what)
