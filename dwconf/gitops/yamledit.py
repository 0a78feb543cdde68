"""Edit a few values of a YAML file and keep everything else: comments, key order, quoting,
indentation and line breaks (ruamel.yaml round-trip).

The indentation is guessed from the file itself, so a file indented `key:\\n  - item` comes back
the same way; after the edit, the result is parsed again and compared with what was asked, so a
round-trip that changed any other value is refused rather than committed.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from dwconf.errors import DwconfError
from dwconf.yaml import load_plain

Key = tuple[str, ...]


def _yaml(text: str, name: str) -> YAML:
    try:
        _, indent, offset = load_yaml_guess_indent(text)
    except YAMLError as exc:
        raise DwconfError(f"{name} is not valid YAML: {exc}", "fix it, then try again") from exc
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.indent(mapping=2, sequence=indent or 2, offset=offset or 0)
    return yaml


def _load(yaml: YAML, text: str, name: str) -> CommentedMap:
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        raise DwconfError(f"{name} is not valid YAML: {exc}", "fix it, then try again") from exc
    if not isinstance(data, CommentedMap):
        raise DwconfError(f"{name} does not hold a mapping")
    return data


def get(text: str, path: Key, name: str = "the file") -> Any:
    """The value at `path` (None when a key is missing)."""
    value: Any = _load(_yaml(text, name), text, name)
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def set_values(text: str, path: Key, updates: Mapping[str, str], name: str = "the file") -> str:
    """`text` with the mapping at `path` holding `updates` (new keys are appended to it)."""
    yaml = _yaml(text, name)
    data = _load(yaml, text, name)
    target = _mapping_at(data, path)
    for key, value in updates.items():
        if key not in target and len(target):
            _append(target, key, value)
        else:
            target[key] = value
    out = io.StringIO()
    yaml.dump(data, out)
    result = out.getvalue()
    _check(text, result, path, updates, name)
    return result


def _append(target: CommentedMap, key: str, value: str) -> None:
    """Add `key` after the last entry, keeping the blank lines and comments that follow that
    entry after the new one (ruamel attaches them to the previous value)."""
    last = list(target)[-1]
    target[key] = value
    comments = target.ca.items.get(last)
    token = comments[2] if comments and len(comments) > 2 else None
    if token is None:
        return
    text = str(token.value)
    end = text.find("\n")
    if end < 0 or not text[end + 1 :]:
        return
    moved = copy.copy(token)
    token.value = text[: end + 1]
    moved.value = "\n" + text[end + 1 :]
    target.ca.items[key] = [None, None, moved, None]


def _mapping_at(data: CommentedMap, path: Key) -> CommentedMap:
    node = data
    for key in path:
        child = node.get(key)
        if child is None:
            child = CommentedMap()
            node[key] = child
        if not isinstance(child, CommentedMap):
            raise DwconfError(f"'{'.'.join(path)}' is not a mapping; can't edit it")
        node = child
    return node


def _check(before: str, after: str, path: Key, updates: Mapping[str, str], name: str) -> None:
    """The edit changed exactly the values asked for."""
    expected = load_plain(before)
    node = expected
    for key in path:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node.update(updates)
    if load_plain(after) != expected:
        raise DwconfError(
            f"rewriting {name} would change more than the values asked for",
            "edit the file by hand; dwconf keeps it untouched",
        )


def replace_key(text: str, key: str, value: Mapping[str, Any], name: str = "the file") -> str:
    """`text` with the top-level `key` holding `value` (a whole new mapping: nothing of the old
    one is kept); every other key, comment and blank line stays as it was."""
    yaml = _yaml(text, name)
    data = _load(yaml, text, name)
    if key in data:
        data[key] = value
    else:
        _append(data, key, value)  # type: ignore[arg-type]
    out = io.StringIO()
    yaml.dump(data, out)
    result = out.getvalue()
    expected = load_plain(text)
    expected[key] = value
    if load_plain(result) != expected:
        raise DwconfError(
            f"rewriting {name} would change more than '{key}'",
            "edit the file by hand; dwconf keeps it untouched",
        )
    return result
