"""From parsed files to validated models: one `Project` per environment rendering.

Documents without templates are validated once and shared by every environment's project;
templated documents are rendered with each environment's context first.

A solution an environment pins to a released version is read from its release tag
(`<folder>/v<version>`, ARCHITECTURE §7), once per tag; `workspace` pins read the loader's own
tree (the working tree, or the revision `Loader.at` was given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dwconf import catalog as catalog_module
from dwconf.catalog import Catalog
from dwconf.diagnostics import Diagnostic, Severity
from dwconf.errors import ConfigError, NotAConfigurationError, UnknownEnvironmentError
from dwconf.git import Release, Releases, Repository
from dwconf.load.errors import model_errors
from dwconf.load.sources import (
    SolutionFiles,
    Sources,
    is_configuration,
    read_solution,
    read_sources,
)
from dwconf.load.yaml12 import Document
from dwconf.model import Environment, Settings, Solution, TableMap
from dwconf.model.common import FOUR_PART
from dwconf.model.schema import SchemaFile
from dwconf.templating import context_for, render_document

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class MapSpec:
    solution: str
    doc: Document
    model: TableMap

    @property
    def address(self) -> str:
        return self.model.address


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
    _cache: dict[tuple[int, str], Any] = field(default_factory=dict)
    _releases: Releases | None = None
    _tagged: dict[str, SolutionFiles] = field(default_factory=dict)

    @classmethod
    def at(cls, root: Path, revision: str | None = None) -> Loader:
        """The configuration at `root`: its working tree, or its files at a git `revision`."""
        if revision is None:
            sources = read_sources(root)
        else:
            repo = Repository.open(root)
            try:
                sources = read_sources(root, repo.tree(revision))
            finally:
                repo.close()
        return cls(sources, list(sources.diagnostics))

    def _validate(self, doc: Document, model: type[M], context: dict[str, Any] | None) -> M | None:
        if doc.data is None:
            return None
        templated = bool(doc.templates) and context is not None
        key = (id(doc), model.__name__)
        if not templated and key in self._cache:
            return self._cache[key]  # type: ignore[no-any-return]
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
            self._cache[key] = result
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
        absence. A name whose own file (`environments/NAME.yaml`) doesn't load is refused with
        that file's errors (`ConfigError`); a name no file defines, with the known names."""
        found = self.environments()
        unknown = [n for n in names if n not in found]
        if not unknown:
            return [found[n] for n in names]
        if not found and not is_configuration(self.sources.root):
            raise NotAConfigurationError(self.sources.root)
        errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
        own = [d for d in errors if _environment_file_name(d.span.file) in unknown]
        if own:
            raise ConfigError(own)
        broken = any(_environment_file_name(d.span.file) is not None for d in errors)
        raise UnknownEnvironmentError(unknown, found, broken)

    def catalog(self, files: list[SolutionFiles] | None = None) -> Catalog:
        """The standard catalog extended with the schema files of `files` (default: all)."""
        chosen = list(self.sources.solutions.values()) if files is None else files
        key = (0, "catalog:" + ",".join(str(id(f)) for f in chosen))
        if key not in self._cache:
            extra = []
            for solution in chosen:
                for doc in solution.schemas:
                    schema = self._validate(doc, SchemaFile, None)
                    if schema is not None:
                        extra.append(schema)
            self._cache[key] = catalog_module.standard().extended(extra)
        return self._cache[key]  # type: ignore[no-any-return]

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
                files, problems = read_solution(repo.release_tree(release), release.folder)
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
        key = (id(model), "spec")
        spec = self._cache.get(key)
        if spec is None or spec.model is not model:
            spec = MapSpec(folder, doc, model)
            self._cache[key] = spec
        return spec


def _environment_file_name(file: str) -> str | None:
    """`prod` for `environments/prod.yaml` (or `.yml`); None for any other file."""
    path = PurePosixPath(file)
    if path.parent.as_posix() == "environments" and path.suffix in (".yaml", ".yml"):
        return path.stem
    return None
