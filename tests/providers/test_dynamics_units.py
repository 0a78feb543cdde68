"""The dynamics provider's pieces without a server: `Retry-After`, `$batch` bodies and answers,
the gateway's shapes, and the definition cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx

from dwconf.live import RunState
from dwconf.providers.dynamics import batch, shapes, wire
from dwconf.providers.dynamics.cache import DefinitionCache, Known
from dwconf.providers.dynamics.transport import retry_after


def answer(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers, request=httpx.Request("GET", "https://x/y"))


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after(answer(**{"Retry-After": "7"})) == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(answer(**{"Retry-After": later})) or 0) <= 30
    assert retry_after(answer()) is None
    assert retry_after(answer(**{"Retry-After": "soon"})) is None


def test_a_batch_answer_is_split_into_responses() -> None:
    parts = [batch.Get("https://o/api/data/v9.2/a", {}), batch.Get("https://o/api/data/v9.2/b", {})]
    content_type, body = batch.body(parts)
    assert content_type.startswith("multipart/mixed; boundary=batch_")
    assert body.count(b"GET https://o/api/data/v9.2/") == 2
    reply = (
        b"--batchresponse_1\r\nContent-Type: application/http\r\n\r\n"
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"value": [1]}\r\n'
        b"--batchresponse_1\r\nContent-Type: application/http\r\n\r\n"
        b'HTTP/1.1 404 Not Found\r\n\r\n{"error": {"code": "", "message": "gone"}}\r\n'
        b"--batchresponse_1--\r\n"
    )
    outer = httpx.Response(
        200,
        headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"},
        content=reply,
        request=httpx.Request("POST", "https://o/api/data/v9.2/$batch"),
    )
    first, second = batch.responses(outer, parts)
    assert (first.status_code, first.json()) == (200, {"value": [1]})
    assert (second.status_code, second.json()["error"]["message"]) == (404, "gone")
    assert str(second.request.url) == "https://o/api/data/v9.2/b"


def test_a_dwmap_becomes_a_live_map() -> None:
    version = {"major": 1, "minor": 2, "build": 0, "revision": 7}
    dwmap = {
        "leftEntity": {"name": "Customers V3"},
        "rightEntity": {"name": "accounts"},
        "detail": {
            "tid": "T2",
            "pid": "P",
            "state": "5",
            "template": {"id": "T2", "version": version},
            "templates": [
                {"id": "T1", "version": {"major": 1}},
                {"id": "T2", "version": version},
            ],
            "lastRequests": [
                {"requestId": "r", "action": "5", "createdOn": "2025-03-01T09:00:00Z"}
            ],
            "lastRequest": {
                "requestId": "r",
                "action": "5",
                "state": "2",
                "createdOn": "2025-03-01T09:00:00Z",
            },
        },
    }
    parsed = wire.parse("read the table maps", wire.DWMap, dwmap)
    live = shapes.live_map("read the table maps", parsed, shapes.fallback_name(parsed), None)
    assert live.name == "Customers V3 (accounts)"
    assert (live.state, live.active_version, live.versions) == (
        RunState.PAUSED,
        "1.2.0.7",
        ("1.0.0.0", "1.2.0.7"),
    )
    assert live.paused_since == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert live.last_request is not None and live.last_request.action == "pause"


def test_the_cache_is_content_addressed_and_survives_a_restart(tmp_path: Path) -> None:
    cache = DefinitionCache.for_environment(tmp_path, "https://org|https://gw")
    definition = {"name": "X (x)", "version": "1.0.0.0"}
    known = cache.put_row("row1", 'W/"1"', Known(definition, "sol"))
    cache.put_template("row1", "1.0.0.0", known)
    cache.put_row("row2", 'W/"9"', Known(dict(definition), "sol"))  # same content: stored once
    cache.save()
    again = DefinitionCache.for_environment(tmp_path, "https://org|https://gw")
    assert again.row("row1", 'W/"1"') == Known(definition, "sol", known.sha)
    assert again.row("row1", 'W/"2"') is None  # another ETag: the row changed
    assert again.template("row1", "1.0.0.0") is not None
    data = next((tmp_path / ".dwconf" / "cache" / "dynamics").glob("*.json")).read_text()
    assert data.count('"X (x)"') == 1
