"""Tidy, deterministic YAML for files dwconf writes (`unpack`, `import`), built as plain text.

Keys keep the order of config-format.md; simple values stay plain (`name: Customers V3
(accounts)`), anything a YAML 1.1 or 1.2 reader could take for a number, a boolean or null is
quoted (`'806380000'`, `'no'` as a value), and strings that dwconf's loader would render as Jinja
templates are wrapped so they read back as the same text. Field mappings without a value map are
one flow line each; value maps are block mappings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from dwconf.model import Environment, FieldMapping, Solution, TableMap
from dwconf.model.tablemap import Master
from dwconf.yaml import TEMPLATE_MARKERS, load_plain

_PLAIN = re.compile(r"^[\w($/][\w .()/$+@'=-]*$")
_SINGLE = re.compile("^[\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}
_RESOLVER = yaml.resolver.Resolver()
_RAW_END = re.compile(r"\{%-?\s*endraw")


@dataclass(frozen=True)
class Flow:
    """A list or mapping written on one line: `[a, b]`, `{finops: X, dataverse: y}`."""

    value: Any


@dataclass(frozen=True)
class Commented:
    """A value written with a comment after it: `pin: workspace  # installed 1.0.0.0`."""

    value: Any
    comment: str


# Scalars --------------------------------------------------------------------------------------


def _is_text(text: str) -> bool:
    """True when YAML 1.1 and dwconf's YAML 1.2 loader both read `text` as a string."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag != "tag:yaml.org,2002:str":
        return False
    return isinstance(load_plain(text), str)


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    printable = 0x20 <= code <= 0x7E or (0xA0 <= code <= 0xFFFD and code != 0xFEFF)
    if printable and not 0xD800 <= code <= 0xDFFF and code not in (0x2028, 0x2029):
        return char
    if code > 0xFFFF:
        return f"\\U{code:08x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _quoted(text: str) -> str:
    if _SINGLE.match(text):
        return "'" + text.replace("'", "''") + "'"
    return '"' + "".join(_escape_char(c) for c in text) + '"'


def _untemplated(text: str) -> str:
    """Text that dwconf's template rendering gives back unchanged."""
    if "{" not in text or not any(m in text for m in TEMPLATE_MARKERS):
        return text
    if not _RAW_END.search(text):
        return "{% raw %}" + text + "{% endraw %}"
    return text.replace("{", "{{ '{' }}")


def text(value: str, rendered: bool = True) -> str:
    """A string in value position; `rendered`: the file's values go through templating."""
    value = _untemplated(value) if rendered else value
    if value and _PLAIN.match(value) and value == value.rstrip() and _is_text(value):
        return value
    return _quoted(value)


def key(value: str) -> str:
    """A mapping key: dwconf's loader reads every key as text, so only syntax needs quotes."""
    if value and _PLAIN.match(value) and value == value.rstrip():
        return value
    return _quoted(value)


def scalar(value: Any, rendered: bool = True) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    return text(str(value), rendered)


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    shown = repr(value)
    return shown if any(c in shown for c in ".en") else shown + ".0"


# Collections ----------------------------------------------------------------------------------


def flow(value: Any, rendered: bool = True) -> str:
    if isinstance(value, Commented):
        return f"{flow(value.value, rendered)}  # {value.comment}"
    if isinstance(value, Flow):
        value = value.value
    if isinstance(value, Mapping):
        pairs = (f"{key(str(k))}: {flow(v, rendered)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v, rendered) for v in value) + "]"
    return scalar(value, rendered)


def _inline(value: Any) -> bool:
    return (
        isinstance(value, Flow | Commented)
        or not isinstance(value, Mapping | list | tuple)
        or not value
    )


def block(
    value: Mapping[str, Any] | Sequence[Any], indent: int = 0, rendered: bool = True
) -> list[str]:
    """Lines of a block mapping or sequence at `indent` spaces."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            if _inline(v):
                lines.append(f"{pad}{key(str(k))}: {flow(v, rendered)}")
            else:
                lines.append(f"{pad}{key(str(k))}:")
                lines.extend(block(v, indent + 2, rendered))
        return lines
    for item in value:
        if _inline(item):
            lines.append(f"{pad}- {flow(item, rendered)}")
            continue
        inner = block(item, indent + 2, rendered)
        lines.append(f"{pad}- {inner[0].lstrip()}")
        lines.extend(inner[1:])
    return lines


def document(data: Mapping[str, Any], header: Sequence[str] = (), rendered: bool = True) -> str:
    """A YAML file; `rendered` is False for files dwconf never templates (environments,
    dwconf.yaml), whose text is written as it is."""
    comments = [f"# {line}".rstrip() for line in header]
    return "\n".join([*comments, *block(data, 0, rendered)]) + "\n"


# dwconf files ---------------------------------------------------------------------------------


def _field(field: FieldMapping) -> Any:
    data: dict[str, Any] = {}
    if field.finops is not None:
        data["finops"] = field.finops
    if field.dataverse is not None:
        data["dataverse"] = field.dataverse
    data["direction"] = field.direction.value
    if field.default is not None:
        data["default"] = field.default
    if field.value_map is None:
        return Flow(data)
    data["value_map"] = dict(field.value_map)
    return data


def map_data(model: TableMap) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": model.name,
        "version": model.version,
        "finops_entity": model.finops_entity,
        "dataverse_table": model.dataverse_table,
    }
    if model.description is not None:
        data["description"] = model.description
    if model.depends_on:
        data["depends_on"] = list(model.depends_on)
    if model.integration_key:
        data["integration_key"] = Flow(list(model.integration_key))
    filters = {k: v for k, v in model.filters.model_dump().items() if v is not None}
    if filters:
        data["filters"] = filters
    if model.initial_sync.master is not Master.DATAVERSE:
        data["initial_sync"] = {"master": model.initial_sync.master.value}
    data["fields"] = [_field(f) for f in model.fields]
    return data


def map_yaml(model: TableMap, header: Sequence[str] = ()) -> str:
    return document(map_data(model), header)


def solution_yaml(model: Solution, header: Sequence[str] = ()) -> str:
    data: dict[str, Any] = {"unique_name": model.unique_name}
    if model.display_name is not None:
        data["display_name"] = model.display_name
    if model.description is not None:
        data["description"] = model.description
    data["version"] = model.version
    data["publisher"] = Flow(model.publisher.model_dump(exclude_none=True))
    if model.requires:
        data["requires"] = dict(model.requires)
    if model.depends_on:
        data["depends_on"] = Flow(list(model.depends_on))
    return document(data, header)


def environment_yaml(
    model: Environment, header: Sequence[str] = (), pin_comments: Mapping[str, str] | None = None
) -> str:
    """An environment file; `pin_comments` are written after solution pins, by folder."""
    comments = pin_comments or {}
    dumped = model.model_dump(mode="json", exclude_defaults=True)
    data: dict[str, Any] = {"name": model.name, "stage": model.stage}
    for field in ("promote_from", "provider"):
        if field in dumped:
            data[field] = dumped[field]
    data["link"] = {"legal_entities": Flow(list(model.link.legal_entities))}
    data["solutions"] = {
        folder: Commented(pin, comments[folder]) if folder in comments else pin
        for folder, pin in model.solutions.items()
    }
    data["maps"] = model.maps.model_dump(mode="json")
    if not data["maps"]["state"]:
        del data["maps"]["state"]
    if model.alerts:
        data["alerts"] = [_alert(a) for a in model.alerts]
    for field in ("vars", "protect"):
        if field in dumped:
            data[field] = dumped[field]
    return document(data, header, rendered=False)


def _alert(alert: Any) -> dict[str, Any]:
    data: dict[str, Any] = alert.model_dump(mode="json")
    data["notify"] = Flow(data["notify"])
    return data
