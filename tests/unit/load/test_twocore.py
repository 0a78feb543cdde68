"""Parsing on two cores gives exactly what parsing one file after another gives."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from dwconf.load import sources, twocore
from dwconf.load.sources import read_sources
from tests.support import assert_one_child_reaped, fork_from, forked_children, sources_summary


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DWCONF_CACHE", "off")  # every file is parsed (parsecache.py)
    root = generate(tmp_path / "repo", maps=40, fields=6, solutions=2)
    maps = sorted((root / "solutions").glob("*/maps/*.yaml"))
    # Files the fast path leaves to the careful loader, a broken one and one that is not UTF-8,
    # last: among those the child gets when it takes most (`child_parses_most`).
    maps[-1].write_text("name: &a x\nalias: *a\n", encoding="utf-8")
    maps[-2].write_text("name: [unclosed\n", encoding="utf-8")
    maps[-3].write_bytes(b"name: caf\xe9\n")
    maps[-4].write_text("name: '{{ env.name }}'\nlevel: 3\n", encoding="utf-8")
    return root


@pytest.fixture
def one_by_one(repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What reading `repo` gives in one process; then forking is allowed from 10 files."""
    monkeypatch.setenv("DWCONF_JOBS", "1")
    found = sources_summary(read_sources(repo))
    monkeypatch.delenv("DWCONF_JOBS")
    fork_from(monkeypatch, 10)
    return found


@pytest.fixture
def child_parses_most(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[list[int], Path]:
    """The parent parses slowly, so the child takes most files; it logs the first bytes of
    each file it parses. The pids forked, and the log."""
    children = forked_children(monkeypatch)
    log = tmp_path / "parsed by the child"
    real, parent = sources.fast_data, os.getpid()

    def fast_data(raw: bytes) -> Any:
        if os.getpid() == parent:
            time.sleep(0.02)
        else:
            with log.open("ab") as out:
                out.write(raw[:12] + b"\n")
        return real(raw)

    monkeypatch.setattr(sources, "fast_data", fast_data)
    return children, log


def test_files_parsed_on_two_cores_read_as_in_one_process(
    repo: Path, one_by_one: list[Any], child_parses_most: tuple[list[int], Path]
) -> None:
    children, log = child_parses_most
    assert sources_summary(read_sources(repo)) == one_by_one
    assert_one_child_reaped(children)
    parsed = log.read_bytes()
    for special in (b"name: &a x", b"name: [uncl", b"name: caf\xe9", b"name: '{{ e"):
        assert special in parsed  # the child had the files the careful loader reads
    assert any(code == "DW1003" for _, code, _ in one_by_one[1])  # the broken file is reported
    assert any(code == "DW1001" for _, code, _ in one_by_one[1])  # and the one not UTF-8


def test_a_failing_child_leaves_every_file_to_the_parent(
    repo: Path,
    one_by_one: list[Any],
    child_parses_most: tuple[list[int], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    children, log = child_parses_most
    real = twocore.in_child

    def failing(work: Any, encode: Any, decode: Any) -> Any:
        def fails() -> Any:
            work()  # takes chunks from the queue, then fails
            raise RuntimeError("the child fails")

        return real(fails, encode, decode)

    monkeypatch.setattr(twocore, "in_child", failing)
    assert sources_summary(read_sources(repo)) == one_by_one
    assert len(children) == 1 and log.exists()


def test_the_child_is_waited_for_when_loading_stops_early(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fork_from(monkeypatch, 10)
    children = forked_children(monkeypatch)

    def fail(files: Any, folder: str) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(sources, "_solution_files", fail)
    with pytest.raises(KeyboardInterrupt):
        read_sources(repo)
    assert_one_child_reaped(children)


def test_no_fork_with_other_threads_few_files_or_when_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not twocore.alone()
        assert not twocore.worth_forking(10 * twocore.MIN_ITEMS)
    finally:
        release.set()
        other.join()
    monkeypatch.setattr(twocore, "alone", lambda: True)
    assert twocore.worth_forking(twocore.MIN_ITEMS)
    assert not twocore.worth_forking(twocore.MIN_ITEMS - 1)
    monkeypatch.setenv("DWCONF_JOBS", "1")
    assert not twocore.worth_forking(10 * twocore.MIN_ITEMS)


def test_children_reaped_by_an_ignored_sigchld_still_deliver() -> None:
    """A process started with SIGCHLD ignored has its children reaped by the system: no fork
    is chosen then, and a child collected that way still gives its result."""
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert not twocore.worth_forking(10 * twocore.MIN_ITEMS)
        assert twocore.in_child(lambda: [1, "two"])() == [1, "two"]
        assert twocore.in_child(lambda: 1 / 0)() is None
    finally:
        signal.signal(signal.SIGCHLD, before)


def _chunks_by_process(start: int, stop: int) -> list[tuple[int, int]]:
    return [(i, os.getpid()) for i in range(start, stop)]


def test_shared_work_is_joined_in_order_whoever_did_each_chunk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fork_from(monkeypatch, 10)
    children = forked_children(monkeypatch)
    started = tmp_path / "child started"
    ran: list[int] = []

    def run(start: int, stop: int) -> list[tuple[int, int]]:
        if os.getpid() != parent:
            started.touch()
        return _chunks_by_process(start, stop)

    def meanwhile() -> None:  # until the child has taken a chunk: both processes work
        ran.append(os.getpid())
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    parent = os.getpid()
    found = twocore.shared(200, run, meanwhile)
    assert [i for i, _ in found] == list(range(200))
    assert {pid for _, pid in found} <= {parent, *children}
    assert any(pid in children for _, pid in found)  # the child took chunks
    assert ran == [parent]
    assert_one_child_reaped(children)


def test_shared_work_on_one_core_skips_the_work_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWCONF_JOBS", "1")
    children = forked_children(monkeypatch)
    ran: list[int] = []
    found = twocore.shared(500, _chunks_by_process, lambda: ran.append(1))
    assert found == _chunks_by_process(0, 500) and ran == [] and children == []


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd" if Path("/proc/self/fd").exists() else "/dev/fd"))


def test_shared_work_without_a_fork_is_done_here_and_leaves_no_descriptor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fork_from(monkeypatch, 10)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(twocore.os, "fork", no_fork)
    before = _open_descriptors()
    ran: list[int] = []
    for _ in range(5):
        assert twocore.shared(300, _chunks_by_process, lambda: ran.append(1)) == (
            _chunks_by_process(0, 300)
        )
    assert _open_descriptors() == before and ran == []


def test_shared_work_a_child_could_not_do_is_done_by_the_parent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fork_from(monkeypatch, 10)
    parent = os.getpid()
    failed = tmp_path / "child failed"

    def run(start: int, stop: int) -> list[tuple[int, int]]:
        if os.getpid() != parent:
            failed.touch()
            raise RuntimeError("the child fails")
        return _chunks_by_process(start, stop)

    def meanwhile() -> None:  # until the child has taken a chunk, and failed
        deadline = time.monotonic() + 30
        while not failed.exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    assert twocore.shared(300, run, meanwhile) == _chunks_by_process(0, 300)
    assert failed.exists()


def test_shared_work_failing_in_the_parent_stops_and_reaps_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fork_from(monkeypatch, 10)
    children = forked_children(monkeypatch)
    parent = os.getpid()
    done_by_child: list[int] = []

    def run(start: int, stop: int) -> list[int]:
        if os.getpid() == parent:
            raise KeyboardInterrupt
        time.sleep(0.01)
        return list(range(start, stop))

    real_collect = twocore._collect

    def collect(pid: int, read_end: int, decode: Any) -> Any:
        found = real_collect(pid, read_end, decode)
        done_by_child.extend(found or [])
        return found

    monkeypatch.setattr(twocore, "_collect", collect)
    with pytest.raises(KeyboardInterrupt):
        twocore.shared(10_000, run)
    assert_one_child_reaped(children)
    assert len(done_by_child) < twocore.CHUNKS - 1  # the parent emptied the queue
