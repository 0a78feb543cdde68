"""The one JSON contract: every command that prints JSON puts `format_version` first.

The version is a string ("1.0", config-format.md): it changes its major part when a field is
removed or changes meaning, its minor part when fields are added. docs/json.md lists the shape
each command prints.
"""

from __future__ import annotations

from typing import Any

FORMAT_VERSION = "1.0"


def document(**fields: Any) -> dict[str, Any]:
    """A JSON document of a command: `format_version` first, then `fields` in their order."""
    return {"format_version": FORMAT_VERSION, **fields}
