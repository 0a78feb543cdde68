"""Recordings of a real environment's answers (`dwconf probe ENV --record DIR`), redacted, and
read back (`dwconf emulator serve --replay DIR`), so they become test fixtures.

A recording is a folder: `manifest.json` (the environment, its F&O host, when, and the calls in
order) and one file per answer under `gateway/` or `dataverse/` with the method, the path
below the surface's base URL, the query, the status and the body.

Redaction keeps ids (they tie the answers together) and takes out what says who or holds a
secret: tokens and secret-shaped strings, e-mail addresses, the values of fields that name a
user (`owner`, `dwconf_who`, …) and of fields that hold a secret (`…secret`, `…password`,
`…connectionstring`, …).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dwconf import __version__
from dwconf.errors import DwconfError
from dwconf.redact import MASK, redact_data

MANIFEST = "manifest.json"
FORMAT = 1
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
SOMEONE = "someone@example.invalid"
USER_FIELD = re.compile(
    r"(?i)^(?:.*_)?(owner|who|user|username|userprincipalname|upn|createdby|modifiedby)"
    r"(?:@.*)?$"
)
SECRET_FIELD = re.compile(
    r"(?i)(secret|password|passwd|token|connectionstring|sas|credential|apikey)"
)
PRIVATE_BODY = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Recorded:
    """One answer as recorded."""

    surface: str  # gateway | dataverse
    method: str
    path: str  # below the surface's base URL
    params: dict[str, str]
    status: int
    body: Any

    @property
    def key(self) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
        return (
            self.surface,
            self.method.upper(),
            self.path.lower(),
            tuple(sorted(self.params.items())),
        )


class RecordingError(DwconfError):
    """A folder that isn't a readable recording."""


# Redaction ------------------------------------------------------------------------------------


def _redacted(value: Any, field: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redacted(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, field) for v in value]
    if not isinstance(value, str) or not value:
        return value
    if SECRET_FIELD.search(field):
        return MASK
    if USER_FIELD.match(field):
        return SOMEONE if "@" in value else "someone"
    return EMAIL.sub(SOMEONE, value)


def redacted(body: Any) -> Any:
    """`body` without secrets, tokens, e-mail addresses or user names; ids kept."""
    return redact_data(_redacted(body))


# Writing and reading --------------------------------------------------------------------------


def write(
    folder: Path, environment: str, finops_host: str, answers: Iterable[Recorded]
) -> list[Path]:
    """Write the answers (redacted) and the manifest; returns the files written."""
    written: list[Path] = []
    calls = []
    for index, answer in enumerate(answers, 1):
        name = PRIVATE_BODY.sub("-", answer.path.strip("/").split("?")[0])[-60:].strip("-")
        path = folder / answer.surface / f"{index:02d}-{answer.method.lower()}-{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "method": answer.method,
            "path": answer.path,
            "params": answer.params,
            "status": answer.status,
            "body": redacted(answer.body),
        }
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
        calls.append({"surface": answer.surface, "file": str(path.relative_to(folder))})
    manifest = {
        "format": FORMAT,
        "environment": environment,
        "finops_host": finops_host,
        "recorded": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dwconf_version": __version__,
        "calls": calls,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return [folder / MANIFEST, *written]


@dataclass(frozen=True)
class Recording:
    environment: str
    finops_host: str
    answers: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], Recorded]

    def find(self, surface: str, method: str, path: str, params: dict[str, str]) -> Recorded | None:
        wanted = Recorded(surface, method, path, params, 0, None).key
        return self.answers.get(wanted)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise RecordingError(f"can't read {path}: {exc}") from exc


def read(folder: Path) -> Recording:
    manifest = _load(folder / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RecordingError(
            f"{folder} is not a recording of this dwconf version",
            hint="make one with: dwconf probe ENV --record DIR",
        )
    answers = {}
    for call in manifest.get("calls") or []:
        data = _load(folder / str(call.get("file"))) if isinstance(call, dict) else None
        if not isinstance(data, dict) or not isinstance(call, dict):
            raise RecordingError(f"{folder / MANIFEST} lists a call that isn't a recorded answer")
        recorded = Recorded(
            surface=str(call.get("surface")),
            method=str(data.get("method")),
            path=str(data.get("path")),
            params={str(k): str(v) for k, v in (data.get("params") or {}).items()},
            status=int(data.get("status") or 200),
            body=data.get("body"),
        )
        answers[recorded.key] = recorded
    return Recording(str(manifest.get("environment")), str(manifest.get("finops_host")), answers)
