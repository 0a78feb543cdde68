"""Saved plans (`dwconf plan --out`): written with a checksum, read back whole or refused.

A plan file is an artifact CI keeps and people pass around: it is redacted before the checksum
is taken, so it never holds a secret and still reads back intact.

The checksum only catches accidents: anyone can recompute it. Two things stop a forged plan:
`apply` derives the plan again from the configuration and the environment and refuses one whose
changes don't follow (`dwconf.apply.verify`), and a team that carries plans between CI jobs can
sign them: with a key (`DWCONF_PLAN_KEY`, read by the CLI), `save` adds an HMAC-SHA256 of the
file's body and `load` refuses a file that is unsigned or whose signature does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from dwconf.errors import DwconfError, RefusedError
from dwconf.git import GitInfo
from dwconf.jsonout import FORMAT_VERSION
from dwconf.objects import Object, kind_of, object_of, objects_of
from dwconf.plan.actions import Action, Category
from dwconf.plan.blocks import Allowance, Block
from dwconf.plan.definition import Plan, canonical_json
from dwconf.plan.details import Detail
from dwconf.plan.diff import Change
from dwconf.plan.order import Operation, Step
from dwconf.redact import redact_json_text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


SIGNATURE = "hmac-sha256:"


def _signature(key: bytes, text: str) -> str:
    return SIGNATURE + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def dump(plan: Plan, key: bytes | None = None) -> str:
    """The plan file: its canonical JSON (serialised once, redacted as text, checksummed as
    written) with the checksum, and the signature when there is a key, as the last keys.
    Large plans are tens of megabytes."""
    extra = {"desired": plan.desired, "live": plan.live, "refresh_only": plan.refresh_only}
    text = canonical_json({**plan.as_dict(), **extra})
    cleaned = redact_json_text(text)
    if cleaned != text:  # a secret was found: re-serialise so the checksum is canonical
        text = canonical_json(json.loads(cleaned))
    signed = f',"signature":"{_signature(key, text)}"' if key else ""
    return f'{text[:-1]},"checksum":"{_digest(text)}"{signed}}}\n'


def save(plan: Plan, path: Path, key: bytes | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(plan, key), encoding="utf-8")


def save_where_asked(plan: Plan, path: Path, key: bytes | None = None) -> None:
    """`save` to the path a person gave (`--out`): one that can't be written is theirs to fix."""
    try:
        save(plan, path, key)
    except OSError as exc:
        raise DwconfError(
            f"cannot write the plan file {path}: {exc.strerror or exc}",
            "choose a path in a folder you can write (its folders are made when missing)",
        ) from exc


def _check_signature(path: Path, text: str, signature: Any, key: bytes) -> None:
    if signature is None:
        raise RefusedError(
            f"the plan file {path} is not signed, and DWCONF_PLAN_KEY asks for signed plans",
            "make the plan with DWCONF_PLAN_KEY set: dwconf plan ENV --out FILE",
        )
    if not hmac.compare_digest(str(signature), _signature(key, text)):
        raise RefusedError(
            f"the plan file {path} has a signature that does not match (altered, or signed "
            "with another key)",
            "make a new plan with the same DWCONF_PLAN_KEY as apply",
        )


_ACTIONS = {a.word: a for a in Action}


def _change(raw: dict[str, Any]) -> Change:
    details = tuple(
        Detail(
            d["path"],
            d["action"],
            d["before"],
            d["after"],
            Category(d["category"]),
            d.get("reason", ""),
        )
        for d in raw["details"]
    )
    action = _ACTIONS[raw["actions"][0]]
    return Change(
        raw["address"],
        kind_of(raw["kind"]),
        action,
        Category(raw["category"]),
        None if raw["before"] is None else object_of(raw["before"], "before"),
        None if raw["after"] is None else object_of(raw["after"], "after"),
        details,
        raw.get("reason", ""),
        raw.get("refused", ""),
    )


MAKE_ONE = "make one with: dwconf plan ENV --out FILE"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DwconfError(
            f"there is no plan file {path}",
            f"check the path; {MAKE_ONE}",
        ) from exc
    except OSError as exc:
        raise DwconfError(f"cannot read the plan file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise DwconfError(
            f"{path}:{exc.lineno}:{exc.colno}: not a dwconf plan file (not JSON: {exc.msg})",
            MAKE_ONE,
        ) from exc
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise DwconfError(f"{path} is not a dwconf plan file (not JSON: {exc})", MAKE_ONE) from exc


def load(path: Path, key: bytes | None = None, *, strict: bool = False) -> Plan:
    """Read a saved plan; a file that was altered or is not a plan is refused, and with a
    `key` so is one that is not signed with it. With `strict` (to apply it), a signed file is
    refused when there is no key to check its signature: a key missing where plans are signed
    is a mistake to show, not a reason to trust the file unchecked."""
    raw = _read(path)
    if not isinstance(raw, dict) or "checksum" not in raw:
        raise DwconfError(f"{path} is not a dwconf plan file", MAKE_ONE)
    signature = raw.pop("signature", None)
    checksum = raw.pop("checksum")
    text = canonical_json(raw)
    if _digest(text) != checksum:
        raise RefusedError(
            f"the plan file {path} was altered after it was written (checksum mismatch)",
            "make a new plan with dwconf plan --out",
        )
    if key:
        _check_signature(path, text, signature, key)
    elif strict and signature is not None:
        raise RefusedError(
            f"the plan file {path} is signed, and DWCONF_PLAN_KEY is not set to check it",
            "set DWCONF_PLAN_KEY to the key the plan was signed with",
        )
    if raw.get("format_version") != FORMAT_VERSION:
        raise DwconfError(f"plan format {raw.get('format_version')} is not supported")
    try:
        return _checked(_plan(raw))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise DwconfError(f"{path} is not a dwconf plan file ({exc!r} is wrong)") from exc


def _checked(plan: Plan) -> Plan:
    """`plan`, when its parts have the types the rest of dwconf counts on (a file can have its
    checksum recomputed after any edit)."""
    for name in ("environment", "origin", "desired_hash", "live_fingerprint"):
        if not isinstance(getattr(plan, name), str):
            raise TypeError(f"{name} is not a string")
    return plan


def _objects(raw: Any, name: str) -> dict[str, Object]:
    if not isinstance(raw, dict):
        raise TypeError(f"{name} is not an object")
    return objects_of(raw, name)


def _plan(raw: dict[str, Any]) -> Plan:
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
        desired=_objects(raw["desired"], "desired"),
        live=_objects(raw["live"], "live"),
        unmanaged=tuple(raw["unmanaged"]),
        git=GitInfo(raw["git"]["commit"], raw["git"]["dirty"]),
        refresh_only=bool(raw.get("refresh_only", False)),
        dwconf_version=raw["dwconf_version"],
        origin=raw.get("origin", "configuration"),
        blocked_by=tuple(Block.of(b) for b in raw.get("blocked_by", [])),
        allowances=tuple(Allowance(a) for a in raw.get("allowances", [])),
    )
