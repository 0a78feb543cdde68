"""Parsing a large configuration on two cores: a forked child reads the data of half the files.

At 1,000 maps, parsing is about half of `dwconf validate`. When there are many files, the
parent forks once; the child runs the fast path (yaml12.fast_data) on the second half of the
files' bytes, which the parent read before forking, and sends the data back with `marshal`
(exact for every value YAML data holds). The parent parses the first half meanwhile. Each file
the child could not vouch for, or all of them when the child fails, the parent parses itself,
so the result is the same Documents and diagnostics as parsing one file after another.

Forking is skipped where it is unsafe or pointless: no `os.fork` (Windows), other threads
running (a lock held by one of them would stay held in the child), few files, or
DWCONF_PARSE_JOBS=1.
"""

from __future__ import annotations

import marshal
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from dwconf.load.yaml12 import fast_data

MIN_FILES = 200
NOT_DONE = ("not done",)  # a file whose data the child could not vouch for


def worth_forking(count: int) -> bool:
    return (
        hasattr(os, "fork")
        and count >= MIN_FILES
        and os.environ.get("DWCONF_PARSE_JOBS", "") != "1"
        and threading.active_count() == 1
    )


def start(raws: Sequence[bytes]) -> Callable[[], list[Any] | None]:
    """Fork a child that computes `fast_data` of each of `raws`; the returned function waits
    for it and gives the data in order (NOT_DONE for a file left to the parent), or None when
    the child failed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running any clean-up of the parent
        status = 1
        try:
            os.close(read_end)
            found = [fast_data(raw) for raw in raws]
            payload = marshal.dumps([NOT_DONE if d is None else d for d in found])
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return lambda: _collect(pid, read_end, len(raws))


def _collect(pid: int, read_end: int, count: int) -> list[Any] | None:
    try:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    try:
        found = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(found, list) or len(found) != count:
        return None
    return [NOT_DONE if d == NOT_DONE else d for d in found]
