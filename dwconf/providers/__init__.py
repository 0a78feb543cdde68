"""Providers: how dwconf reaches a live environment, chosen by `provider.type` (ARCHITECTURE §4).

`PROVIDERS` is the explicit registry (style rule 7): one factory per `provider.type` value,
each opening a `LiveWriter` for one environment of one repository. Planning opens a
`LiveReader` with `open_reader`, which hides the writes; apply opens a `LiveWriter`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dwconf.errors import ProviderError
from dwconf.live import LiveState
from dwconf.model import Environment
from dwconf.providers import local
from dwconf.providers.base import LiveReader, LiveWriter, ReadOnly, WaitTimeout
from dwconf.providers.dynamics import DynamicsProvider

ProviderFactory = Callable[[Path, Environment], LiveWriter]
"""Opens a provider for `env`; `project_root` is the configuration repository."""


def _local(project_root: Path, env: Environment) -> LiveWriter:
    return local.LocalProvider.open(project_root, env.name)


PROVIDERS: dict[str, ProviderFactory] = {
    "local": _local,
    "dynamics": DynamicsProvider.open,
}


def open_writer(project_root: Path, env: Environment) -> LiveWriter:
    """Open `env`'s environment for apply."""
    kind = env.provider.type
    factory = PROVIDERS.get(kind)
    if factory is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ProviderError(f"unknown provider type '{kind}'.", hint=f"Known types: {known}.")
    return factory(project_root, env)


def open_reader(project_root: Path, env: Environment) -> LiveReader:
    """Open `env`'s environment for planning: reads only, and nothing is written. A local
    environment that exists is opened read-only (commands that read work on a read-only
    folder); one that was never made reads as the freshly linked environment apply would
    make, held in memory: a read creates no state."""
    found = open_reader_if_local(project_root, env)
    if found is not None:
        return found
    if env.provider.type == "local":
        return ReadOnly(local.LocalProvider.unborn(project_root, env.name))
    return ReadOnly(open_writer(project_root, env))


def open_reader_if_local(project_root: Path, env: Environment) -> LiveReader | None:
    """`open_reader` for a local environment that already exists, else None: nothing is made,
    written or locked."""
    if env.provider.type != "local" or not local.state_path(project_root, env.name).exists():
        return None
    return ReadOnly(local.LocalProvider.open_existing(project_root, env.name))


def local_state_path(project_root: Path, env: Environment) -> Path:
    """The file a local environment lives in; refused for any other provider type."""
    if env.provider.type != "local":
        raise ProviderError(
            f"environment '{env.name}' uses provider '{env.provider.type}'; only a local "
            f"environment can be reset.",
            hint="A real environment's link is reset in its Dual-write workspace.",
        )
    return local.state_path(project_root, env.name)


def reset_local(project_root: Path, env: Environment) -> LiveState:
    """Replace a local environment with a fresh, newly linked one and return its state."""
    local_state_path(project_root, env)
    return local.recreate(project_root, env.name)


__all__ = [
    "PROVIDERS",
    "LiveReader",
    "LiveWriter",
    "ProviderFactory",
    "WaitTimeout",
    "local_state_path",
    "open_reader",
    "open_reader_if_local",
    "open_writer",
    "reset_local",
]
