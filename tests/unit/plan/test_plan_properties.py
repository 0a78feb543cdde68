"""Invariants of planning, checked on generated configurations (hypothesis).

- the diff of a state with itself is empty;
- after apply, a new plan is empty (also when the files are then reordered);
- a plan does not depend on file names, key order or field order;
- every address appears once in a plan, and every step once;
- every change beyond metadata says why, and nothing is a restart in a fresh environment.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dwconf.apply.session import Quiet, Request, run_plan
from dwconf.apply.verify import Basis
from dwconf.plan.actions import Action, Category
from dwconf.plan.definition import Plan
from dwconf.plan.diff import diff
from dwconf.planning import load_desired, plan_against
from dwconf.providers.local import LocalProvider
from tests.golden.scenarios import SCHEMA

OPTIONAL_FIELDS = [
    ("NAME", "tst_name"),
    ("CREDIT", "tst_credit"),
    ("COUNT", "tst_count"),
    ("BIG", "tst_big"),
    ("OPENED", "tst_opened"),
]
DIRECTIONS = ["both", "to_dataverse", "to_finops"]
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def configurations(draw: st.DrawFn) -> dict[str, Any]:
    """The data of a small valid configuration: one or two maps, a link, map states."""
    chosen = draw(st.lists(st.sampled_from(OPTIONAL_FIELDS), unique=True, max_size=5))
    fields: list[dict[str, Any]] = [{"finops": "ACCOUNT", "dataverse": "tst_account"}]
    fields += [
        {"finops": f, "dataverse": d, "direction": draw(st.sampled_from(DIRECTIONS))}
        for f, d in chosen
    ]
    if draw(st.booleans()):
        codes = draw(st.permutations([1, 2, 3]))
        fields.append(
            {
                "finops": "KIND",
                "dataverse": "tst_kind",
                "value_map": dict(zip(["person", "organization", "none"], codes, strict=True)),
            }
        )
    customers: dict[str, Any] = {
        "name": "Test customers",
        "version": draw(st.sampled_from(["1.0.0.0", "1.0.0.3", "2.1.0.0"])),
        "finops_entity": "Test customers",
        "dataverse_table": "tst_customers",
        "integration_key": ["tst_account"],
        "fields": fields,
    }
    maps = {"customers": customers}
    if draw(st.booleans()):
        maps["currencies"] = {
            "name": "Test currencies",
            "version": "1.0.0.0",
            "finops_entity": "Test currencies",
            "dataverse_table": "tst_currencies",
            "integration_key": ["tst_code"],
            "fields": [{"finops": "CODE", "dataverse": "tst_code"}],
        }
        customers["depends_on"] = ["Test currencies"]
    entities = draw(st.lists(st.sampled_from(["USMF", "DEMF", "FRRT", "GBSI"]), unique=True))
    state = draw(st.sampled_from(["running", "stopped", "paused"]))
    return {"maps": maps, "legal_entities": entities or ["USMF"], "state": state}


def _shuffled(value: Any, rng: random.Random) -> Any:
    """The same YAML data with every mapping's keys in a random order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def write_repo(root: Path, config: dict[str, Any], seed: int | None = None) -> Path:
    """Write `config`; with a seed, shuffle keys, field order and file names."""
    rng = random.Random(seed)
    shuffle = seed is not None

    def dump(path: Path, data: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(_shuffled(data, rng) if shuffle else data, sort_keys=False))

    (root / "dwconf.yaml").write_text("project: test\nstages: [dev, test, prod]\n")
    env = {
        "name": "dev",
        "stage": "dev",
        "link": {"legal_entities": config["legal_entities"]},
        "solutions": {"base": "workspace"},
        "maps": {"default_state": config["state"]},
    }
    dump(root / "environments/dev.yaml", env)
    solution = {
        "unique_name": "tst_Base",
        "version": "1.0.0.0",
        "publisher": {"unique_name": "tst", "prefix": "tst", "option_value_prefix": 10000},
    }
    dump(root / "solutions/base/solution.yaml", solution)
    (root / "solutions/base/schema").mkdir(parents=True, exist_ok=True)
    (root / "solutions/base/schema/test.yaml").write_text(SCHEMA)
    names = sorted(config["maps"])
    files = [f"{n}.yaml" for n in names]
    if shuffle:
        rng.shuffle(files)
    for name, file in zip(names, files, strict=True):
        data = dict(config["maps"][name])
        if shuffle:
            data["fields"] = rng.sample(data["fields"], len(data["fields"]))
        dump(root / "solutions/base/maps" / f"x-{file}", data)
    return root


def plan_of(root: Path) -> Plan:
    want = load_desired(root, "dev")
    with LocalProvider.open(root, "dev") as provider:
        return plan_against(want, provider)


def shape(plan: Plan) -> dict[str, Any]:
    """What makes two plans the same plan: id, changes with their details, steps."""
    return {
        "id": plan.id,
        "changes": [
            (c.address, c.action, c.category, [d.as_dict() for d in c.details])
            for c in plan.changes
        ],
        "steps": [s.as_dict() for s in plan.steps],
    }


def apply(root: Path, plan: Plan) -> None:
    with LocalProvider.open(root, "dev") as provider:
        report = run_plan(plan, Basis(plan.desired), provider, Request(root, "dev"), Quiet())
    result = report.result
    assert result is not None
    assert result.ok, [s.error for s in result.outcome.steps if s.error] + result.remaining


@given(configurations())
@SETTINGS
def test_diff_of_a_state_with_itself_is_empty(config: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        desired = load_desired(write_repo(Path(tmp), config), "dev").state.objects
    found = diff(desired, desired, desired)
    assert found.changes == () and found.unmanaged == ()


@given(configurations(), st.integers(0, 2**16))
@SETTINGS
def test_plans_do_not_depend_on_file_key_or_field_order(config: dict[str, Any], seed: int) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        plain = plan_of(write_repo(Path(a), config))
        shuffled = plan_of(write_repo(Path(b), config, seed))
    assert shape(plain) == shape(shuffled)


@given(configurations(), st.integers(0, 2**16))
@SETTINGS
def test_apply_then_plan_is_empty(config: dict[str, Any], seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_repo(Path(tmp), config)
        apply(root, plan_of(root))
        assert plan_of(root).changes == ()
        write_repo(root, config, seed)  # the same configuration, written in another order
        assert plan_of(root).changes == ()


@given(configurations(), configurations())
@SETTINGS
def test_every_address_and_step_appears_once(first: dict[str, Any], then: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_repo(Path(tmp), first)
        apply(root, plan_of(root))
        for path in (root / "solutions/base/maps").glob("*.yaml"):
            path.unlink()
        plan = plan_of(write_repo(root, then))
    addresses = Counter(c.address for c in plan.changes)
    assert all(n == 1 for n in addresses.values()), addresses
    steps = Counter(s.id for s in plan.steps)
    assert all(n == 1 for n in steps.values()), steps
    assert [c.address for c in plan.changes] == sorted(addresses)


@given(configurations(), configurations())
@SETTINGS
def test_every_effect_says_why_and_a_create_restarts_nothing(
    first: dict[str, Any], then: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_repo(Path(tmp), first)
        fresh = plan_of(root)
        apply(root, fresh)
        for path in (root / "solutions/base/maps").glob("*.yaml"):
            path.unlink()
        plan = plan_of(write_repo(root, then))
    for change in (*fresh.changes, *plan.changes):
        assert change.category is Category.METADATA or change.reason, change.address
        for d in change.details:
            assert d.category is Category.METADATA or d.reason, (change.address, d.path)
        if change.action is Action.CREATE:
            assert change.category is not Category.RESTART, change.address
    assert Category.RESTART not in {c.category for c in fresh.changes}
