"""Renders templates in a child process with its memory capped, for the template red-team
tests: `python -m tests.security.render_child MEMORY_BYTES < templates.json`. Prints one JSON
outcome per template: the diagnostic code (or "ok"), the rendered value's size (as
`dwconf.templating.limits.size_of` counts it), the seconds it took. A template that raises (a MemoryError past the cap) is reported by the exception's
name; one that hangs is stopped by the parent's timeout."""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def outcome(text: str, context: dict[str, Any]) -> dict[str, Any]:
    from dwconf.templating import render_document
    from dwconf.templating.limits import size_of
    from dwconf.yaml import read

    doc, _ = read(json.dumps({"value": text}).encode(), "m.yaml")
    start = time.monotonic()
    try:
        data, problems = render_document(doc, context)
    except Exception as exc:  # reported as the outcome: the test names the case that raised
        return {"code": type(exc).__name__, "size": 0, "seconds": time.monotonic() - start}
    seconds = time.monotonic() - start
    if problems:
        first = problems[0]
        return {"code": first.code, "size": 0, "seconds": seconds, "message": first.message}
    return {"code": "ok", "size": size_of(data["value"], cap=2**62), "seconds": seconds}


def main() -> None:
    memory = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from dwconf.templating import context_for

    context = context_for("dev", "dev", ["USMF", "DEMF"], {"code": 3, "name": "Contoso"})
    for text in json.load(sys.stdin):
        print(json.dumps(outcome(text, context)), flush=True)


if __name__ == "__main__":
    main()
