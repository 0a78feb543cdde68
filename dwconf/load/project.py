"""From parsed files to validated models: one `Project` per environment rendering.

Documents without templates are validated once and shared by every environment's project;
templated documents are rendered with each environment's context first.

A solution an environment pins to a released version is read from its release tag
(`<folder>/v<version>`, ARCHITECTURE §7), once per tag; `workspace` pins read the loader's own
tree (the working tree, or the revision `Loader.at` was given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dwconf import catalog as catalog_module
from dwconf.catalog import Catalog
from dwconf.diagnostics import Diagnostic, Severity
from dwconf.errors import (
    ConfigError,
    DwconfError,
    NotAConfigurationError,
    UnknownEnvironmentError,
)
from dwconf.git import FileTree, Release, Releases, Repository
from dwconf.load.errors import model_errors
from dwconf.load.sources import (
    YAML_SUFFIXES,
    SolutionFiles,
    Sources,
    is_configuration,
    read_solution,
    read_sources,
)
from dwconf.model import Environment, Settings, Solution, TableMap
from dwconf.model.common import FOUR_PART
from dwconf.model.schema import SchemaFile
from dwconf.templating import context_for, render_document
from dwconf.yaml import Disagreement, Document

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class MapSpec:
    solution: str
    doc: Document
    model: TableMap

    @property
    def address(self) -> str:
        return self.model.address

    @property
    def shared(self) -> bool:
        """The same for every environment: its file has no templated value."""
        return not self.doc.templates


@dataclass(frozen=True)
class SolutionSpec:
    folder: str
    doc: Document | None
    model: Solution | None
    maps: tuple[MapSpec, ...]
    release: Release | None = None  # the tag the files were read from; None: the loader's tree

    @property
    def source(self) -> str:
        """`workspace`, or the commit of the release the files were read from."""
        return self.release.commit if self.release else "workspace"


@dataclass(frozen=True)
class EnvSpec:
    doc: Document
    model: Environment

    @property
    def name(self) -> str:
        return self.model.name


@dataclass
class Project:
    """The configuration as models, rendered for one environment (or for none)."""

    root: Path
    settings: Settings
    settings_doc: Document | None
    environments: dict[str, EnvSpec]
    solutions: dict[str, SolutionSpec]
    catalog: Catalog
    environment: EnvSpec | None = None
    releases: Releases | None = None  # resolved when the environment pins released versions
    broken_maps: frozenset[str] = frozenset()  # names of map files that did not load
    broken_schemas: frozenset[str] = frozenset()  # schema files that did not load
    # solution.yaml and map files that did not load: what they define is missing from `maps()`
    broken_files: frozenset[str] = frozenset()

    def maps(self) -> list[MapSpec]:
        return [m for s in self.solutions.values() for m in s.maps]


@dataclass
class Loader:
    """Builds projects from one set of sources, caching what does not depend on the environment."""

    sources: Sources
    diagnostics: list[Diagnostic] = field(default_factory=list)
    careful: frozenset[str] = frozenset()  # files the fast YAML reader read wrongly
    # Made once, by the displayed path of the file (unique: a release's files carry its tag).
    _models: dict[tuple[str, str], Any] = field(default_factory=dict)
    _catalogs: dict[tuple[str, ...], Catalog] = field(default_factory=dict)
    _specs: dict[str, MapSpec] = field(default_factory=dict)
    _releases: Releases | None = None
    _tagged: dict[str, SolutionFiles] = field(default_factory=dict)

    @classmethod
    def at(
        cls,
        root: Path,
        revision: str | None = None,
        *,
        tree: FileTree | None = None,
        careful: frozenset[str] = frozenset(),
    ) -> Loader:
        """The configuration at `root`: its working tree (or `tree`), or its files at a git
        `revision`. Files named in `careful` are read by the careful YAML reader only (see
        `settled`)."""
        if revision is None:
            sources = read_sources(root, tree, careful=careful)
        else:
            repo = Repository.open(root)
            try:
                sources = read_sources(root, repo.tree(revision), careful=careful)
            finally:
                repo.close()
        return cls(sources, list(sources.diagnostics), careful)

    def _validate(self, doc: Document, model: type[M], context: dict[str, Any] | None) -> M | None:
        if doc.data is None:
            return None
        templated = bool(doc.templates) and context is not None
        key = (doc.path, model.__name__)
        if not templated and key in self._models:
            return self._models[key]  # type: ignore[no-any-return]
        data = doc.data
        if templated:
            assert context is not None
            data, problems = render_document(doc, context)
            self.diagnostics.extend(problems)
            if problems:
                return None
        try:
            result: M | None = model.model_validate(data)
        except ValidationError as exc:
            self.diagnostics.extend(model_errors(exc, doc, model))
            result = None
        if not templated:
            self._models[key] = result
        return result

    def settings(self) -> Settings:
        doc = self.sources.settings
        found = self._validate(doc, Settings, None) if doc else None
        return found or Settings()

    def environments(self) -> dict[str, EnvSpec]:
        found: dict[str, EnvSpec] = {}
        for doc in self.sources.environments:
            env = self._validate(doc, Environment, None)
            if env is not None and env.name not in found:
                found[env.name] = EnvSpec(doc, env)
        return found

    def environment(self, name: str) -> EnvSpec:
        """The environment `name` (see `environments_named`)."""
        return self.environments_named([name])[0]

    def environments_named(self, names: Sequence[str]) -> list[EnvSpec]:
        """The environments `names`, in that order: the one place that finds them and words an
        absence (see `absence`)."""
        absent = self.absence(names)
        if absent is not None:
            raise absent
        found = self.environments()
        return [found[n] for n in names]

    def absence(self, names: Sequence[str]) -> DwconfError | None:
        """Why some of `names` are not environments, or None when all are. A name whose own
        file (`environments/NAME.yaml`) doesn't load is refused with that file's errors
        (`ConfigError`); a name no file defines, with the known names."""
        found = self.environments()
        unknown = [n for n in names if n not in found]
        if not unknown:
            return None
        if not found and not is_configuration(self.sources.root):
            return NotAConfigurationError(self.sources.root)
        errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
        own = [d for d in errors if _environment_file_name(d.span.file) in unknown]
        if own:
            return ConfigError(own)
        broken = any(_environment_file_name(d.span.file) is not None for d in errors)
        return UnknownEnvironmentError(unknown, found, broken)

    def catalog(self, files: list[SolutionFiles] | None = None) -> Catalog:
        """The standard catalog extended with the schema files of `files` (default: all)."""
        chosen = list(self.sources.solutions.values()) if files is None else files
        docs = [doc for solution in chosen for doc in solution.schemas]
        key = tuple(doc.path for doc in docs)
        if key not in self._catalogs:
            found = [self._validate(doc, SchemaFile, None) for doc in docs]
            extra = [schema for schema in found if schema is not None]
            self._catalogs[key] = catalog_module.standard().extended(extra)
        return self._catalogs[key]

    def releases(self) -> Releases:
        """The repository's release tags, read once (not in git: `in_git` is False)."""
        if self._releases is None:
            repo = Repository.find(self.sources.root)
            if repo is None:
                self._releases = Releases(in_git=False)
            else:
                try:
                    self._releases = repo.releases()
                finally:
                    repo.close()
        return self._releases

    def _released_files(self, release: Release) -> SolutionFiles:
        """A solution folder's files at its release tag, read once per tag."""
        if release.tag not in self._tagged:
            repo = Repository.open(self.sources.root)
            try:
                tree = repo.release_tree(release)
                files, problems = read_solution(tree, release.folder, careful=self.careful)
            finally:
                repo.close()
            self.diagnostics.extend(problems)
            self._tagged[release.tag] = files
        return self._tagged[release.tag]

    def _choose(self, env: EnvSpec | None) -> dict[str, tuple[SolutionFiles, Release | None]]:
        """Each solution folder's files for `env`: from the tag of a released pin, else ours."""
        chosen: dict[str, tuple[SolutionFiles, Release | None]] = {
            folder: (files, None) for folder, files in self.sources.solutions.items()
        }
        pins = env.model.solutions if env is not None else {}
        for folder, pin in pins.items():
            if not FOUR_PART.match(str(pin)):
                continue
            release = self.releases().get(folder, str(pin))
            if release is not None:
                chosen[folder] = (self._released_files(release), release)
        return dict(sorted(chosen.items()))

    def project(self, env: EnvSpec | None = None) -> Project:
        """The project rendered for `env` (templated values need one to render)."""
        context = None
        if env is not None:
            m = env.model
            context = context_for(m.name, m.stage, m.link.legal_entities, m.vars)
        chosen = self._choose(env)
        solutions: dict[str, SolutionSpec] = {}
        broken: set[str] = set()
        broken_files: set[str] = set()
        for folder, (files, release) in chosen.items():
            solution = self._validate(files.solution, Solution, context) if files.solution else None
            if files.solution is not None and solution is None:
                broken_files.add(files.solution.path)
            maps = []
            for doc in files.maps:
                model = self._validate(doc, TableMap, context)
                if model is not None:
                    maps.append(self._map_spec(folder, doc, model))
                    continue
                broken_files.add(doc.path)
                if isinstance(doc.data, dict) and isinstance(doc.data.get("name"), str):
                    broken.add(doc.data["name"])
                elif "name" in doc.partial:  # a syntax error after its name
                    broken.add(doc.partial["name"])
            solutions[folder] = SolutionSpec(folder, files.solution, solution, tuple(maps), release)
        pins_versions = env is not None and any(
            FOUR_PART.match(str(v)) for v in env.model.solutions.values()
        )
        return Project(
            root=self.sources.root,
            settings=self.settings(),
            settings_doc=self.sources.settings,
            environments=self.environments(),
            solutions=solutions,
            catalog=self.catalog([files for files, _ in chosen.values()]),
            environment=env,
            releases=self.releases() if pins_versions else None,
            broken_maps=frozenset(broken),
            broken_files=frozenset(broken_files),
            broken_schemas=frozenset(
                doc.path
                for files, _ in chosen.values()
                for doc in files.schemas
                if self._validate(doc, SchemaFile, None) is None
            ),
        )

    def _map_spec(self, folder: str, doc: Document, model: TableMap) -> MapSpec:
        """One spec per file while its model is the same (a file without templates)."""
        spec = self._specs.get(doc.path)
        if spec is None or spec.model is not model:
            spec = MapSpec(folder, doc, model)
            self._specs[doc.path] = spec
        return spec


def _environment_file_name(file: str) -> str | None:
    """`prod` for `environments/prod.yaml` (or `.yml`); None for any other file."""
    path = PurePosixPath(file)
    if path.parent.as_posix() == "environments" and path.suffix in YAML_SUFFIXES:
        return path.stem
    return None


def settled(work: Callable[[frozenset[str]], T]) -> T:
    """`work(careful)`: first with every file read the usual way; when the positions a
    diagnostic asked for showed that the fast YAML reader read a file differently from the
    careful one (`Disagreement`), `work` runs again with that file read carefully, so the
    careful reading is the one reported. `work` passes `careful` to `Loader.at`, and only
    loads and checks: it may run more than once."""
    careful: frozenset[str] = frozenset()
    while True:
        try:
            return work(careful)
        except Disagreement as found:
            if found.path in careful:  # a careful reading cannot disagree with itself
                raise
            careful |= {found.path}
