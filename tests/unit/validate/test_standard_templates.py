"""Microsoft's own templates validate: every standard template in the catalog, written as a map
file the way `dwconf unpack` writes maps, passes `dwconf validate` with no error.

A tool that rejects the service's own templates is wrong about the rule (DW2106: the Fiscal
calendar templates map one F&O field two-way to two columns)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dwconf.catalog import data_files
from dwconf.diagnostics import Severity
from dwconf.model import TableMap
from dwconf.package.yamlout import map_yaml
from dwconf.validate.engine import validate
from dwconf.yaml import load_plain


def test_every_standard_template_validates_as_a_map(make_repo: Callable[..., Path]) -> None:
    maps: dict[str, str | None] = {}
    for name, text in data_files():
        template = load_plain(text)["template"]
        stem = name.removesuffix(".yaml")
        # Several files hold the same template as two docs pages print it: names stay unique.
        named = {**template, "name": f"{template['name']} [{stem}]", "version": "1.0.0.0"}
        maps[f"solutions/base/maps/{stem}.yaml"] = map_yaml(TableMap.model_validate(named))
    report = validate(make_repo(maps))
    errors = [
        f"{d.span} {d.code} {d.message}" for d in report.diagnostics if d.severity is Severity.ERROR
    ]
    assert len(maps) >= 200
    assert errors == []
