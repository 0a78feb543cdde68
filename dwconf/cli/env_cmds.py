"""`dwconf env`: look at a live environment (show) and, for local demos, start it over (reset)."""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import click

from dwconf import providers
from dwconf.cli import boundary, console, params
from dwconf.cli.config_cmds import configuration_root
from dwconf.diagnostics import Severity
from dwconf.errors import DwconfError, RefusedError
from dwconf.jsonout import FORMAT_VERSION
from dwconf.live import AlertSetting, LiveMap, LiveState
from dwconf.load.project import Loader, settled
from dwconf.model import Environment
from dwconf.objects import alert_object


def _root(ctx: click.Context) -> Path:
    root: Path = ctx.obj
    if not root.is_dir():
        raise DwconfError(f"no such directory: {root}", "pass the configuration repository")
    return root


def _environment(root: Path, name: str) -> Environment:
    """The environment model called `name`; unknown names are refused with the known ones."""
    return settled(lambda careful: Loader.at(root, careful=careful).environment(name)).model


def _interactive() -> bool:
    return sys.stdin.isatty()


# env show ------------------------------------------------------------------------------------


def _map_document(live: LiveMap) -> dict[str, Any]:
    return {
        "name": live.name,
        "active_version": live.active_version,
        "state": live.state.value,
        "versions": list(live.versions),
        "master": live.master,
        "queued": live.queued,
        "last_error": live.last_error,
    }


def _alert_document(alert: AlertSetting) -> dict[str, Any]:
    return {k: v for k, v in alert_object(alert).items() if k != "kind"}


def state_document(env: Environment, state: LiveState) -> dict[str, Any]:
    """The live state as stable JSON: lists sorted by name, except the ordered link lists."""
    lease = state.lock
    return {
        "format_version": FORMAT_VERSION,
        "environment": env.name,
        "provider": env.provider.type,
        "fingerprint": state.fingerprint,
        "solutions": [
            {"unique_name": s.unique_name, "version": s.version, "managed": s.managed}
            for s in sorted(state.solutions, key=lambda s: s.unique_name)
        ],
        "maps": [_map_document(m) for m in sorted(state.maps, key=lambda m: m.name)],
        "integration_keys": {t: list(c) for t, c in sorted(state.integration_keys.items())},
        "legal_entities": list(state.legal_entities),
        "alerts": [_alert_document(a) for a in state.alerts],
        "lock": None if lease is None else {"id": lease.id, "owner": lease.owner},
        "records": len(state.records),
    }


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as aligned columns, indented under their section heading."""
    if not rows:
        return ["  (none)"]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(("  " + "  ".join([*cells, row[-1]])).rstrip())
    return lines


def _map_row(live: LiveMap) -> tuple[str, ...]:
    detail = live.state.label
    if live.queued:
        detail += f", {live.queued} queued"
    if live.last_error:
        detail += f", error: {live.last_error}"
    return (live.name, live.active_version or "-", detail)


def _alert_row(alert: AlertSetting) -> tuple[str, ...]:
    rule = f"{alert.threshold} {alert.error_type} error(s) in {alert.window_minutes} min"
    notify = f", notify {', '.join(alert.notify)}" if alert.notify else ""
    return (alert.name, rule, f"then {alert.action}{notify}")


def _section(title: str, rows: list[tuple[str, ...]]) -> list[str]:
    return ["", f"{title} ({len(rows)})", *_table(rows)]


def state_text(env: Environment, state: LiveState) -> str:
    """The live state for people: one sorted section per kind of object."""
    solutions = sorted(state.solutions, key=lambda s: s.unique_name)
    keys = sorted(state.integration_keys.items())
    lease = state.lock
    lines = [
        f"environment {env.name} (provider {env.provider.type})",
        f"fingerprint {state.fingerprint}",
        *_section("solutions", [(s.unique_name, s.version) for s in solutions]),
        *_section("maps", [_map_row(m) for m in sorted(state.maps, key=lambda m: m.name)]),
        *_section("integration keys", [(t, ", ".join(c)) for t, c in keys]),
        *_section("legal entities", [(c,) for c in sorted(state.legal_entities)]),
        *_section("alerts", [_alert_row(a) for a in sorted(state.alerts, key=lambda a: a.name)]),
        "",
        f"lock: {'none' if lease is None else f'{lease.owner} ({lease.operation}), {lease.id}'}",
        f"deployment records: {len(state.records)}",
    ]
    return "\n".join(lines) + "\n"


def show_environment(*, root: Path, name: str, fmt: str) -> int:
    env = _environment(root, name)
    with closing(providers.open_reader(root, env)) as reader:
        state = reader.read()
    if fmt == "json":
        console.data(state_document(env, state))
    else:
        console.plain(state_text(env, state))
    return 0


# env list ------------------------------------------------------------------------------------


def environments_in_stage_order(loader: Loader) -> list[Environment]:
    """Every environment that loads, in promotion order (`stages`), then by name."""
    settings = loader.settings()
    found = [spec.model for spec in loader.environments().values()]
    return sorted(found, key=lambda e: (settings.stage_rank(e.stage), e.name))


def _row(env: Environment) -> dict[str, str]:
    return {"name": env.name, "stage": env.stage, "provider": env.provider.type}


def environment_list(root: Path) -> list[dict[str, str]]:
    """Every environment as {name, stage, provider}, in stage order; an environment whose file
    has errors is left out (validate reports it)."""
    return [_row(e) for e in settled(lambda careful: _in_order(root, careful)[1])]


def _in_order(root: Path, careful: frozenset[str]) -> tuple[Loader, list[Environment]]:
    loader = Loader.at(root, careful=careful)
    return loader, environments_in_stage_order(loader)


def list_environments(*, root: Path, fmt: str) -> int:
    loader, found = settled(lambda careful: _in_order(root, careful))
    rows = [_row(e) for e in found]
    if fmt == "json":
        console.data({"format_version": FORMAT_VERSION, "environments": rows})
    else:
        table = _table([(r["name"], r["stage"], r["provider"]) for r in rows])
        console.plain("\n".join(line.removeprefix("  ") for line in table))
    broken = sorted(
        {
            d.span.file
            for d in loader.diagnostics
            if d.severity is Severity.ERROR and d.span.file.startswith("environments/")
        }
    )
    if broken:
        console.problem(
            f"left out environment files that have errors: {', '.join(broken)}",
            "run dwconf validate",
        )
        return 1
    return 0


# env reset -----------------------------------------------------------------------------------


def _confirm(name: str, path: Path, yes: bool) -> None:
    if yes:
        return
    if not _interactive():
        raise RefusedError(
            f"env reset deletes the local environment '{name}' and needs confirmation",
            hint=f"no terminal to ask on: pass --yes (dwconf env reset {name} --yes)",
        )
    question = (
        f"Delete {path} (its maps, link settings, deployment records and lock) and start "
        f"'{name}' over as a newly linked environment?"
    )
    if not click.confirm(question, default=False):
        raise DwconfError(f"reset of '{name}' cancelled; nothing was changed")


def _records(root: Path, env: Environment) -> str:
    """How many deployment records the reset deletes, in words."""
    try:
        with closing(providers.open_reader(root, env)) as reader:
            return f"{len(reader.records())} deployment record(s)"
    except DwconfError:  # a damaged file is what a reset is for: say so and go on
        return "deployment records that could not be read"


def reset_environment(*, root: Path, name: str, yes: bool) -> int:
    env = _environment(root, name)
    path = providers.local_state_path(root, env)
    _confirm(name, path, yes)
    if path.exists():
        said = (
            f"deleted the local environment with its maps, link settings and {_records(root, env)}"
        )
    else:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        said = f"there was no local environment yet ({shown}); nothing deleted"
    state = providers.reset_local(root, env)
    console.out.print(f"{name}: {said}", markup=False)
    console.out.print(
        f"{name}: fresh environment, {len(state.solutions)} solution(s), "
        f"{len(state.maps)} map(s); "
        f"fingerprint {state.fingerprint}",
        markup=False,
    )
    return 0


# Commands ------------------------------------------------------------------------------------


@click.group("env")
def env_group() -> None:
    """Look at live environments; start a local one over.

    \b
    Examples:
      dwconf env list
      dwconf env list --format json | jq -c '[.environments[].name]'
      dwconf env show dev
      dwconf env show dev --format json | jq .fingerprint
      dwconf env reset dev --yes
    """


@env_group.command("list")
@params.output_format("text", "json")
@click.pass_context
def list_command(ctx: click.Context, fmt: str) -> None:
    """List the configured environments in stage order: name, stage and provider.

    Reads only the configuration (no environment is reached), so a pipeline can build its
    matrix from it: one job per environment, each under that environment's own lock. Exit 1
    when an environment file has errors (the others are still listed).

    \b
    Examples:
      dwconf env list
      dwconf env list --format json
    """
    ctx.exit(boundary.run(lambda: list_environments(root=configuration_root(ctx.obj), fmt=fmt)))


@env_group.command("show")
@params.ENV
@params.output_format("text", "json")
@click.pass_context
def show_command(ctx: click.Context, env: str, fmt: str) -> None:
    """Print ENV's live state and its fingerprint.

    Installed solutions with versions, maps with active version and run state, integration
    keys, legal entities and alert settings. Reads only; nothing in the environment changes.

    \b
    Examples:
      dwconf env show dev
      dwconf env show prod --format json | jq '.maps[] | select(.state != "running") | .name'
    """
    ctx.exit(boundary.run(lambda: show_environment(root=_root(ctx), name=env, fmt=fmt)))


@env_group.command("reset")
@params.ENV
@click.option("--yes", is_flag=True, help="Don't ask; needed when there is no terminal.")
@click.pass_context
def reset_command(ctx: click.Context, env: str, yes: bool) -> None:
    """Start the local environment ENV over (for demos).

    Gives a newly linked environment pair, as on a fresh clone: deletes .dwconf/ENV.sqlite
    with its deployment records and lock. Refused while an unexpired lock is held, and for
    any provider other than local. Asks first on a terminal; elsewhere pass --yes.

    \b
    Examples:
      dwconf env reset dev
      dwconf env reset dev --yes && dwconf apply dev --auto-approve
    """
    ctx.exit(boundary.run(lambda: reset_environment(root=_root(ctx), name=env, yes=yes)))
