"""Drift: what changed in an environment outside dwconf since its last successful apply.

The record (the desired state dwconf last applied successfully) is compared with live, address
by address, with the same field-level details as a plan: `before` is what dwconf wrote, `after`
is what the environment holds now. Objects dwconf never recorded are not drift. Known, noisy
differences can be ignored by address (`map.*`) or by `address:path` prefix
(`map.customers:state`), per run, without touching the configuration.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from dwconf.jsonout import FORMAT_VERSION
from dwconf.objects import Object
from dwconf.plan import output
from dwconf.plan.actions import Action, worst
from dwconf.plan.diff import Change, diff
from dwconf.redact import redact


@dataclass(frozen=True)
class Ignore:
    """One `--ignore` value: an address pattern and, optionally, a path prefix inside it."""

    address: str
    path: str = ""

    @classmethod
    def parse(cls, text: str) -> Ignore:
        address, _, path = text.partition(":")
        return cls(address.strip(), path.strip())

    def covers(self, address: str) -> bool:
        return fnmatch.fnmatchcase(address, self.address)


@dataclass(frozen=True)
class Drift:
    environment: str
    record: Mapping[str, Any]  # id, created, who of the record compared with
    changes: tuple[Change, ...]
    ignored: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "environment": self.environment,
            "record": dict(self.record),
            "has_drift": self.found,
            "drift": [c.as_dict() for c in self.changes],
            "ignored": list(self.ignored),
        }


def _without(change: Change, rules: list[Ignore]) -> Change | None:
    """The change less what the rules ignore; None when nothing is left."""
    mine = [r for r in rules if r.covers(change.address)]
    if any(not r.path for r in mine):
        return None
    paths = [r.path for r in mine]
    if not paths or not change.details:
        return change
    details = tuple(d for d in change.details if not any(d.path.startswith(p) for p in paths))
    if not details:
        return None
    return replace(change, details=details, category=worst([d.category for d in details]))


def find_drift(
    recorded: Mapping[str, Object],
    live: Mapping[str, Object],
    ignore: tuple[str, ...] = (),
) -> tuple[Change, ...]:
    """Changes from `recorded` to `live` on the addresses dwconf recorded, less `ignore`."""
    present = {a: o for a, o in live.items() if a in recorded}
    found = diff(present, recorded, recorded)
    rules = [Ignore.parse(text) for text in ignore]
    kept = (_without(c, rules) for c in found.changes)
    return tuple(c for c in kept if c is not None)


def _words(change: Change) -> str:
    if change.action is Action.DELETE:
        return "removed outside dwconf"
    return "changed outside dwconf"


def text(drift: Drift) -> str:
    record = drift.record
    head = (
        f"Drift in {drift.environment} since deployment record {record.get('id')} "
        f"({record.get('created')}, by {record.get('who')})"
    )
    lines = [head, ""]
    if not drift.found:
        lines.append("No drift. The environment matches what dwconf last applied.")
    for change in drift.changes:
        lines.append(f"{change.action.value:>3} {change.address}  ({_words(change)})")
        lines.extend(f"      {output.detail_line(d)}" for d in change.details)
    if drift.ignored:
        lines += ["", "Ignored: " + ", ".join(drift.ignored)]
    if drift.found:
        count = len(drift.changes)
        lines += [
            "",
            f"{count} object(s) changed outside dwconf. "
            f"`dwconf plan {drift.environment}` shows how apply would put them back.",
        ]
    return redact("\n".join(lines) + "\n")


def markdown(drift: Drift) -> str:
    """For an issue or a pull-request comment: a table of what drifted, then one table per
    object (before: what dwconf recorded; after: what the environment holds now)."""
    record = drift.record
    lines = [
        f"### dwconf drift: `{drift.environment}`",
        "",
        f"Compared with deployment record `{record.get('id')}` ({record.get('created')}, "
        f"by {record.get('who')}).",
        "",
    ]
    if not drift.found:
        lines.append("No drift. The environment matches what dwconf last applied.")
    else:
        lines += [f"**{len(drift.changes)} object(s) changed outside dwconf.**", ""]
        lines += ["| change | address | effect |", "|---|---|---|"]
        lines += [
            f"| {_words(c)} | `{c.address}` | {output.badge(c.category)} |" for c in drift.changes
        ]
        for change in drift.changes:
            symbol = change.action.value.strip()
            lines += ["", f"#### {symbol} `{change.address}` ({_words(change)})", ""]
            lines += output.markdown_body(change)
        lines += [
            "",
            f"`dwconf plan {drift.environment}` shows how apply would put them back.",
        ]
    if drift.ignored:
        lines += ["", "Ignored: " + ", ".join(f"`{i}`" for i in drift.ignored)]
    return redact("\n".join(lines) + "\n")


def as_json(drift: Drift) -> str:
    return redact(json.dumps(drift.as_dict(), indent=2, default=str) + "\n")


FORMATS = {"text": text, "markdown": markdown, "json": as_json}
