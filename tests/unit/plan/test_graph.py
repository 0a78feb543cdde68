"""The dependency graph of maps and its mermaid and dot text."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from dwconf import planning
from dwconf.errors import DwconfError
from dwconf.graph import model, text
from dwconf.graph.markdown import changed_maps_block
from dwconf.plan.actions import Category
from dwconf.plan.definition import Plan
from dwconf.providers import open_reader

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def dev_objects() -> dict[str, dict[str, object]]:
    return dict(planning.load_desired(ROOT, "dev").state.objects)


def test_depends_on_and_lookups_become_edges_from_the_map_waited_for(
    dev_objects: dict[str, dict[str, object]],
) -> None:
    graph = model.dependency_graph("dev", dev_objects)
    edges = {(e.source, e.target): e.kind for e in graph.edges}
    customers = "map.customers-v3-accounts"
    assert edges[("map.customer-groups-msdyn-customergroups", customers)] == "depends_on"
    lookups = [pair for pair, kind in edges.items() if kind == "lookup"]
    assert lookups, "lookups not stated by depends_on are drawn"
    for source, target in lookups:
        assert (source, target) not in {(s, t) for (s, t), k in edges.items() if k != "lookup"}
    groups = {n.group for n in graph.nodes}
    assert groups == {"contoso_ReferenceMaps", "contoso_CustomerMaps", "contoso_VendorMaps"}


def test_mermaid_and_dot_name_every_node_and_edge_once(
    dev_objects: dict[str, dict[str, object]],
) -> None:
    graph = model.dependency_graph("dev", dev_objects)
    drawn = text.mermaid(graph)
    assert drawn.startswith("flowchart LR\n")
    assert drawn.count("-->") + drawn.count("-.->|lookup|") == len(graph.edges)
    assert '["Customers V3 (accounts)"]' in drawn
    dotted = text.dot(graph)
    assert dotted.count(" -> ") == len(graph.edges)
    assert dotted.count("subgraph cluster_") == 3


def test_labels_cannot_break_out_of_their_quotes() -> None:
    graph = model.Graph("t", (model.Node("map.x", 'A "quoted" <b>name</b>', 'S"1'),), ())
    assert '["A #quot;quoted#quot; #lt;b#gt;name#lt;/b#gt;"]' in text.mermaid(graph)
    assert 'label="A \\"quoted\\" <b>name</b>"' in text.dot(graph)


def test_svg_without_graphviz_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text.shutil, "which", lambda name: None)
    with pytest.raises(DwconfError) as raised:
        text.svg(model.Graph("t", (), ()))
    assert "install Graphviz" in raised.value.hint


@pytest.fixture(scope="module")
def fresh_plan() -> Plan:
    """The example's dev configuration planned against a new, empty environment."""
    want = planning.load_desired(ROOT, "dev")
    env = want.env.model.model_copy(update={"name": "graph-test"})
    with tempfile.TemporaryDirectory() as scratch:
        reader = open_reader(Path(scratch), env)
        try:
            return planning.plan_against(want, reader)
        finally:
            reader.close()


def test_a_large_plan_keeps_the_mermaid_block_small_and_says_what_was_left_out(
    fresh_plan: Plan,
) -> None:
    plan = fresh_plan
    assert len([c for c in plan.changes if c.address.startswith("map.")]) > 10
    lines = changed_maps_block(plan, limit=10)
    block = "\n".join(lines)
    assert "```mermaid" in block
    assert block.count('["') == 10 + block.count("subgraph g")
    left = sum(1 for c in plan.changes if c.address.startswith("map.")) - 10
    assert f"{left} more map(s) left out of the graph to keep it small." in block
    assert "classDef initial_sync" in block


def test_every_category_of_a_plan_is_drawn_in_a_colour_of_its_own() -> None:
    nodes = tuple(model.Node(f"map.{c.value}", c.value, "S", c) for c in Category)
    graph = model.Graph("t", nodes, ())
    drawn = text.mermaid(graph)
    fills = set()
    for category in Category:
        classdef = next(
            line for line in drawn.splitlines() if f"classDef {category.value} " in line
        )
        fills.add(classdef.split("fill:")[1].split(",")[0])
    assert len(fills) == len(Category)
    dotted = text.dot(graph)
    assert len(
        {
            line.split('fillcolor="')[1][:7]
            for line in dotted.splitlines()
            if "label=" in line and "map." in line
        }
    ) == len(Category)


def _edges(*pairs: str) -> list[model.Edge]:
    """`"a>b"` is a wait (depends_on), `"a~b"` a lookup."""
    return [
        model.Edge(*pair.split("~"), "lookup") if "~" in pair else model.Edge(*pair.split(">"))
        for pair in pairs
    ]


def test_waits_and_lookups_that_a_chain_of_waits_implies_are_left_out() -> None:
    edges = _edges("a>b", "b>c", "a>c", "c>d", "a>d", "a~d", "b~e", "x>y", "y~x")
    kept, implied = model.reduce(edges)
    assert kept == _edges("a>b", "b>c", "c>d", "b~e", "x>y", "y~x")
    assert implied == 3
    assert model.reduce(kept) == (kept, 0), "a reduced graph has nothing left to reduce"


def test_a_cycle_implies_nothing() -> None:
    edges = _edges("a>b", "b>c", "c>a", "a>c")
    assert model.reduce(edges) == (edges, 0)


def test_the_drawn_graph_keeps_every_order_of_the_waits(
    dev_objects: dict[str, dict[str, object]],
) -> None:
    every = [e for e in model.map_edges(dev_objects) if e.kind == "depends_on"]
    graph = model.dependency_graph("dev", dev_objects)
    drawn = [e for e in graph.edges if e.kind == "depends_on"]
    assert graph.implied > 0 and len(drawn) < len(every)

    def closure(edges: list[model.Edge]) -> set[tuple[str, str]]:
        reach = {(e.source, e.target) for e in edges}
        while True:
            more = {(a, d) for a, b in reach for c, d in reach if b == c} - reach
            if not more:
                return reach
            reach |= more

    assert closure(drawn) == closure(every), "the same maps wait for the same maps"
    assert text.mermaid(graph) == text.mermaid(model.dependency_graph("dev", dev_objects))


def test_every_change_is_carried_out_by_a_step_coloured_by_it(fresh_plan: Plan) -> None:
    """`set_alerts` (address `alerts`) carries out every `alert.*` change, so `graph --plan`
    colours it like any other step."""
    plan = fresh_plan
    graph = model.step_graph(plan, limit=len(plan.steps))
    colour = {step.id: node.category for step, node in zip(plan.steps, graph.nodes, strict=True)}
    alert_changes = [c for c in plan.changes if c.kind == "alert"]
    assert alert_changes, "the example's dev has alert settings"
    for change in plan.changes:
        makers = [s for s in plan.steps if s.carries_out(change.address)]
        assert makers, f"no step carries out {change.address}"
        assert all(colour[s.id] is not None and colour[s.id] >= change.category for s in makers)
    (alerts,) = [s for s in plan.steps if s.operation == "set_alerts"]
    assert colour[alerts.id] is max(c.category for c in alert_changes)
    assert "classDef" in text.mermaid(graph)
    (check,) = [s for s in plan.steps if s.operation == "check_requirements"]
    assert colour[check.id] is None, "a check changes nothing"


def test_a_step_over_many_objects_carries_out_the_change_of_each() -> None:
    from dwconf.plan.order import ALERTS, Operation, Step

    alerts = Step(f"set_alerts:{ALERTS}", Operation.SET_ALERTS, ALERTS)
    assert alerts.carries_out("alert.app-errors") and not alerts.carries_out("map.alert-x")
    names = {"names": ["Customers V3 (accounts)", "Currencies (transactioncurrencies)"]}
    paused = Step("pause_maps:maps", Operation.PAUSE_MAPS, "maps", (), names)
    assert paused.carries_out("map.customers-v3-accounts")
    assert paused.carries_out("map.currencies-transactioncurrencies")
    assert not paused.carries_out("map.vendors-v2")
    one = Step("stop_map:map.a", Operation.STOP_MAP, "map.a")
    assert one.carries_out("map.a") and not one.carries_out("map.ab")
