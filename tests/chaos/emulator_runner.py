"""Run the dwconf CLI in this process against the emulator, with two changes to `dwconf` itself:

    python -m tests.chaos.emulator_runner -- dwconf ARGS...

- the dynamics provider is opened with `CHAOS` tuning: status polls every 10 ms instead of
  every 2 s and backoff from 20 ms, so a run takes seconds; `Retry-After` is still honoured
  (up to 2 s, and the whole host pauses, as with the defaults);
- every request carries an `x-dwconf-step` header: the id of the plan step it serves, or
  `apply:<provider method>` for a provider call outside any step (the lease, the deployment
  record, planning and verification reads). The emulator counts requests per header value
  (`/_emulator/stats`), which is how the harness sees an operation sent again. Requests made
  on the provider's read pool carry no header: reads may repeat.

Nothing else is replaced: the faults come from the emulator's `/_emulator/faults` rules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from dwconf import providers
from dwconf.apply.operations import OPERATIONS
from dwconf.cli.main import main
from dwconf.model import Environment
from dwconf.providers.base import LiveWriter
from dwconf.providers.dynamics import DynamicsProvider, Tuning
from dwconf.providers.dynamics.transport import Request, RetryPolicy, Transport
from tests.chaos.runner import _current, _traced  # the same step tracing as the local runs

STEP_HEADER = "x-dwconf-step"
NOT_CALLS = {"close", "settings", "tuning", "transport", "dataverse", "gateway", "locks", "maps"}
CHAOS = Tuning(
    poll_interval_s=0.01,
    timeout_s=30.0,
    retry=RetryPolicy(attempts=6, max_wait_s=2.0, backoff_s=0.02),
)


def tag() -> str:
    """The header value for a request made now on this thread ("" for none)."""
    return str(getattr(_current, "step", "") or getattr(_current, "call", ""))


class Tagged:
    """The provider, with each call outside a step named `apply:<method>` for its requests."""

    def __init__(self, inner: DynamicsProvider) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name in NOT_CALLS or name.startswith("_") or not callable(target):
            return target
        return lambda *args, **kwargs: self._call(name, target, args, kwargs)

    def _call(self, name: str, target: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        outer = getattr(_current, "call", "")
        _current.call = outer or f"apply:{name}"
        try:
            return target(*args, **kwargs)
        finally:
            _current.call = outer


def install() -> None:
    """Open dynamics environments with CHAOS tuning and tag every request with its step."""

    def factory(project_root: Path, env: Environment) -> LiveWriter:
        return Tagged(DynamicsProvider.open(project_root, env, tuning=CHAOS))

    providers.PROVIDERS["dynamics"] = factory
    for name, operation in list(OPERATIONS.items()):
        OPERATIONS[name] = _traced(operation)
    send = Transport.send

    def tagged_send(self: Transport, request: Request) -> httpx.Response:
        value = tag()
        if value:
            request = replace(request, headers={**(request.headers or {}), STEP_HEADER: value})
        return send(self, request)

    Transport.send = tagged_send  # type: ignore[method-assign]


def run(argv: list[str]) -> None:
    install()
    sys.argv = ["dwconf", *argv[argv.index("--") + 1 :]]
    main()


if __name__ == "__main__":
    run(sys.argv[1:])
