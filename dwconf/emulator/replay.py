"""Serving a recording (`dwconf emulator serve --replay DIR`): the answers `dwconf probe --record`
kept from a real environment, read-only, under the emulator's usual URLs and sign-in.

A request is answered with the recorded answer of the same method, path and query; Dataverse
`$batch` reads are answered part by part from the recorded single reads (the provider bundles
the same queries `probe` makes one by one). Anything not recorded is 404, any write 405: a
replay is a fixture, not an environment. Recorded pages lose their `@odata.nextLink` (the link
points at the real service).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dwconf.emulator.dataverse import batch, odata
from dwconf.emulator.dataverse.request import DvRequest
from dwconf.emulator.gateway.request import error_reply, reply
from dwconf.emulator.reply import Reply
from dwconf.recording import Recorded, Recording

READS = ("GET",)
# POSTs that only read, as the provider makes them
READING_POSTS = ("/$batch", "/getTemplatePrerequisiteSequences/")


def _found(
    recording: Recording, surface: str, method: str, path: str, params: dict[str, str]
) -> Recorded | None:
    return recording.find(surface, method, path, params)


def _page(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k != "@odata.nextLink"}
    return body


@contextlib.contextmanager
def _no_change_set() -> Iterator[None]:
    yield


def dataverse(recording: Recording, request: DvRequest) -> Reply:
    if request.path == "/$batch" and request.method == "POST":
        return batch.run(request, lambda part: dataverse(recording, part), _no_change_set)
    if request.method not in READS:
        return odata.error(405, "", "This is a replay of a recording: it answers reads only.")
    found = _found(recording, "dataverse", request.method, request.path, request.params)
    if found is None:
        return odata.error(404, "", f"Not in the recording: GET {request.path}.")
    return odata.json_reply(found.status, _page(found.body))


def gateway(recording: Recording, method: str, path: str, params: dict[str, str]) -> Reply:
    reading = method in READS or any(p in path.lower() for p in _lower(READING_POSTS))
    if not reading:
        return error_reply(
            405, "replay.read_only", "This is a replay of a recording: it answers reads only."
        )
    found = _found(recording, "gateway", method, path, params)
    if found is None:
        return error_reply(404, "replay.not_recorded", f"Not in the recording: {method} {path}.")
    return reply(found.status, found.body)


def _lower(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.lower() for v in values)
