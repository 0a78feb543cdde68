"""Work on two cores: a forked child and the parent share a large job, each taking the next
chunk of it from one queue until none is left.

At 1,000 maps, parsing is about half of `dwconf validate` and the map rules a third of the
rest. For each, when there is enough of it, the parent forks once; the child works with
everything the parent had loaded and sends what it did back through a pipe. Whatever the child
could not do, or everything when the child fails, the parent does itself, so the result is the
same as doing the work one item after another:

- parsing: the fast path (yaml12.fast_data) on the bytes the parent read before forking; the
  child sends the data back with `marshal`, exact for every value YAML data holds, and the
  parent also makes the documents of the files it parses itself;
- map rules: the child sends the diagnostics back with `pickle`. The parent first does what it
  was given to do meanwhile (`dwconf plan` builds the desired state, and reads a local
  environment, while the maps are checked), so the child takes more chunks.

The queue is a pipe holding each chunk's first index as four bytes, written whole before the
fork: a read of four bytes takes one index, and two readers never take the same one.

Forking is skipped where it is unsafe or pointless: no `os.fork` (Windows), other threads
running (a lock held by one of them would stay held in the child), SIGCHLD ignored (children
reaped unseen), little work, or DWCONF_JOBS=1. Only Python threads are seen: a native thread
holding a lock at fork time could still hang the child, and collecting has no timeout.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

MIN_ITEMS = 200
CHUNKS = 64  # about as many chunks as this: small enough that both finish close together
_INDEX = 4  # bytes of one chunk index in the queue

T = TypeVar("T")


def worth_forking(count: int) -> bool:
    return (
        hasattr(os, "fork")
        and count >= MIN_ITEMS
        and os.environ.get("DWCONF_JOBS", "") != "1"
        and alone()
        and signal.getsignal(signal.SIGCHLD) is not signal.SIG_IGN  # children reaped unseen
    )


def alone() -> bool:
    """No other thread runs in this process."""
    return threading.active_count() == 1


def in_child(
    work: Callable[[], Any],
    encode: Callable[[Any], bytes] = pickle.dumps,
    decode: Callable[[bytes], Any] = pickle.loads,
) -> Callable[[], Any | None]:
    """Fork a child that runs `work`; the returned function waits for the child and gives what
    `work` returned, or None when the child failed. Call it exactly once."""
    read_end, write_end = os.pipe()
    # Ctrl-C goes to the parent only: the child finishes its bounded work and the parent, which
    # always collects it, then stops. Blocked across fork, the signal can't reach the child
    # before it is inside its own `try`.
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: work, send, leave without running any clean-up of the parent
        status = 1
        try:
            os.close(read_end)
            payload = encode(work())
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            status = 0
        finally:
            os._exit(status)
    signal.pthread_sigmask(signal.SIG_SETMASK, before)
    os.close(write_end)
    return lambda: _collect(pid, read_end, decode)


def _collect(pid: int, read_end: int, decode: Callable[[bytes], Any]) -> Any | None:
    try:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
    finally:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by someone else: the payload alone tells
            status = 0
    if status != 0:
        return None
    try:
        return decode(payload)
    except Exception:  # a truncated or garbled payload: the parent does the work itself
        return None


def shared(
    count: int,
    run: Callable[[int, int], list[T]],
    meanwhile: Callable[[], object] | None = None,
    *,
    encode: Callable[[Any], bytes] = pickle.dumps,
    decode: Callable[[bytes], Any] = pickle.loads,
    here: Callable[[int, int], list[T]] | None = None,
) -> list[T]:
    """`run(start, stop)` over the items [0, count), joined in order: on two cores when
    `worth_forking(count)`, else in this process. With a child, this process first runs
    `meanwhile`, work ahead that the caller would otherwise do afterwards, then takes chunks
    too; without one, `meanwhile` is not run (nothing would be gained by it). `encode` and
    `decode` carry the child's results (a dict of lists by chunk start) back. `here`, when
    given, is what this process runs instead of `run`: the same results, and whatever else it
    keeps for itself."""
    here = run if here is None else here
    if not worth_forking(count):
        return here(0, count)
    size = -(-count // CHUNKS)
    read_end, write_end = os.pipe()
    try:
        try:
            os.write(
                write_end, b"".join(i.to_bytes(_INDEX, "little") for i in range(0, count, size))
            )
        finally:
            os.close(write_end)  # an empty queue then reads as the end
        try:
            collect = in_child(lambda: _take(read_end, size, count, run), encode, decode)
        except OSError:  # no fork (out of processes or memory): all of it here
            return here(0, count)
        finished = False
        try:
            if meanwhile is not None:
                meanwhile()
            mine = _take(read_end, size, count, here)
            finished = True
        finally:
            if not finished:  # empty the queue so the child stops soon, then wait for it
                while os.read(read_end, 4096):
                    pass
            theirs = collect()
    finally:
        os.close(read_end)
    if isinstance(theirs, dict):
        mine = {**theirs, **mine}
    starts = range(0, count, size)
    return [item for start in starts for item in _chunk(mine, start, size, count, here)]


def _take(
    queue: int, size: int, count: int, work: Callable[[int, int], list[T]]
) -> dict[int, list[T]]:
    """Chunks taken from the queue until it is empty, each worked on: results by start."""
    done: dict[int, list[T]] = {}
    while index := os.read(queue, _INDEX):
        start = int.from_bytes(index, "little")
        done[start] = work(start, min(start + size, count))
    return done


def _chunk(
    done: dict[int, list[T]], start: int, size: int, count: int, run: Callable[[int, int], list[T]]
) -> list[T]:
    """A chunk's results: from either process, or worked out now when the child failed."""
    stop = min(start + size, count)
    found = done.get(start)
    return found if isinstance(found, list) and len(found) == stop - start else run(start, stop)
