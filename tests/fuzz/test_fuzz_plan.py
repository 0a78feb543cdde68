"""Fuzzing `make_plan`: for any pair of valid states (desired rendered from generated
configurations; live taken from another generated configuration, with objects dropped and map
states changed, or a freshly linked environment), planning never raises and its steps only
refer to steps of the same plan."""

from __future__ import annotations

import copy
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dwconf.errors import ConfigError
from dwconf.plan.definition import make_plan
from dwconf.plan.live_view import live_objects
from dwconf.planning import load_desired
from dwconf.providers.local import LocalProvider
from tests.conftest import BASE_FILES, write_tree
from tests.fuzz.strategies import ENTITY, FIELD_PAIRS, TABLE

Objects = dict[str, dict[str, Any]]
STATES = ("running", "stopped", "paused")
POOL = 12


@pytest.fixture(scope="module")
def repo() -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="dwconf-fuzz-plan-"))
    yield write_tree(where, dict(BASE_FILES))
    shutil.rmtree(where)


@pytest.fixture(scope="module")
def fresh_live(repo: Path) -> Objects:
    with LocalProvider.open(repo, "dev") as provider:
        return dict(live_objects(provider.read(), {"tst_Base"}))


def pool_docs(seed: int) -> list[dict[str, Any]]:
    """One to three maps over the catalog's accounts, chosen by `seed`."""
    rng = random.Random(seed)
    docs = []
    for n in range(rng.randint(1, 3)):
        pairs = rng.sample(FIELD_PAIRS, rng.randint(1, len(FIELD_PAIRS)))
        direction = rng.choice(["both", "to_dataverse"])
        docs.append(
            {
                "name": f"Fuzz map {n}",
                "version": rng.choice(["1.0.0.0", "1.0.0.1"]),
                "finops_entity": ENTITY,
                "dataverse_table": TABLE,
                "integration_key": ["accountnumber"],
                "fields": [{"finops": f, "dataverse": d, "direction": direction} for f, d in pairs],
            }
        )
    return docs


def desired(repo: Path, docs: list[dict[str, Any]]) -> Objects | None:
    """The rendered objects of a configuration with these maps, or None when it is invalid."""
    folder = repo / "solutions" / "base" / "maps"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for n, doc in enumerate(docs):
        (folder / f"m{n}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        return dict(load_desired(repo, "dev").state.objects)
    except ConfigError:
        return None


@pytest.fixture(scope="module")
def pool(repo: Path) -> list[Objects]:
    """Valid desired states, rendered once: planning is what is fuzzed, not loading."""
    found = [desired(repo, pool_docs(seed)) for seed in range(POOL)]
    valid = [f for f in found if f is not None]
    assert len(valid) >= POOL // 2
    return valid


@st.composite
def perturbed(draw: st.DrawFn, objects: Objects) -> Objects:
    """Some objects dropped; maps in another run state, at another version, with fewer fields."""
    kept = {a: o for a, o in objects.items() if draw(st.booleans()) or a.startswith("solution")}
    for obj in kept.values():
        if obj.get("kind") != "map":
            continue
        if draw(st.booleans()):
            obj["state"] = draw(st.sampled_from(STATES))
        definition = obj["definition"]
        if draw(st.booleans()):
            definition["version"] = draw(st.sampled_from(["1.0.0.0", "1.0.0.2", "3.0.0.0"]))
        if draw(st.booleans()) and len(definition["fields"]) > 1:
            definition["fields"] = definition["fields"][1:]
    return kept


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_plan_never_raises(pool: list[Objects], fresh_live: Objects, data: st.DataObject) -> None:
    desired_objects = copy.deepcopy(data.draw(st.sampled_from(pool)))
    recorded = data.draw(st.sampled_from([*pool, {}]))
    live = data.draw(st.sampled_from([fresh_live, *pool, {}]))
    live = data.draw(perturbed(copy.deepcopy(live)))
    plan = make_plan("dev", desired_objects, "hash", live, "fingerprint", recorded=recorded)
    ids = {s.id for s in plan.steps}
    for step in plan.steps:
        assert set(step.depends_on) <= ids, (step.id, step.depends_on)
