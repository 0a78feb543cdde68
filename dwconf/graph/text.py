"""A graph as mermaid (GitHub and Azure DevOps render it in markdown) and as Graphviz dot.

Node ids are made safe for both languages (n0, n1, ...); labels are quoted and escaped.
Colours follow the plan's categories, from grey (metadata) to red (destructive); every
category has one (a plan with a category the graph can't colour could not be reviewed).
"""

from __future__ import annotations

import shutil
import subprocess

from dwconf.errors import DwconfError
from dwconf.graph.model import Graph, Node
from dwconf.plan.actions import Category

COLOURS = {
    Category.METADATA: "#9e9e9e",
    Category.START: "#4db6ac",
    Category.RESTART: "#f9a825",
    Category.INITIAL_SYNC: "#1e88e5",
    Category.DESTRUCTIVE: "#e53935",
}
UNCHANGED = "#eceff1"


def _ids(graph: Graph) -> dict[str, str]:
    return {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}


def _mermaid_label(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _groups(graph: Graph) -> dict[str, list[Node]]:
    groups: dict[str, list[Node]] = {}
    for node in graph.nodes:
        groups.setdefault(node.group, []).append(node)
    return groups


def mermaid(graph: Graph) -> str:
    """A `flowchart LR`: solutions as subgraphs, waits as arrows, lookups dotted."""
    ids = _ids(graph)
    lines = ["flowchart LR"]
    for number, (group, nodes) in enumerate(sorted(_groups(graph).items())):
        indent = "  "
        if group:
            lines.append(f'  subgraph g{number}["{_mermaid_label(group)}"]')
            indent = "    "
        lines += [f'{indent}{ids[n.id]}["{_mermaid_label(n.label)}"]' for n in nodes]
        if group:
            lines.append("  end")
    for edge in graph.edges:
        arrow = "-.->|lookup|" if edge.kind == "lookup" else "-->"
        lines.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
    used = {n.category for n in graph.nodes if n.category is not None}
    for category in Category:
        if category in used:
            lines.append(f"  classDef {category.value} fill:{COLOURS[category]},color:#000")
            members = ",".join(ids[n.id] for n in graph.nodes if n.category is category)
            lines.append(f"  class {members} {category.value}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(graph: Graph) -> str:
    """A Graphviz digraph: solutions as clusters, colours by category."""
    ids = _ids(graph)
    lines = [
        f"digraph {_dot_quote(graph.title)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="'
        + UNCHANGED
        + '"];',
    ]
    for number, (group, nodes) in enumerate(sorted(_groups(graph).items())):
        indent = "  "
        if group:
            lines += [f"  subgraph cluster_{number} {{", f"    label={_dot_quote(group)};"]
            indent = "    "
        for node in nodes:
            colour = COLOURS[node.category] if node.category else UNCHANGED
            lines.append(
                f"{indent}{ids[node.id]} [label={_dot_quote(node.label)}, "
                f'fillcolor="{colour}", tooltip={_dot_quote(node.id)}];'
            )
        if group:
            lines.append("  }")
    for edge in graph.edges:
        style = ' [style=dashed, label="lookup"]' if edge.kind == "lookup" else ""
        lines.append(f"  {ids[edge.source]} -> {ids[edge.target]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(graph: Graph) -> str:
    """The graph drawn by Graphviz's `dot`, which must be on PATH."""
    program = shutil.which("dot")
    if program is None:
        raise DwconfError(
            "--format svg needs Graphviz's `dot` program, which is not on PATH",
            "install Graphviz (apt-get install graphviz, brew install graphviz), or use "
            "--format dot and draw it elsewhere",
        )
    done = subprocess.run(
        [program, "-Tsvg"], input=dot(graph), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise DwconfError(f"dot failed: {done.stderr.strip()}", "report this graph as a bug")
    return done.stdout
