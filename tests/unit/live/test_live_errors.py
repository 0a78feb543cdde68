"""The refusal classes: stable, unique codes inside dwconf's exception tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwconf.errors import ProviderError
from dwconf.live import LiveError, RunState
from dwconf.live import errors as live_errors


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_refusal_has_its_own_code_and_an_http_status() -> None:
    classes = _subclasses(LiveError)
    codes = [c.code for c in classes]
    assert len(classes) >= 20
    assert len(set(codes)) == len(codes)
    assert all(issubclass(c, ProviderError) for c in classes)
    assert all(c.http_status in (400, 404, 409, 412, 500, 503) for c in classes)


def test_run_state_labels_are_the_workspace_words() -> None:
    assert [s.label for s in RunState] == [
        "Not running",
        "Initializing",
        "Running",
        "Paused",
        "Resuming",
    ]


def test_partition_failure_text() -> None:
    assert live_errors.partition_failure("DWM-1-2") == (
        "Dual-write failure - Plugin registration failed: [(Unable to get partition map for "
        "project DWM-1-2 Error Exceeds the maximum partitions allowed for mapping DWM-1-2)]"
    )


def test_a_busy_store_is_a_live_error_not_a_crash(tmp_path: Path) -> None:
    import sqlite3

    from dwconf.live import Environment
    from dwconf.live.errors import StoreUnavailable

    env = Environment.open(tmp_path / "e.sqlite")
    blocker = sqlite3.connect(tmp_path / "e.sqlite", timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")
    env._conn.execute("PRAGMA busy_timeout = 100")
    try:
        with pytest.raises(StoreUnavailable, match="unavailable"):
            env.set_legal_entities(["USMF"])
    finally:
        blocker.rollback()
        blocker.close()
    assert env.set_legal_entities(["USMF"]) is True
