"""The speed-ups, in one place, and the one setting that turns them off.

`DWCONF_SPEEDUPS=off` gives the same results, more slowly: every YAML file is read the careful
way (PyYAML, positions kept) without the parse cache, and the garbage collector runs as
Python's defaults say. What each speed-up gains, and the ones dropped because they did not
pay for their complexity, are in docs/performance.md.

- the fast YAML reader (dwconf/yaml/fast.py): a compiled parser for the data of most files;
- the parse cache (dwconf/yaml/cache.py): that data remembered by file content
  (`DWCONF_CACHE=off` turns it off alone);
- the garbage collector's thresholds raised for a command (`for_command`, at the command-line
  entry only): library functions never touch the collector, so a program that embeds dwconf
  keeps its own settings.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

OFF = ("off", "0", "false", "no")
ON = ("", "on", "1", "true", "yes")
SWITCHES = ("DWCONF_SPEEDUPS", "DWCONF_CACHE")  # the settings that take only on or off


def _word(name: str) -> str:
    return os.environ.get(name, "").strip().lower()


def switched_off(name: str) -> bool:
    """One of the `SWITCHES` is set to off."""
    return _word(name) in OFF


def enabled() -> bool:
    return not switched_off("DWCONF_SPEEDUPS")


def misspelt() -> tuple[str, str] | None:
    """The first switch set to something that is neither on nor off, with its value: the
    command line refuses it, rather than run with speed-ups a user meant to turn off."""
    for name in SWITCHES:
        if _word(name) not in (*ON, *OFF):
            return name, os.environ.get(name, "")
    return None


# Collections of the youngest objects once per this many new container objects (Python: 700).
COLLECT_EVERY = 100_000


@contextmanager
def for_command() -> Iterator[None]:
    """Around one command of the command line: the cyclic garbage collector runs rarely.

    A command builds millions of small objects and few cycles; with Python's thresholds the
    collector's repeated scans of the growing heap cost a third of a large validate. At a
    collection per 100,000 new objects it costs a few percent, and the cycles a long-running
    command (the emulator's server) drops are still collected."""
    if not enabled():
        yield
        return
    before = gc.get_threshold()
    gc.set_threshold(COLLECT_EVERY, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
