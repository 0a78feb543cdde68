"""`dwconf probe`: check that a real environment answers in the shapes dwconf expects."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import click

from dwconf import recording
from dwconf.cli import boundary, console, params
from dwconf.errors import DwconfError
from dwconf.planning import load_environment
from dwconf.providers.dynamics import DynamicsProvider
from dwconf.providers.dynamics.probe import Check, failed, probe

HEADINGS = ("surface", "call", "status", "finding")


def _table(checks: list[Check]) -> str:
    rows = [HEADINGS, *((c.surface, c.call, c.status, c.finding) for c in checks)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join([*(r[i].ljust(widths[i]) for i in range(3)), r[3]]).rstrip() for r in rows]
    return "\n".join(lines)


def _summary(env: str, checks: list[Check]) -> str:
    counts = {s: sum(1 for c in checks if c.status == s) for s in ("ok", "mismatch", "error")}
    if failed(checks):
        return (
            f"{env}: {counts['mismatch']} mismatch(es), {counts['error']} error(s) in "
            f"{len(checks)} calls."
        )
    return f"{env}: every answer has the shape dwconf expects ({counts['ok']} calls)."


def _record_folder(folder: Path) -> None:
    """An empty or new folder, or one holding an earlier recording (written over)."""
    if folder.exists() and any(folder.iterdir()) and not (folder / recording.MANIFEST).exists():
        raise DwconfError(
            f"{folder} is not empty and holds no recording",
            "give a new or empty folder (or one with an earlier recording, to replace it)",
        )


def run_probe(root: Path, env_name: str, record: Path | None, fmt: str) -> int:
    env = load_environment(root, env_name)
    if env.provider.type != "dynamics":
        raise DwconfError(
            f"{env_name} uses the embedded provider: there is no service to probe",
            "probe checks an environment with provider type dynamics (or the emulator)",
        )
    if record is not None:
        _record_folder(record)
    with closing(DynamicsProvider.open(root, env)) as provider:
        checks = probe(provider)
        host = provider.settings.finops_host
    if record is not None:
        made = [c.answer for c in checks if c.answer is not None]
        recording.write(record, env_name, host, made)
    if fmt == "json":
        document = {
            "environment": env_name,
            "ok": not failed(checks),
            "checks": [c.as_dict() for c in checks],
        }
        console.plain(json.dumps(document, indent=2))
    else:
        console.plain(_table(checks))
        console.plain("")
        console.plain(_summary(env_name, checks))
        if record is not None:
            console.err.print(f"Recorded {len(made)} answers in {record}.", markup=False)
    return 1 if failed(checks) else 0


@click.command("probe")
@params.ENV
@click.option(
    "--record",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each answer, redacted, to this folder (for `dwconf emulator serve --replay`).",
)
@params.output_format("text", "json")
@click.pass_context
def probe_command(ctx: click.Context, env: str, record: Path | None, fmt: str) -> None:
    """Check that ENV answers every read dwconf relies on in the shapes dwconf expects.

    Read-only: it reads the Dataverse tables and gateway resources the dynamics provider reads
    (the link, its maps, a project, a request's status, prerequisites, the connection set) and
    checks each answer. Exit 0 when every answer matches, 1 on a mismatch or a failed call.
    With --record, each answer is written to a folder (tokens, secrets, e-mail addresses and
    user names taken out; ids kept) that `dwconf emulator serve --replay` serves back.

    \b
    Examples:
      dwconf probe prod
      dwconf probe prod --format json
      dwconf probe prod --record fixtures/prod
    """
    ctx.exit(boundary.run(lambda: run_probe(ctx.obj, env, record, fmt)))
