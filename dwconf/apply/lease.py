"""The environment's lease for one apply (ARCHITECTURE §6).

Acquiring waits up to a timeout while someone else holds it (an expired lease is taken over by
the live model itself); a refusal names the owner, the operation and the age of their lease.
`apply --resume` takes over the lease of the apply it continues: that lease is its own, left
behind by a process that was killed, so waiting for it to expire would only waste minutes.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

from dwconf.errors import LockHeldError
from dwconf.live.state import Lease
from dwconf.providers.base import LiveWriter

RETRY_SECONDS = 1.0
OnWait = Callable[[Lease | None], None]


def duration(seconds: float) -> str:
    """A short human duration: 45s, 3m12s, 2h05m."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def describe(lease: Lease, now: datetime | None = None) -> str:
    """Who holds the lease, for what, for how long, and its id."""
    now = now or datetime.now(UTC)
    plan = f", plan {lease.plan_id}" if lease.plan_id else ""
    age = duration((now - lease.created).total_seconds())
    if lease.is_expired(now):
        left = "expired " + duration((now - lease.expires).total_seconds()) + " ago"
    else:
        left = "expires in " + duration((lease.expires - now).total_seconds())
    return f"{lease.owner} ({lease.operation}{plan}), held for {age}, {left}; lock ID {lease.id}"


def held_error(env: str, lease: Lease | None) -> LockHeldError:
    if lease is None:
        return LockHeldError(f"{env} is locked by someone else", "try again in a moment")
    return LockHeldError(
        f"{env} is locked by {describe(lease)}",
        "wait for it (--lock-timeout 5m), or if that apply is gone: "
        f"dwconf lock force-unlock {env} {lease.id}",
    )


def acquire(
    writer: LiveWriter,
    *,
    env: str,
    owner: str,
    operation: str,
    plan_id: str | None,
    ttl: float,
    timeout: float = 0.0,
    on_wait: OnWait | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease:
    """Take the lease, retrying for up to `timeout` seconds while someone else holds it."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            return writer.acquire_lock(owner, operation, plan_id, ttl)
        except LockHeldError as exc:
            held = getattr(exc, "lease", None) or writer.lock_status()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise held_error(env, held) from exc
            if on_wait and not told:
                on_wait(held)
                told = True
            sleep(min(RETRY_SECONDS, remaining))


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _other_alive(pid: int) -> bool:
    return pid != os.getpid() and process_alive(pid)


def take_over(writer: LiveWriter, env: str, begin: dict[str, object]) -> bool:
    """Remove the lease an interrupted apply left behind (recorded in its journal's `begin`
    event), unless that apply is still running on this machine. True when one was removed.

    It still runs when its process is alive and its lease is held and not expired: a process
    alive without that lease is another one that was given the same id later, or an apply
    that can no longer write (its fence stops it)."""
    held = writer.lock_status()
    if held is None or held.id != begin.get("lease"):
        return False
    pid, host = begin.get("pid"), begin.get("host")
    alive = isinstance(pid, int) and host == socket.gethostname() and _other_alive(pid)
    if alive and not held.is_expired(datetime.now(UTC)):
        raise LockHeldError(
            f"the apply to {env} being resumed is still running (process {pid})",
            "wait for it to finish, or stop it first",
        )
    writer.force_unlock(held.id)
    return True
