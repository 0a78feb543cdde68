"""One JSON contract: every command that prints JSON starts with `format_version` "1.0" (a
string, config-format.md), and docs/json.md describes each of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dwconf.jsonout import FORMAT_VERSION
from tests.golden.scenarios import ENV_FILE, FILES, commit, write
from tests.support import Result

ROOT = Path(__file__).resolve().parents[2]
Cli = Callable[..., Result]

# Every command that prints JSON, with the arguments that make it print some.
COMMANDS = {
    "validate": ["validate", "--format", "json"],
    "render": ["render", "dev", "--format", "json"],
    "plan": ["plan", "dev", "--format", "json"],
    "drift": ["drift", "dev", "--format", "json"],
    "history": ["history", "dev", "--format", "json"],
    "lock status": ["lock", "status", "dev", "--format", "json"],
    "env show": ["env", "show", "dev", "--format", "json"],
    "env list": ["env", "list", "--format", "json"],
    "doctor": ["doctor", "dev", "--format", "json"],
    "diff": ["diff", "HEAD", "--format", "json"],
    "apply": ["apply", "dev", "--auto-approve", "--format", "json"],
    "compare": ["compare", "dev", "test", "--format", "json"],
}


def _shown(args: list[str]) -> str:
    """The command as docs/json.md heads its section: without the arguments."""
    return " ".join(a for a in args if a not in ("dev", "test", "HEAD", "--auto-approve"))


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    test_env = FILES[ENV_FILE].replace("name: dev\nstage: dev", "name: test\nstage: test")
    files = {**FILES, "environments/test.yaml": test_env}
    root = write(tmp_path_factory.mktemp("json") / "repo", files)
    commit(root, "base")
    return root


@pytest.fixture
def deployed(applied: Path, dwconf: Cli) -> Path:
    result = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.err
    return applied


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_json_output_starts_with_the_format_version(
    name: str, deployed: Path, dwconf: Cli
) -> None:
    result = dwconf("-C", str(deployed), *COMMANDS[name])
    assert result.exit_code in (0, 2), result.err
    document = json.loads(result.out)
    assert next(iter(document)) == "format_version", name
    assert document["format_version"] == FORMAT_VERSION == "1.0", name


def test_docs_json_describes_every_command() -> None:
    text = (ROOT / "docs/json.md").read_text(encoding="utf-8")
    for name, args in COMMANDS.items():
        shown = _shown(args)
        assert f"## `dwconf {shown}`" in text, name


def _keys(document: dict[str, Any]) -> list[str]:
    """The top-level keys, and the keys of the objects in its lists (one level down)."""
    keys = list(document)
    for value in document.values():
        items = value if isinstance(value, list) else []
        keys += [key for item in items if isinstance(item, dict) for key in item]
    return list(dict.fromkeys(keys))


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_docs_json_names_every_top_level_field(name: str, deployed: Path, dwconf: Cli) -> None:
    args = COMMANDS[name]
    shown = _shown(args)
    section = _section((ROOT / "docs/json.md").read_text(encoding="utf-8"), f"## `dwconf {shown}`")
    document = json.loads(dwconf("-C", str(deployed), *args).out)
    missing = [key for key in _keys(document) if f'"{key}"' not in section]
    assert not missing, f"docs/json.md does not name {missing} of dwconf {shown}"
