"""The state a new environment file starts in: a freshly linked pair, read from a seed file.

The default seed is package data (`dwconf/live/seed.yaml`). A seed is a mapping with the keys
`solutions` (packages imported in order, so `requires` is checked), `apply` (solutions whose maps
become templates), `legal_entities`, `integration_keys` and `alerts`; all are optional.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from dwconf.live import link, solutions
from dwconf.live.errors import InvalidRequest
from dwconf.live.state import AlertSetting, SolutionPackage
from dwconf.live.store import Tx
from dwconf.yaml import load_plain

SeedSource = str | Path | Mapping[str, Any] | None
_KEYS = {"solutions", "apply", "legal_entities", "integration_keys", "alerts"}


def load(source: SeedSource) -> Mapping[str, Any]:
    """The seed as data: the packaged default, a file, or a mapping given directly."""
    if isinstance(source, Mapping):
        data: Any = source
    elif source is None:
        data = load_plain(resources.files("dwconf.live").joinpath("seed.yaml").read_text("utf-8"))
    else:
        data = load_plain(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or set(data) - _KEYS:
        raise InvalidRequest(f"A seed is a mapping with the keys {', '.join(sorted(_KEYS))}.")
    return data


def _package(raw: Mapping[str, Any]) -> SolutionPackage:
    return SolutionPackage(
        unique_name=str(raw["unique_name"]),
        version=str(raw["version"]),
        managed=bool(raw.get("managed", True)),
        publisher=str(raw.get("publisher", "")),
        requires={str(k): str(v) for k, v in (raw.get("requires") or {}).items()},
        maps=list(raw.get("maps") or []),
    )


def _alert(raw: Mapping[str, Any]) -> AlertSetting:
    return AlertSetting(
        name=str(raw["name"]),
        error_type=str(raw.get("error_type", "any")),
        threshold=int(raw["threshold"]),
        window_minutes=int(raw["window_minutes"]),
        action=str(raw.get("action", "none")),
        notify=tuple(str(n) for n in raw.get("notify") or ()),
    )


def apply_seed(tx: Tx, data: Mapping[str, Any]) -> None:
    try:
        for raw in data.get("solutions") or []:
            solutions.import_solution(tx, _package(raw))
        for name in data.get("apply") or []:
            solutions.apply_solution(tx, str(name))
        link.set_legal_entities(tx, [str(c) for c in data.get("legal_entities") or []])
        for table, columns in (data.get("integration_keys") or {}).items():
            link.set_integration_keys(tx, str(table), [str(c) for c in columns])
        link.set_alerts(tx, [_alert(a) for a in data.get("alerts") or []])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidRequest(f"The seed is malformed: {exc!r}") from exc
