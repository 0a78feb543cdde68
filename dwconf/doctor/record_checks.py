"""Checks that compare live with dwconf's deployment records: alert settings that maps have not
picked up yet, and drift (live changed outside dwconf since its last successful apply).

The environment keeps no history of alert settings: it can't say when they changed. What it
does say is when each map last started (its last lifecycle request) and what dwconf wrote at
each apply (the records). So: alert settings that differ from the last record were changed
outside dwconf at an unknown time, and every map that runs may not have them; settings dwconf
changed at an apply are missing from maps that last started before the apply before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dwconf.doctor.model import Context, Finding, passed, skipped, warned
from dwconf.live import DeploymentRecord, LiveMap, RunState
from dwconf.objects import Object, solution_names
from dwconf.plan.diff import compared
from dwconf.plan.drift import find_drift
from dwconf.plan.live_view import live_objects

STARTS = ("start", "initial_sync")
Alerts = dict[str, Any]


def _succeeded(ctx: Context) -> list[DeploymentRecord]:
    return [r for r in ctx.state.records if r.status == "succeeded"]


def _alerts(objects: Mapping[str, Object]) -> Alerts:
    return {a: compared(o) for a, o in sorted(objects.items()) if o["kind"] == "alert"}


def _started(live: LiveMap) -> datetime | None:
    request = live.last_request
    if request is None or request.action not in STARTS:
        return None
    return request.created


def _restart_fix(names: Sequence[str]) -> str:
    return (
        "Alert settings take effect when a map starts: stop and run "
        + ", ".join(names)
        + " (in prerequisite order)."
    )


def _changed_by(
    records: list[DeploymentRecord], recorded: Mapping[str, Mapping[str, Any]]
) -> tuple[DeploymentRecord, datetime | None]:
    """The last record whose alert settings differ from the one before it, and when the record
    before it was made (the earliest the change can have happened; None: unknown)."""
    for i in range(len(records) - 1, 0, -1):
        if _alerts(recorded[records[i].id]) != _alerts(recorded[records[i - 1].id]):
            return records[i], records[i - 1].created
    return records[0], None


def _not_restarted(live: LiveMap, earliest: datetime) -> bool:
    started = _started(live)
    return started is None or started <= earliest


def _start_text(live: LiveMap) -> str:
    started = _started(live)
    if started is not None:
        return f"last started {started.isoformat()}"
    request = live.last_request
    last = f"its last request was {request.action}" if request else "it reports no request"
    return f"start time unknown ({last})"


def alert_restart(ctx: Context) -> list[Finding]:
    live = _alerts(live_objects(ctx.state, set()))
    active = [m for m in ctx.state.maps if m.state is not RunState.NOT_RUNNING]
    if not live or not active:
        return [passed("No running map waits for alert settings", f"{len(live)} alert setting(s)")]
    records = _succeeded(ctx)
    if not records:
        return [
            skipped(
                "Can't tell when the alert settings changed",
                "no deployment record to compare with, and the environment doesn't record when "
                "alert settings change",
            )
        ]
    last = records[-1]
    names = sorted(m.name for m in active)
    if _alerts(ctx.recorded[last.id]) != live:
        return [
            warned(
                "Alert settings changed outside dwconf; running maps may not have them",
                f"the alert settings differ from deployment record {last.id} "
                f"({last.created.isoformat()}); the environment doesn't record when they "
                "changed. Running: " + ", ".join(names),
                _restart_fix(names) + " Then put the settings in the configuration.",
            )
        ]
    record, earliest = _changed_by(records, ctx.recorded)
    if earliest is None:
        return [
            skipped(
                "Can't tell whether maps started before the alert settings",
                f"the settings came with dwconf's first apply here (deployment record "
                f"{record.id}), with the maps it started",
            )
        ]
    stale = [m for m in active if _not_restarted(m, earliest)]
    if not stale:
        return [passed("Running maps started after the alert settings last changed")]
    stale_names = sorted(m.name for m in stale)
    evidence = "; ".join(f"{m.name}: {_start_text(m)}" for m in sorted(stale, key=lambda m: m.name))
    return [
        warned(
            "Maps not restarted since the alert settings changed",
            f"deployment record {record.id} ({record.created.isoformat()}) changed the alert "
            f"settings; {evidence}",
            _restart_fix(stale_names),
        )
    ]


def deployment_drift(ctx: Context) -> list[Finding]:
    records = _succeeded(ctx)
    if not records:
        return [skipped("No deployment record to compare with", "dwconf has not applied here")]
    record = records[-1]
    desired = ctx.recorded[record.id]
    live = live_objects(ctx.state, solution_names(desired))
    changes = find_drift(desired, live)
    if not changes:
        return [passed("Live matches dwconf's last apply", f"deployment record {record.id}")]
    shown = ", ".join(f"{c.address} ({c.action.word})" for c in changes)
    return [
        warned(
            f"{len(changes)} object(s) changed outside dwconf since its last apply",
            f"against deployment record {record.id} ({record.created.isoformat()}): {shown}",
            f"See the details with dwconf drift {ctx.environment.name}; dwconf apply puts the "
            "configuration back, or change the configuration to keep what changed.",
        )
    ]
