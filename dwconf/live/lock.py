"""dwconf's own rows in the environment: the lock lease and the deployment records
(ARCHITECTURE §6). Neither is part of the live fingerprint.

The lease is create-only: acquiring fails while a lease that has not expired exists; an expired
one is taken over. It is renewed and released by its id, and removed by force with its id.
A write can be fenced by a lease id (`check_holder`, in the write's own transaction): it is
refused once another lease holds the lock or none does, so a holder that lost its lease
without knowing can't write after the next holder started.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from dwconf.live.errors import InvalidRequest, LeaseLost, LockHeld, LockNotFound
from dwconf.live.memo import Memo
from dwconf.live.state import DeploymentRecord, Lease, Provenance
from dwconf.live.store import Tx, dumps, loads, stamp, unstamp


def current(tx: Tx) -> Lease | None:
    row = tx.one("SELECT * FROM lock WHERE singleton = 1")
    if row is None:
        return None
    created, expires = unstamp(row["created"]), unstamp(row["expires"])
    assert created is not None and expires is not None
    return Lease(row["id"], row["owner"], row["operation"], row["plan_id"], created, expires)


def check_holder(tx: Tx, lease_id: str) -> None:
    """Refuse (`LeaseLost`) unless `lease_id` is the lease on the lock row. An expired lease
    nobody took over still holds: no one else can have written since."""
    held = current(tx)
    if held is None or held.id != lease_id:
        raise LeaseLost(lease_id, held)


def _write(tx: Tx, lease: Lease) -> Lease:
    tx.run(
        "INSERT OR REPLACE INTO lock (singleton, id, owner, operation, plan_id, created, expires)"
        " VALUES (1, ?, ?, ?, ?, ?, ?)",
        lease.id,
        lease.owner,
        lease.operation,
        lease.plan_id,
        stamp(lease.created),
        stamp(lease.expires),
    )
    return lease


def _ttl(seconds: float) -> timedelta:
    if seconds <= 0:
        raise InvalidRequest(f"A lock needs a positive time to live, not {seconds} s.")
    return timedelta(seconds=seconds)


def acquire(tx: Tx, owner: str, operation: str, plan_id: str | None, ttl_seconds: float) -> Lease:
    ttl = _ttl(ttl_seconds)
    held = current(tx)
    if held is not None and not held.is_expired(tx.now):
        raise LockHeld(held)
    return _write(tx, Lease(tx.new_id(), owner, operation, plan_id, tx.now, tx.now + ttl))


def renew(tx: Tx, lease_id: str, ttl_seconds: float) -> Lease:
    """Extend our lease; also after it expired, as long as nobody took it over."""
    ttl = _ttl(ttl_seconds)
    held = current(tx)
    if held is None:
        raise LockNotFound(lease_id)
    if held.id != lease_id:
        raise LockHeld(held)
    return _write(
        tx, Lease(held.id, held.owner, held.operation, held.plan_id, held.created, tx.now + ttl)
    )


def release(tx: Tx, lease_id: str) -> bool:
    """Drop our lease; False (and nothing removed) when it is no longer ours."""
    held = current(tx)
    if held is None or held.id != lease_id:
        return False
    tx.run("DELETE FROM lock WHERE singleton = 1")
    return True


def force_unlock(tx: Tx, lease_id: str) -> Lease:
    held = current(tx)
    if held is None or held.id != lease_id:
        raise LockNotFound(lease_id)
    tx.run("DELETE FROM lock WHERE singleton = 1")
    return held


# Every column but the desired state, which `desired_of` reads for one record; with its
# provenance, kept beside it (a table files written before it existed gain when next opened
# for writing: until then, `_select` leaves it out of the query).
_COLUMNS = "records.id, created, who, plan_hash, git_commit, solution_versions, status"
_RECORD = f"SELECT {_COLUMNS}, NULL AS provenance FROM records"
_RECORD_WITH_PROVENANCE = (
    f"SELECT {_COLUMNS}, record_provenance.data AS provenance FROM records "
    "LEFT JOIN record_provenance ON record_provenance.record_id = records.id"
)


def _select(tx: Tx) -> str:
    found = tx.one(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record_provenance'"
    )
    return _RECORD_WITH_PROVENANCE if found else _RECORD


def _record(row: Any) -> DeploymentRecord:
    created = unstamp(row["created"])
    assert created is not None
    return DeploymentRecord(
        id=row["id"],
        created=created,
        who=row["who"],
        plan_hash=row["plan_hash"],
        git_commit=row["git_commit"],
        solution_versions=loads(row["solution_versions"]),
        status=row["status"],
        provenance=Provenance.of(loads(row["provenance"])),
    )


def desired_of(tx: Tx, record_id: str) -> dict[str, Any]:
    """The desired state a deployment record holds."""
    row = tx.one("SELECT desired FROM records WHERE id = ?", record_id)
    if row is None:
        raise InvalidRequest(f"There is no deployment record '{record_id}'.")
    return dict(loads(row["desired"]) or {})


def records(tx: Tx, memo: Memo | None = None) -> tuple[DeploymentRecord, ...]:
    """Every record, oldest first."""
    rows = tx.all(f"{_select(tx)} ORDER BY seq")
    if memo is None:
        return tuple(_record(r) for r in rows)
    return tuple(memo.get(("record", tuple(r)), partial(_record, r)) for r in rows)


def add_record(
    tx: Tx,
    *,
    who: str,
    plan_hash: str,
    git_commit: str | None,
    solution_versions: dict[str, str],
    desired: dict[str, Any],
    status: str,
    provenance: Provenance | None = None,
) -> DeploymentRecord:
    record_id = tx.new_id()
    tx.run(
        "INSERT INTO records (id, created, who, plan_hash, git_commit, solution_versions,"
        " desired, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        record_id,
        stamp(tx.now),
        who,
        plan_hash,
        git_commit,
        dumps(solution_versions),
        dumps(desired),
        status,
    )
    if provenance is not None:
        tx.run(
            "INSERT INTO record_provenance (record_id, data) VALUES (?, ?)",
            record_id,
            dumps(provenance.as_dict()),
        )
    return _record(tx.one(f"{_select(tx)} WHERE records.id = ?", record_id))


def set_record_status(tx: Tx, record_id: str, status: str) -> DeploymentRecord:
    row = tx.one("SELECT id FROM records WHERE id = ?", record_id)
    if row is None:
        raise InvalidRequest(f"There is no deployment record '{record_id}'.")
    tx.run("UPDATE records SET status = ? WHERE id = ?", status, record_id)
    return _record(tx.one(f"{_select(tx)} WHERE records.id = ?", record_id))
