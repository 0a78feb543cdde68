"""Bridges to the Dynamics world: `dwconf package`, `dwconf unpack`, `dwconf import` and
`dwconf doctor`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import click

from dwconf.catalog import Catalog
from dwconf.cli import boundary, console, params
from dwconf.diagnostics import Severity
from dwconf.doctor import Context, Limits, diagnose, recorded_states, requirements_of
from dwconf.doctor import output as doctor_output
from dwconf.errors import ConfigError, DwconfError
from dwconf.load.project import EnvSpec, Loader, Project, SolutionSpec, settled
from dwconf.model import Environment, Settings
from dwconf.model.common import slug
from dwconf.package import ZipLimits, build_zip, file_name, read_zip, with_version
from dwconf.package.importer import import_environment
from dwconf.package.unpack import unpack_files
from dwconf.package.writing import trusted_base, write_files
from dwconf.providers import local, open_reader


def _root(ctx: click.Context) -> Path:
    root: Path = ctx.obj
    if not root.is_dir():
        raise DwconfError(f"no such directory: {root}", "pass the configuration repository")
    return root


def _env_spec(loader: Loader, name: str) -> EnvSpec:
    return loader.environment(name)


def _say(line: str) -> None:
    console.out.print(line, markup=False)


# package -------------------------------------------------------------------------------------


def _workspace(spec: EnvSpec) -> EnvSpec:
    """The environment with every pin on the working tree: packages are built from the files."""
    pins = dict.fromkeys(spec.model.solutions, "workspace")
    return EnvSpec(spec.doc, spec.model.model_copy(update={"solutions": pins}))


def _solution_spec(loader: Loader, project: Project, folder: str) -> SolutionSpec:
    spec = project.solutions.get(folder)
    if spec is None:
        known = ", ".join(sorted(project.solutions)) or "none"
        raise DwconfError(f"no solution folder solutions/{folder}", f"known solutions: {known}")
    where = f"solutions/{folder}"
    errors = [
        d
        for d in loader.diagnostics
        if d.severity is Severity.ERROR
        and (d.span.file == where or d.span.file.startswith(where + "/"))
    ]
    if errors:
        raise ConfigError(errors)
    if spec.model is None:
        raise DwconfError(f"{where}/solution.yaml is missing or invalid", "run dwconf validate")
    return spec


def _templated(spec: SolutionSpec) -> bool:
    docs = [spec.doc, *(m.doc for m in spec.maps)]
    return any(doc is not None and doc.templates for doc in docs)


def _dependencies(project: Project, spec: SolutionSpec) -> dict[str, str]:
    assert spec.model is not None
    found = {}
    for folder in spec.model.depends_on:
        other = project.solutions.get(folder)
        if other is not None and other.model is not None:
            found[other.model.unique_name] = other.model.version
    return found


def _package_inputs(loader: Loader, folder: str, env: str | None) -> tuple[Project, SolutionSpec]:
    project = loader.project(_workspace(_env_spec(loader, env)) if env else None)
    return project, _solution_spec(loader, project, folder)


def run_package(
    *, root: Path, folder: str, version: str | None, managed: bool, out: Path, env: str | None
) -> int:
    project, spec = settled(
        lambda careful: _package_inputs(Loader.at(root, careful=careful), folder, env)
    )
    if env is None and _templated(spec):
        raise DwconfError(
            f"solutions/{folder} uses templates, which render per environment",
            f"pass --env to render them: dwconf package {folder} --env dev",
        )
    assert spec.model is not None
    solution = with_version(spec.model, version)
    maps = [m.model for m in spec.maps]
    data = build_zip(solution, maps, managed=managed, dependencies=_dependencies(project, spec))
    path = out / file_name(solution)
    write_files(trusted_base(root, out), out, {path.name: data}, force=True)
    console.plain(f"{hashlib.sha256(data).hexdigest()}  {path}")
    return 0


@click.command("package")
@click.argument("solution")
@click.option("--version", "version", metavar="V", help="Package at this four-part version.")
@click.option(
    "--managed/--unmanaged",
    default=True,
    show_default=True,
    help="A managed solution (recommended for test and prod) or an unmanaged one.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the zip (default: dist/ in the project).",
)
@click.option("--env", metavar="ENV", help="Render templated values for this environment.")
@click.pass_context
def package_command(
    ctx: click.Context,
    solution: str,
    version: str | None,
    managed: bool,
    out: Path | None,
    env: str | None,
) -> None:
    """Build the Dataverse solution zip of SOLUTION (a folder under solutions/).

    Writes dist/<UniqueName>_<version>.zip and prints its sha256 and path. The same files
    give the same bytes, so CI can compare artifacts.

    \b
    Examples:
      dwconf package contoso-reference-maps
      dwconf package contoso-reference-maps --version 1.0.0.7 --unmanaged --out build/
      dwconf package contoso-customer-maps --env prod     # values with templates need an env
    """

    def body() -> int:
        root = _root(ctx)
        target = out if out is not None else root / "dist"
        return run_package(
            root=root, folder=solution, version=version, managed=managed, out=target, env=env
        )

    ctx.exit(boundary.run(body))


# unpack --------------------------------------------------------------------------------------


def _write_files(
    root: Path, out: Path, files: Mapping[str, str], force: bool, replace: tuple[str, ...]
) -> None:
    done = write_files(trusted_base(root, out), out, files, force=force, replace=replace)
    for path in done.removed:
        _say(f"removed {path}")
    for path in done.written:
        _say(f"wrote {path}")
    for path in done.kept:
        _say(f"kept {path}: dwconf did not write it; delete it if it is no longer wanted")


def _read_archive(path: Path) -> bytes:
    try:
        if path.stat().st_size > ZipLimits().max_total_bytes:
            raise DwconfError(f"{path} is larger than any solution zip dwconf reads")
        return path.read_bytes()
    except OSError as exc:
        raise DwconfError(f"cannot read {path}: {exc.strerror}") from None


def _folders(root: Path, exclude: str) -> dict[str, str]:
    """The repository's solution folders by unique name (but `exclude`, the one unpacked)."""
    project = settled(lambda careful: Loader.at(root, careful=careful).project())
    return {
        spec.model.unique_name: folder
        for folder, spec in project.solutions.items()
        if spec.model is not None and spec.model.unique_name != exclude
    }


def run_unpack(*, root: Path, archive: Path, out: Path | None, force: bool) -> int:
    content = read_zip(_read_archive(archive))
    unique = content.solution.unique_name
    target = out if out is not None else root / "solutions" / slug(unique)
    files = unpack_files(content, archive.name, _folders(root, unique))
    _write_files(root, target, files, force, ("maps",))
    for note in content.notes:
        _say(f"note: {note}")
    return 0


@click.command("unpack")
@click.argument("archive", metavar="ZIP", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The solution folder to write (default: solutions/<unique name as a slug>).",
)
@click.option("--force", is_flag=True, help="Overwrite the folder's solution.yaml and maps.")
@click.pass_context
def unpack_command(ctx: click.Context, archive: Path, out: Path | None, force: bool) -> None:
    """Write a Dataverse solution zip as a dwconf solution folder.

    Reads solution.xml and the dual-write maps in customizations.xml (from dwconf package or
    from a Dataverse export) and writes solution.yaml and one maps/<slug>.yaml per map.
    Hostile zips (unsafe paths, zip bombs, XML entities) are refused.

    \b
    Examples:
      dwconf unpack dist/contoso_CustomerMaps_1_4_0_0.zip --out solutions/contoso-customer-maps
      dwconf unpack ~/Downloads/MyCustomTableMaps_1_0_0_2_managed.zip
    """
    ctx.exit(
        boundary.run(lambda: run_unpack(root=_root(ctx), archive=archive, out=out, force=force))
    )


# import --------------------------------------------------------------------------------------


def run_import(
    *,
    root: Path,
    env: str,
    out: Path,
    maps: tuple[str, ...],
    force: bool,
    pin_installed: bool,
) -> int:
    def configured(careful: frozenset[str]) -> tuple[Environment, Settings | None, Catalog]:
        loader = Loader.at(root, careful=careful)
        settings = None if (out / "dwconf.yaml").exists() else loader.settings()
        return _env_spec(loader, env).model, settings, loader.catalog()

    model, settings, catalog = settled(configured)
    with closing(open_reader(root, model)) as reader:
        state = reader.read()
    imported = import_environment(
        model,
        state,
        maps=maps,
        settings=settings,
        pin_installed=pin_installed,
        catalog=catalog,
    )
    solutions = tuple(sorted({p.rsplit("/", 1)[0] for p in imported.files if "/maps/" in p}))
    _write_files(root, out, imported.files, force, solutions)
    for note in imported.notes:
        _say(f"note: {note}")
    if model.provider.type == "local" and out.resolve() != root.resolve():
        source, target = local.state_path(root, env), local.state_path(out, env)
        _say(
            f"note: {env} is an embedded environment ({source}); copy it to {target} for "
            f"dwconf plan {env} in {out} to read the same environment (else it starts fresh)"
        )
    return 0


@click.command("import")
@params.ENV
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The repository to write into (default: the project directory).",
)
@click.option("--maps", "maps", multiple=True, metavar="NAME", help="Only this map (repeatable).")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.option(
    "--pin-installed",
    is_flag=True,
    help="Pin the installed solution versions (needs release tags) instead of workspace.",
)
@click.pass_context
def import_command(
    ctx: click.Context,
    env: str,
    out: Path | None,
    maps: tuple[str, ...],
    force: bool,
    pin_installed: bool,
) -> None:
    """Write the configuration of a live environment ENV as YAML.

    Reads ENV (never writes it) and writes its maps at their active versions, grouped into
    solutions by the installed solution that carries them, each solution.yaml, the custom
    fields the maps use (solutions/<s>/schema/custom-fields.yaml, typed where this repository
    describes them, `unknown` otherwise), and environments/ENV.yaml with the legal entities,
    integration keys, run states, alert settings and solution pins. `dwconf validate` passes and
    `dwconf plan ENV` right after shows no changes (an embedded environment lives in the
    project's .dwconf/: with --out elsewhere, copy it there as the note says).

    \b
    Examples:
      dwconf import dev --out ../contoso-dualwrite
      dwconf import prod --out imported/ --maps 'Customers V3 (accounts)'
    """

    def body() -> int:
        root = _root(ctx)
        return run_import(
            root=root,
            env=env,
            out=out if out is not None else root,
            maps=maps,
            force=force,
            pin_installed=pin_installed,
        )

    ctx.exit(boundary.run(body))


# doctor --------------------------------------------------------------------------------------


def run_doctor(
    *, root: Path, env: str, fmt: str, limits: Limits, now: datetime | None = None
) -> int:
    def configured(careful: frozenset[str]) -> tuple[EnvSpec, Project]:
        loader = Loader.at(root, careful=careful)
        spec = _env_spec(loader, env)
        return spec, loader.project(spec)

    spec, project = settled(configured)
    pinned = [project.solutions[f].model for f in spec.model.solutions if f in project.solutions]
    with closing(open_reader(root, spec.model)) as reader:
        state = reader.read()
        recorded = recorded_states(state, reader)
    context = Context(
        environment=spec.model,
        state=state,
        now=now or datetime.now(UTC),
        requirements=requirements_of(s for s in pinned if s is not None),
        limits=limits,
        recorded=recorded,
    )
    report = diagnose(context)
    render = doctor_output.as_json if fmt == "json" else doctor_output.text
    console.plain(render(report).rstrip("\n"))
    return report.exit_code


@click.command("doctor")
@params.ENV
@params.output_format("text", "json")
@click.option(
    "--pause-warn-days",
    type=click.FloatRange(0, 7),
    default=Limits.pause_warn_days,
    show_default=True,
    help="Warn about maps paused this long (the service's limit is 7 days).",
)
@click.option(
    "--bytes-per-record",
    type=click.IntRange(1),
    default=Limits.bytes_per_record,
    show_default=True,
    help="Estimated size of a queued record, for the 1 GB queue limit.",
)
@click.pass_context
def doctor_command(
    ctx: click.Context, env: str, fmt: str, pause_warn_days: float, bytes_per_record: int
) -> None:
    """Check ENV against the dual-write troubleshooting guides (reads only).

    Each check reports pass, warn or fail with the guides' code where there is one, the
    evidence and the fix: core solution, required solution versions, Prospect to Cash, the
    packages Field Service and Project Operations need, legal entities, maps in error, pauses
    and queues near the 7-day and 1 GB limits, prerequisite maps, integration keys, alert
    settings maps have not picked up, and drift since dwconf's last apply.
    Exit 0 when all pass, 1 when any fails, 2 with warnings only.

    \b
    Examples:
      dwconf doctor prod
      dwconf doctor prod --format json
      dwconf doctor test --pause-warn-days 3 --bytes-per-record 8192
    """
    limits = Limits(pause_warn_days=pause_warn_days, bytes_per_record=bytes_per_record)
    ctx.exit(boundary.run(lambda: run_doctor(root=_root(ctx), env=env, fmt=fmt, limits=limits)))


COMMANDS = (package_command, unpack_command, import_command, doctor_command)
