"""The registry of validation rules: plain tuples, one entry per rule function."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dwconf.diagnostics import Diagnostic
from dwconf.load.project import EnvSpec, Project
from dwconf.validate import (
    confusables,
    dependencies,
    environments,
    field_types,
    fields,
    filter_rules,
    keys,
    solutions,
    tables,
    value_maps,
)
from dwconf.validate.context import MapContext

MapRule = Callable[[MapContext], Iterable[Diagnostic]]
ProjectRule = Callable[[Project], Iterable[Diagnostic]]
EnvironmentRule = Callable[[Project, EnvSpec], Iterable[Diagnostic]]

MAP_RULES: tuple[MapRule, ...] = (
    fields.unknown_names,
    fields.presence,
    fields.duplicates,
    fields.mandatory,
    fields.read_only,
    field_types.type_mismatch,
    field_types.string_length,
    value_maps.value_map_entries,
    value_maps.duplicate_pairs,
    keys.key_present,
    keys.key_mapped,
    keys.company_partitioning,
    filter_rules.finops_filter,
    filter_rules.dataverse_filter,
    tables.unsupported_table,
    tables.initial_sync_lookups,
)

PROJECT_RULES: tuple[ProjectRule, ...] = (
    dependencies.unique_maps,
    dependencies.map_dependencies,
    dependencies.overlapping_maps,
    solutions.requires,
    solutions.depends,
    confusables.text,
)

ENVIRONMENT_RULES: tuple[EnvironmentRule, ...] = (
    environments.stages,
    environments.file_name,
    environments.legal_entities,
    environments.pins,
    environments.state_overrides,
    environments.provider,
    environments.sign_in,
    environments.provider_urls,
    environments.ca_file,
    environments.secrets,
)
