"""pydantic validation errors mapped back to the user's file:line:col."""

from __future__ import annotations

import difflib
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError
from typing_extensions import is_typeddict

from dwconf.diagnostics import Diagnostic, error
from dwconf.yaml import Document, YamlPath

_TYPE_WORDS = {
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "list_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return isinstance(part, str) and part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _data_path(doc: Document, base: YamlPath, loc: tuple[int | str, ...]) -> YamlPath:
    """The part of a pydantic `loc` that exists in the document (union tags are skipped)."""
    path = base
    node = doc.get(base) if doc.data is not None else None
    for part in loc:
        if not _has(node, part):
            continue
        node = node[part]  # type: ignore[index]
        path = (*path, part)
    return path


def _keys_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed where the last key of `loc` stands (for "did you mean")."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = _annotations(current).get(part)
        if annotation is None:
            continue
        current = _inner_model(annotation)
    return list(_annotations(current)) if current is not None else []


def _annotations(owner: Any) -> dict[str, Any]:
    """Field annotations of a model or a typed dict."""
    if isinstance(owner, type) and issubclass(owner, BaseModel):
        return {name: field.annotation for name, field in owner.model_fields.items()}
    if is_typeddict(owner):
        return get_type_hints(owner)
    return {}


def _inner_model(annotation: Any) -> Any:
    if (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or is_typeddict(
        annotation
    ):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_SECRET_WORDS = ("secret", "password", "token", "key")


def _unknown_key(doc: Document, path: YamlPath, known: list[str]) -> Diagnostic:
    key = str(path[-1])
    in_auth = "auth" in path or "gateway_auth" in path
    if in_auth and any(w in key.lower() for w in _SECRET_WORDS):
        return error(
            "DW2810",
            f"'{key}' would put a secret in YAML (value not shown); secrets never go in YAML",
            doc.span(path, key=True),
            f"use '{key}_env: <VARIABLE_NAME>' and set the variable in the pipeline; "
            "if a secret was committed, rotate it",
        )
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else ""
    if known and not close:
        hint = "allowed keys here: " + ", ".join(known)
    return error("DW1101", f"unknown key '{key}'", doc.span(path, key=True), hint)


def _describe(err: Any, path: YamlPath) -> tuple[str, str, str]:
    kind = err["type"]
    where = ".".join(str(p) for p in path) or "the file"
    if kind == "missing":
        name = err["loc"][-1]
        return "DW1102", f"missing required key '{name}'", f"add '{name}:' here"
    if kind == "union":
        words = err["words"]
        return "DW1103", f"'{where}' must be {', '.join(words[:-1])} or {words[-1]}", ""
    if kind == "finite_number":
        return "DW1103", f"'{where}' must be a finite number", "neither side stores NaN or infinity"
    if kind == "string_type":
        return "DW1103", f"'{where}' must be text", "quote the value so YAML keeps it as text"
    if kind in _TYPE_WORDS:
        return "DW1103", f"'{where}' must be {_TYPE_WORDS[kind]}", ""
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        return "DW1104", f"'{where}': invalid value", f"use one of {expected}"
    if kind == "string_pattern_mismatch":
        return "DW1104", f"'{where}' has an invalid form", message
    return "DW1104", f"'{where}': {message}", str(err.get("ctx", {}).get("hint", ""))


def _one_per_value(errors: list[Any], paths: list[YamlPath]) -> list[tuple[Any, YamlPath]]:
    """pydantic reports each member of a union (text, number, ...) that a value failed; the
    user reads one diagnostic per value: the specific complaint when a member has one (such
    as "Input should be a finite number"), otherwise every form the value could take."""
    groups: dict[YamlPath, list[Any]] = {}
    for err, path in zip(errors, paths, strict=True):
        groups.setdefault(path, []).append(err)
    kept: list[tuple[Any, YamlPath]] = []
    for path, group in groups.items():
        if len(group) == 1 or any(e["type"] in ("missing", "extra_forbidden") for e in group):
            kept.extend((e, path) for e in group)
            continue
        specific = [e for e in group if e["type"] not in _TYPE_WORDS]
        if specific:
            kept.append((specific[0], path))
            continue
        words = list(dict.fromkeys(_TYPE_WORDS[e["type"]] for e in group))
        kept.append(({**group[0], "type": "union", "words": words}, path))
    return kept


def model_errors(
    exc: ValidationError, doc: Document, model: type[BaseModel], base: YamlPath = ()
) -> list[Diagnostic]:
    """One diagnostic per invalid value, placed at the value (or nearest parent) it concerns."""
    errors = exc.errors(include_input=False, include_url=False)
    paths = [_data_path(doc, base, tuple(err["loc"])) for err in errors]
    found: list[Diagnostic] = []
    for err, path in _one_per_value(list(errors), paths):
        if err["type"] == "extra_forbidden":
            found.append(_unknown_key(doc, path, _keys_at(model, tuple(err["loc"]))))
            continue
        code, message, hint = _describe(err, path)
        span = doc.span(path, key=err["type"] == "missing")
        found.append(error(code, message, span, hint))
    return found
