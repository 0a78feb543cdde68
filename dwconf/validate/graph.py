"""Cycle finding shared by the map and solution dependency rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycles(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Cycles found by an iterative depth-first search, each once, as closed paths."""
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    for start in sorted(edges):
        if start in state:
            continue
        path: list[str] = [start]
        todo: list[list[str]] = [[n for n in edges[start] if n in edges]]
        state[start] = 1
        while path:
            if not todo[-1]:
                state[path.pop()] = 2
                todo.pop()
                continue
            nxt = todo[-1].pop(0)
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append([*cycle, nxt])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append([n for n in edges[nxt] if n in edges])
    return cycles
