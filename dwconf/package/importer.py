"""A live environment as configuration files (`dwconf import`): a pure function of the live state.

Maps are written at their active versions, grouped into solution folders by the installed
solution that carries them (the solution whose "apply" made the active version available);
the environment file gets the linked legal entities, the run states (`maps.default_state` is the
most common one, `maps.state` the exceptions), the alert settings and a pin per solution.
Integration keys go into the `integration_key` of the maps of their table. Custom fields the
maps use go into each solution's `schema/custom-fields.yaml` (custom_schema.py), so the files
validate. What the configuration can't say (a key of a table no map uses, a map without an
active version) is left out and reported as a note.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from dwconf import catalog as catalog_module
from dwconf.catalog import Catalog
from dwconf.errors import DwconfError
from dwconf.live import InstalledSolution, LiveMap, LiveState
from dwconf.model import Environment, Settings, Solution, TableMap
from dwconf.model.common import slug
from dwconf.model.environment import Alert
from dwconf.package.custom_schema import custom_schema
from dwconf.package.unpack import map_file_names
from dwconf.package.yamlout import Flow, document, environment_yaml, map_yaml, solution_yaml
from dwconf.plan.live_view import map_state

STATE_PREFERENCE = ("running", "stopped", "paused")
DEFAULT_PUBLISHER = "DefaultPublisher"
DEFAULT_PREFIX = "new"  # Dataverse's default publisher prefix and option value prefix
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,7}$")
_UNIQUE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Imported:
    """The files to write, by path relative to the output folder, and what was left out."""

    files: dict[str, str]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Map:
    live: LiveMap
    solution: str
    model: TableMap


# Choosing maps --------------------------------------------------------------------------------


def _depends_on(state: LiveState, name: str) -> list[str]:
    definition = state.active_definition(name) or {}
    return [str(d) for d in definition.get("depends_on") or []]


def _select(state: LiveState, wanted: Sequence[str], notes: list[str]) -> list[str]:
    """The maps to import: all, or `wanted` and the maps they depend on."""
    known = {m.name for m in state.maps}
    if not wanted:
        return sorted(known)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise DwconfError(
            f"the environment has no map named {', '.join(repr(n) for n in unknown)}",
            "known maps: " + (", ".join(sorted(known)) or "none"),
        )
    chosen, queue = set(wanted), list(wanted)
    while queue:
        for dependency in _depends_on(state, queue.pop()):
            if dependency in known and dependency not in chosen:
                chosen.add(dependency)
                queue.append(dependency)
                notes.append(f"map '{dependency}' imported too: a chosen map depends on it")
    return sorted(chosen)


def _with_key(model: TableMap, state: LiveState) -> TableMap:
    keys = {t.lower(): list(c) for t, c in state.integration_keys.items()}
    columns = keys.get(model.dataverse_table.lower())
    if columns is None or columns == model.integration_key:
        return model
    return model.model_copy(update={"integration_key": columns})


def _map(state: LiveState, live: LiveMap, notes: list[str]) -> _Map | None:
    if live.active_version is None:
        notes.append(f"map '{live.name}' left out: it has no active version")
        return None
    template = state.template(live.name, live.active_version)
    if template is None or state.solution(template.solution) is None:
        notes.append(
            f"map '{live.name}' left out: no installed solution carries its active version"
        )
        return None
    try:
        model = TableMap.model_validate(template.definition)
    except ValidationError as exc:
        notes.append(f"map '{live.name}' left out: its definition is not a dwconf map ({exc})")
        return None
    return _Map(live, template.solution, _with_key(model, state))


def _chosen_maps(state: LiveState, wanted: Sequence[str], notes: list[str]) -> list[_Map]:
    by_name = {m.name: m for m in state.maps}
    found = (_map(state, by_name[n], notes) for n in _select(state, wanted, notes))
    return [m for m in found if m is not None]


# Solutions ------------------------------------------------------------------------------------


def _publisher(installed: InstalledSolution) -> dict[str, Any]:
    unique = installed.publisher if _UNIQUE.match(installed.publisher) else DEFAULT_PUBLISHER
    letters = re.sub(r"[^a-z0-9]", "", unique.lower())[:8]
    prefix = letters if _PREFIX.match(letters) else DEFAULT_PREFIX
    return {"unique_name": unique, "prefix": prefix, "option_value_prefix": 10000}


def _solution(installed: InstalledSolution, depends_on: list[str]) -> Solution:
    return Solution.model_validate(
        {
            "unique_name": installed.unique_name,
            "version": installed.version,
            "publisher": _publisher(installed),
            "requires": dict(sorted(installed.requires.items())),
            "depends_on": depends_on,
        }
    )


def _carried_notes(installed: InstalledSolution, maps: list[_Map]) -> Iterable[str]:
    written = {(m.model.name, m.model.version) for m in maps}
    for component in installed.maps:
        if (component.name, component.version) not in written:
            yield (
                f"solution {installed.unique_name} also carries map '{component.name}' version "
                f"{component.version}, which is not imported: a plan shows the solution's content "
                "changing"
            )


def _folder_dependencies(maps: list[_Map], folders: dict[str, str]) -> dict[str, list[str]]:
    """Solution folder → the folders whose maps its maps depend on."""
    where = {m.model.name: folders[m.solution] for m in maps}
    found: dict[str, set[str]] = {f: set() for f in folders.values()}
    for m in maps:
        for dependency in m.model.depends_on:
            other = where.get(dependency)
            if other is not None and other != folders[m.solution]:
                found[folders[m.solution]].add(other)
    return {f: sorted(d) for f, d in found.items()}


# The environment file -------------------------------------------------------------------------


def _states(maps: list[_Map]) -> tuple[str, dict[str, str]]:
    states = {m.model.name: map_state(m.live) for m in maps}
    counts = Counter(states.values())
    default = max(STATE_PREFERENCE, key=lambda s: (counts[s], -STATE_PREFERENCE.index(s)))
    return default, {n: s for n, s in sorted(states.items()) if s != default}


def _alerts(state: LiveState, notes: list[str]) -> list[dict[str, Any]]:
    found = []
    for alert in state.alerts:
        data = {
            "name": alert.name,
            "error_type": alert.error_type,
            "threshold": alert.threshold,
            "window_minutes": alert.window_minutes,
            "action": alert.action,
            "notify": list(alert.notify or ()),  # unknown through the gateway
        }
        try:
            found.append(Alert.model_validate(data).model_dump(mode="json"))
        except ValidationError:
            notes.append(f"alert setting '{alert.name}' left out: dwconf can't express it")
    return found


def _environment(
    source: Environment, state: LiveState, maps: list[_Map], pins: dict[str, str], notes: list[str]
) -> Environment:
    default, overrides = _states(maps)
    data = source.model_dump(mode="json")
    data.update(
        link={"legal_entities": list(state.legal_entities)},
        solutions=pins,
        maps={
            "default_state": default,
            "state": overrides,
            "initial_sync": data["maps"]["initial_sync"],
        },
        alerts=_alerts(state, notes),
    )
    return Environment.model_validate(data)


def _key_notes(state: LiveState, maps: list[_Map]) -> Iterable[str]:
    tables = {m.model.dataverse_table.lower() for m in maps}
    for table in sorted(state.integration_keys):
        if table.lower() not in tables:
            yield f"integration key of '{table}' left out: no imported map uses that table"


# Files ----------------------------------------------------------------------------------------


def _solution_files(
    folder: str, solution: Solution, maps: list[_Map], header: list[str], known: Catalog
) -> tuple[dict[str, str], list[str]]:
    note = "The live API doesn't show the publisher's prefixes: check publisher below."
    files = {f"solutions/{folder}/solution.yaml": solution_yaml(solution, [*header, note])}
    names = map_file_names(m.model.name for m in maps)
    for m in sorted(maps, key=lambda m: m.model.name):
        files[f"solutions/{folder}/{names[m.model.name]}"] = map_yaml(m.model, header)
    schema, notes = custom_schema(folder, (m.model for m in maps), known, header)
    return {**files, **schema}, notes


def settings_yaml(settings: Settings, stage: str) -> str:
    stages = list(settings.stages) if stage in settings.stages else [*settings.stages, stage]
    return document({"project": settings.project, "stages": Flow(stages)}, rendered=False)


def import_environment(
    source: Environment,
    state: LiveState,
    *,
    maps: Sequence[str] = (),
    settings: Settings | None = None,
    pin_installed: bool = False,
    catalog: Catalog | None = None,
) -> Imported:
    """The configuration files that describe `state` (the live state of `source`). `catalog`
    describes custom fields the maps use (default: the standard catalog, which doesn't)."""
    notes: list[str] = []
    known = catalog if catalog is not None else catalog_module.standard()
    chosen = _chosen_maps(state, maps, notes)
    by_solution: dict[str, list[_Map]] = {}
    for m in chosen:
        by_solution.setdefault(m.solution, []).append(m)
    folders = {name: slug(name) for name in sorted(by_solution)}
    depends = _folder_dependencies(chosen, folders)
    header = [f"Imported by dwconf import from environment {source.name}."]
    files: dict[str, str] = {}
    if settings is not None:
        files["dwconf.yaml"] = settings_yaml(settings, source.stage)
    pins: dict[str, str] = {}
    comments: dict[str, str] = {}
    for name, folder in folders.items():
        installed = state.solution(name)
        assert installed is not None  # `_map` keeps only maps of installed solutions
        written, schema_notes = _solution_files(
            folder, _solution(installed, depends[folder]), by_solution[name], header, known
        )
        files.update(written)
        notes.extend(schema_notes)
        notes.extend(_carried_notes(installed, by_solution[name]))
        pins[folder] = installed.version if pin_installed else "workspace"
        comments[folder] = f"installed {installed.version}"
    notes.extend(_key_notes(state, chosen))
    environment = _environment(source, state, chosen, pins, notes)
    files[f"environments/{source.name}.yaml"] = environment_yaml(environment, header, comments)
    return Imported(dict(sorted(files.items())), tuple(notes))
