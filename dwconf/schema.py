"""JSON Schema of the configuration file kinds, generated from the models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dwconf.model import Environment, Settings, Solution, TableMap

KINDS: dict[str, type[BaseModel]] = {
    "dwconf.schema.json": Settings,
    "environment.schema.json": Environment,
    "solution.schema.json": Solution,
    "map.schema.json": TableMap,
}


def schemas() -> dict[str, dict[str, Any]]:
    found = {}
    for name, model in KINDS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        found[name] = schema
    return found


def write_schemas(out: Path | None) -> dict[str, dict[str, Any]]:
    found = schemas()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, schema in found.items():
            (out / name).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return found
