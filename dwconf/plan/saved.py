"""Saved plans (`dwconf plan --out`): written with a checksum, read back whole or refused.

A plan file is an artifact CI keeps and people pass around: it is redacted before the checksum
is taken, so it never holds a secret and still reads back intact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from dwconf.errors import DwconfError, RefusedError
from dwconf.plan.actions import Action, Category
from dwconf.plan.definition import FORMAT_VERSION, GitInfo, Plan, canonical_json
from dwconf.plan.details import Detail
from dwconf.plan.diff import Change
from dwconf.plan.order import Operation, Step
from dwconf.redact import redact_json_text


def _checksum(body: dict[str, Any]) -> str:
    return _digest(canonical_json(body))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dump(plan: Plan) -> str:
    """The plan file: its canonical JSON (serialised once, redacted as text, checksummed as
    written) with the checksum as the last key. Large plans are tens of megabytes."""
    extra = {"desired": plan.desired, "live": plan.live, "refresh_only": plan.refresh_only}
    text = canonical_json({**plan.as_dict(), **extra})
    cleaned = redact_json_text(text)
    if cleaned != text:  # a secret was found: re-serialise so the checksum is canonical
        text = canonical_json(json.loads(cleaned))
    return f'{text[:-1]},"checksum":"{_digest(text)}"}}\n'


def save(plan: Plan, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(plan), encoding="utf-8")


def _change(raw: dict[str, Any]) -> Change:
    details = tuple(
        Detail(d["path"], d["action"], d["before"], d["after"], Category(d["category"]))
        for d in raw["details"]
    )
    action = next(a for a in Action if a.word == raw["actions"][0])
    return Change(
        raw["address"],
        raw["kind"],
        action,
        Category(raw["category"]),
        raw["before"],
        raw["after"],
        details,
        raw.get("reason", ""),
    )


def load(path: Path) -> Plan:
    """Read a saved plan; a file that was altered or is not a plan is refused."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DwconfError(f"cannot read the plan file {path}: {exc}") from exc
    if not isinstance(raw, dict) or "checksum" not in raw:
        raise DwconfError(f"{path} is not a dwconf plan file", "create one with dwconf plan --out")
    checksum = raw.pop("checksum")
    if _checksum(raw) != checksum:
        raise RefusedError(
            f"the plan file {path} was altered after it was written (checksum mismatch)",
            "make a new plan with dwconf plan --out",
        )
    if raw.get("format_version") != FORMAT_VERSION:
        raise DwconfError(f"plan format {raw.get('format_version')} is not supported")
    return Plan(
        environment=raw["environment"],
        desired_hash=raw["desired_hash"],
        live_fingerprint=raw["live_fingerprint"],
        changes=tuple(_change(c) for c in raw["changes"]),
        steps=tuple(
            Step(
                s["id"], Operation(s["operation"]), s["address"], tuple(s["depends_on"]), s["args"]
            )
            for s in raw["steps"]
        ),
        desired=raw["desired"],
        live=raw["live"],
        unmanaged=tuple(raw["unmanaged"]),
        git=GitInfo(raw["git"]["commit"], raw["git"]["dirty"]),
        refresh_only=bool(raw.get("refresh_only", False)),
        dwconf_version=raw["dwconf_version"],
        origin=raw.get("origin", "configuration"),
    )
