"""The mermaid block of a plan's markdown: the changed maps and what waits for them.

Kept small on large plans: at most MAX_NODES maps, the most severe changes first, and a line
that says how many were left out.
"""

from __future__ import annotations

from dwconf.graph.model import changed_maps_graph
from dwconf.graph.text import mermaid
from dwconf.plan.definition import Plan

MAX_NODES = 25


def changed_maps_block(plan: Plan, limit: int = MAX_NODES) -> list[str]:
    """Markdown lines: a mermaid flowchart, or nothing when no map changes."""
    graph = changed_maps_graph(plan, limit)
    if graph is None:
        return []
    implied = " (implied arrows left out: A → B → C draws no A → C)" if graph.implied else ""
    lines = [
        f"Changed maps and the maps that wait for them{implied}:",
        "",
        "```mermaid",
        mermaid(graph).rstrip("\n"),
        "```",
        "",
    ]
    if graph.left_out:
        lines += [f"{graph.left_out} more map(s) left out of the graph to keep it small.", ""]
    return lines
