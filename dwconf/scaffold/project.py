"""`dwconf init`: a new configuration repository that validates and applies at once.

The files come from `scaffold/files/` (package data). Text files are `string.Template`s; the
pipelines are copies of this repository's own, where only the line that says how dwconf is
installed differs (`DWCONF_PACKAGE`). Nothing is ever deleted or overwritten: a folder that
holds anything is refused, and with `force` only the files that do not exist yet are written.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path

from dwconf import __version__
from dwconf.errors import DwconfError
from dwconf.model.common import slug
from dwconf.model.environment import legal_entity_problem
from dwconf.scaffold import templates
from dwconf.schema import schemas

DEFAULT_TEMPLATES = ("Legal entities (cdm_companies)", "Currencies (transactioncurrencies)")
CI_SYSTEMS = {"github": ".github/workflows", "azure-devops": "azure-pipelines", "none": ""}
MAP_MODELINE = "# yaml-language-server: $schema=../../../schemas/map.schema.json\n"
PACKAGE_LINE = re.compile(r'^(\s*DWCONF_PACKAGE:\s*)"[^"]*".*$', re.MULTILINE)

_ENVIRONMENTS = {
    "dev": ("DEV: the working tree runs here first.", "", "run", "none", "false"),
    "test": ("TEST: what dev ran successfully.", "promote_from: dev\n", "run", "pause", "false"),
    "prod": (
        "PROD: what test ran successfully; removing a map, field or key needs --allow-destroy.",
        "promote_from: test\n",
        "skip",
        "pause",
        "true",
    ),
}


@dataclass(frozen=True)
class InitOptions:
    """What `dwconf init` was asked for."""

    target: Path
    ci: str = "github"
    template_names: tuple[str, ...] = DEFAULT_TEMPLATES
    solution: str = "core-maps"
    legal_entities: tuple[str, ...] = ("USMF",)
    force: bool = False


def files_root() -> Traversable:
    return resources.files("dwconf.scaffold") / "files"


def requirement() -> str:
    """How the new repository installs the dwconf that made it."""
    return f"dwconf=={__version__}"


def home_page() -> str:
    """The project's home page as the installed package declares it (`[project.urls]`)."""
    entries: list[str] = metadata.metadata("dwconf").get_all("Project-URL") or []
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "homepage":
            return url.strip()
    raise DwconfError(
        "the installed dwconf declares no home page",
        "reinstall dwconf (pip install --force-reinstall dwconf)",
    )


def _fill(file_name: str, **values: str) -> str:
    text = (files_root() / file_name).read_text(encoding="utf-8")
    return string.Template(text).substitute(values)


def pipeline_text(text: str) -> str:
    """A pipeline of this repository as a configuration repository uses it: dwconf installed
    from the package, at the version that wrote it."""
    note = "  # the dwconf that wrote this file; raise it to upgrade"
    return PACKAGE_LINE.sub(lambda m: f'{m.group(1)}"{requirement()}"{note}', text)


def pipelines(ci: str) -> dict[str, str]:
    """Relative path -> text of the pipelines of one CI system."""
    if ci == "none":
        return {}
    folder = files_root() / ci
    return {
        f"{CI_SYSTEMS[ci]}/{entry.name}": pipeline_text(entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yml")
    }


def _environment(project: str, name: str, options: InitOptions) -> str:
    title, promote_from, initial_sync, action, prevent = _ENVIRONMENTS[name]
    return _fill(
        "environment.yaml.tmpl",
        title=title,
        name=name,
        project=project,
        promote_from=promote_from,
        legal_entities=", ".join(options.legal_entities),
        solution=options.solution,
        initial_sync=initial_sync,
        alert_action=action,
        prevent_destroy=prevent,
    )


def _maps(names: Sequence[str]) -> dict[str, str]:
    chosen = [templates.find(n) for n in dict.fromkeys(names)]
    tables = {t.name: t.dataverse_table.lower() for t in chosen}
    return {
        t.file_name: MAP_MODELINE + templates.map_text(t, templates.dependencies(t, tables))
        for t in chosen
    }


def project_files(options: InitOptions, project: str) -> dict[str, str]:
    """Every file of the new repository, by relative path."""
    name = re.sub(r"[^a-z0-9]", "", project) or "dw"
    words = [w.capitalize() for w in options.solution.split("-") if w]
    solution_dir = f"solutions/{options.solution}"
    ci_line = (
        f"`{CI_SYSTEMS[options.ci]}/` — pull-request review, deploy and drift "
        "pipelines; how to give them their sign-in is in dwconf's docs/gitops.md and "
        "docs/azure-devops.md (below)."
        if options.ci != "none"
        else "No CI pipelines yet: `dwconf init --ci github|azure-devops` writes them."
    )
    files = {
        "dwconf.yaml": _fill("dwconf.yaml.tmpl", project=project),
        f"{solution_dir}/solution.yaml": _fill(
            "solution.yaml.tmpl",
            unique_name=f"{name[:8]}_{''.join(words)}",
            display_name=" ".join([project, *words]),
            solution=options.solution,
            publisher=name,
            prefix=name[:3] if len(name) >= 2 else "new",
        ),
        "README.md": _fill(
            "README.md.tmpl",
            project=project,
            solution=options.solution,
            requirement=requirement(),
            ci_line=ci_line,
            home_page=home_page(),
        ),
        ".pre-commit-config.yaml": _fill("pre-commit-config.yaml.tmpl", requirement=requirement()),
        ".gitignore": _fill("gitignore.tmpl"),
    }
    for env in _ENVIRONMENTS:
        files[f"environments/{env}.yaml"] = _environment(project, env, options)
    for file_name, text in _maps(options.template_names).items():
        files[f"{solution_dir}/maps/{file_name}"] = text
    for file_name, schema in schemas().items():
        files[f"schemas/{file_name}"] = json.dumps(schema, indent=2) + "\n"
    files.update(pipelines(options.ci))
    return files


def _check_target(options: InitOptions) -> None:
    target = options.target
    if target.exists() and not target.is_dir():
        raise DwconfError(f"{target} exists and is not a folder", "choose another folder")
    if not target.exists() or options.force:
        return
    present = sorted(p.name for p in target.iterdir() if p.name != ".git")
    if present:
        shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
        raise DwconfError(
            f"{target} is not empty ({shown})",
            "choose an empty folder, or pass --force to add the missing files "
            "(nothing is overwritten or deleted)",
        )


def init(options: InitOptions) -> tuple[list[Path], list[Path]]:
    """Write the new repository; returns (written, kept) paths. Existing files are kept."""
    if options.ci not in CI_SYSTEMS:
        raise DwconfError(f"unknown CI system '{options.ci}'", f"one of {', '.join(CI_SYSTEMS)}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", options.solution):
        raise DwconfError(
            f"'{options.solution}' is not a solution folder name",
            "use lowercase letters, digits and '-' (e.g. core-maps)",
        )
    for code in options.legal_entities:
        problem = legal_entity_problem(code)
        if problem is not None:
            raise DwconfError(problem[0], f"--legal-entity: {problem[1]}")
    _check_target(options)
    project = slug(options.target.resolve().name) or "dual-write"
    files = project_files(options, project)
    written: list[Path] = []
    kept: list[Path] = []
    for relative, text in files.items():
        path = options.target / relative
        if path.exists():
            kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written, kept
