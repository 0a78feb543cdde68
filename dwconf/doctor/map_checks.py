"""Checks of the table maps at run time: errors, pauses and queues near the service's limits,
prerequisite maps that don't run, tables without an integration key (dual-write-domain §1.3,
§1.7, §1.10, §4, §6)."""

from __future__ import annotations

from datetime import datetime

from dwconf.doctor.fixes import fix_for
from dwconf.doctor.model import Context, Finding, failed, passed, warned
from dwconf.live import LiveMap, RunState

_MB = 1024 * 1024


def _active(live: LiveMap) -> bool:
    return live.state is not RunState.NOT_RUNNING


def map_errors(ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    for live in ctx.state.maps:
        request = live.last_request
        message = live.last_error or (
            request.error if request and request.state == "error" else None
        )
        if message is None and request is not None and request.state == "error":
            message = f"the last {request.action} request failed"
        if message is None:
            continue
        found.append(
            failed(
                f"{live.name} is in error",
                f"{live.name} ({live.state.label}): {message}",
                fix_for(message),
            )
        )
    return found or [passed("No map reports an error", f"{len(ctx.state.maps)} map(s)")]


def _days(since: datetime, now: datetime) -> float:
    return (now - since).total_seconds() / 86400


def _paused(ctx: Context, live: LiveMap) -> Finding | None:
    limits = ctx.limits
    if live.paused_since is None:
        return warned(
            f"{live.name} is paused since an unknown time",
            f"{live.name}: paused, the environment doesn't say since when",
            f"Resume it within {limits.pause_days:g} days of pausing: after that, records are "
            "blocked until someone resumes it.",
        )
    days = _days(live.paused_since, ctx.now)
    evidence = f"{live.name}: paused since {live.paused_since.isoformat()} ({days:.1f} days)"
    fix = (
        "Resume the map (dwconf apply with the map running, or Run in the Dual-write "
        f"workspace): a map may stay paused at most {limits.pause_days:g} days."
    )
    if days >= limits.pause_days:
        return failed(
            f"{live.name} is paused past the {limits.pause_days:g}-day limit", evidence, fix
        )
    if days >= limits.pause_warn_days:
        return warned(
            f"{live.name} is close to the {limits.pause_days:g}-day pause limit", evidence, fix
        )
    return None


def paused_maps(ctx: Context) -> list[Finding]:
    paused = [m for m in ctx.state.maps if m.state is RunState.PAUSED]
    found = [f for f in (_paused(ctx, m) for m in paused) if f is not None]
    return found or [passed("No map is paused near the 7-day limit", f"{len(paused)} paused")]


def _queued(ctx: Context, live: LiveMap) -> Finding | None:
    limits = ctx.limits
    estimate = live.queued * limits.bytes_per_record
    evidence = (
        f"{live.name}: {live.queued} queued record(s), about {estimate / _MB:.0f} MB of "
        f"{limits.queue_bytes / _MB:.0f} MB (estimate: {limits.bytes_per_record} bytes a record)"
    )
    fix = (
        "Resume the map so the queue is caught up: at 1 GB queued, dual-write blocks further "
        "records until someone resumes it."
    )
    if estimate >= limits.queue_bytes:
        return failed(f"{live.name} has about 1 GB of queued records", evidence, fix)
    if estimate >= limits.queue_warn_ratio * limits.queue_bytes:
        return warned(f"{live.name} is close to the 1 GB queue limit", evidence, fix)
    return None


def queued_records(ctx: Context) -> list[Finding]:
    queued = [m for m in ctx.state.maps if m.queued]
    found = [f for f in (_queued(ctx, m) for m in queued) if f is not None]
    total = sum(m.queued for m in queued)
    return found or [passed("No queue is near the 1 GB limit", f"{total} queued record(s)")]


def map_dependencies(ctx: Context) -> list[Finding]:
    states = {m.name: m.state for m in ctx.state.maps}
    found: list[Finding] = []
    for live in ctx.state.maps:
        if live.state is not RunState.RUNNING:
            continue
        definition = ctx.state.active_definition(live.name) or {}
        for dependency in definition.get("depends_on") or []:
            state = states.get(dependency)
            if state is RunState.RUNNING:
                continue
            shown = state.label if state is not None else "not in the link"
            found.append(
                failed(
                    f"{live.name} runs but {dependency} does not",
                    f"{live.name} depends on {dependency}, which is {shown}",
                    f"Run {dependency} (dwconf apply runs maps in prerequisite order); lookups "
                    f"to its rows fail while it doesn't run.",
                )
            )
    return found or [passed("Every running map's prerequisite maps run")]


def integration_keys(ctx: Context) -> list[Finding]:
    keyed = {t.lower() for t, columns in ctx.state.integration_keys.items() if columns}
    found: list[Finding] = []
    for live in ctx.state.maps:
        definition = ctx.state.active_definition(live.name)
        if definition is None:
            continue
        table = str(definition.get("dataverse_table", "")).lower()
        if table in keyed:
            continue
        make = failed if _active(live) else warned
        found.append(
            make(
                f"{table} has no integration key",
                f"{live.name} ({live.state.label}) maps {table}, which has no integration key",
                f"Set the integration key of {table} (integration_key: in the map, then dwconf "
                "apply, or Environment details > Integration key): the map's validation fails "
                "without it (DIPV1003).",
            )
        )
    return found or [passed("Every mapped table has an integration key")]
