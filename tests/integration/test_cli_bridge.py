"""`dwconf package`, `unpack`, `import` and `doctor` through the entry point, on the local provider."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dwconf.live import Environment
from dwconf.providers import local
from tests.conftest import write_tree
from tests.support import Result
from tests.unit.package.real_export import real_export_zip

Repo = Callable[..., Path]
Cli = Callable[..., Result]

SCHEMA = (Path(__file__).parents[1] / "unit/validate/cases/_schema.yaml").read_text()
FILES = {
    "dwconf.yaml": "project: bridge\nstages: [dev, test, prod]\n",
    "environments/dev.yaml": """\
        name: dev
        stage: dev
        link:
          legal_entities: [USMF, DEMF]
        solutions:
          reference: workspace
          customers: workspace
        maps:
          default_state: running
          state:
            Test customers: stopped
          initial_sync: skip
        alerts:
          - {name: app-errors, error_type: application, threshold: 10, window_minutes: 15, action: pause, notify: [ops@contoso.com]}
        vars:
          kind: 3
        """,
    "solutions/reference/solution.yaml": """\
        unique_name: tst_Reference
        version: 1.0.0.0
        publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}
        requires:
          DualWriteCore: ">=1.0.23084.0"
        """,
    "solutions/reference/schema/test.yaml": SCHEMA,
    "solutions/reference/maps/currencies.yaml": """\
        name: Test currencies
        version: 1.0.0.1
        finops_entity: Test currencies
        dataverse_table: tst_currencies
        integration_key: [tst_code]
        initial_sync: {master: finops}
        fields:
          - {finops: CODE, dataverse: tst_code, direction: to_dataverse}
          - {finops: NAME, dataverse: tst_name, direction: to_dataverse}
        """,
    "solutions/customers/solution.yaml": """\
        unique_name: tst_Customers
        display_name: Test customer maps
        version: 1.2.0.0
        publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}
        requires:
          DualWriteCore: ">=1.0.23084.0"
        depends_on: [reference]
        """,
    "solutions/customers/maps/customers.yaml": """\
        name: Test customers
        version: 1.0.0.3
        finops_entity: Test customers
        dataverse_table: tst_customers
        description: Customers of the bridge tests
        depends_on: [Test currencies]
        integration_key: [tst_account]
        filters:
          finops: '(KIND == "organization")'
        fields:
          - {finops: ACCOUNT, dataverse: tst_account, direction: both}
          - {finops: NAME, dataverse: tst_name, direction: both}
          - finops: STATUS
            dataverse: tst_flag
            direction: both
            value_map: {no: false, yes: true}
          - {dataverse: tst_kind, direction: to_dataverse, default: "{{ vars.kind }}"}
        """,
}


@pytest.fixture
def repo(make_repo: Repo) -> Path:
    return make_repo(FILES, base=False)


@pytest.fixture
def applied(repo: Path, dwconf: Cli) -> Path:
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    return repo


def open_env(root: Path) -> Environment:
    return Environment.open(local.state_path(root, "dev"))


# import ----------------------------------------------------------------------------------------


def test_import_then_plan_shows_no_changes(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    fresh = tmp_path / "imported"
    result = dwconf("-C", str(applied), "import", "dev", "--out", str(fresh))
    assert result.exit_code == 0, result.err
    assert sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*.yaml")) == [
        "dwconf.yaml",
        "environments/dev.yaml",
        "solutions/tst-customers/maps/test-customers.yaml",
        "solutions/tst-customers/schema/custom-fields.yaml",
        "solutions/tst-customers/solution.yaml",
        "solutions/tst-reference/maps/test-currencies.yaml",
        "solutions/tst-reference/schema/custom-fields.yaml",
        "solutions/tst-reference/solution.yaml",
    ]
    # the test entities are described by this repository's schema: their fields keep its types
    schema = (fresh / "solutions/tst-customers/schema/custom-fields.yaml").read_text()
    assert "  Test customers:\n    company: specific\n    fields:\n" in schema
    assert "      STATUS: {type: enum, values: ['no', 'yes']}\n" in schema
    environment = (fresh / "environments/dev.yaml").read_text()
    assert "  tst-customers: workspace  # installed 1.2.0.0\n" in environment
    assert "  state:\n    Test customers: stopped\n" in environment
    # The local provider keeps the environment in the repository: the same environment is the
    # same file, and import says so.
    source = local.state_path(applied, "dev")
    assert f"note: dev is an embedded environment ({source}); copy it to " in result.out
    assert str(local.state_path(fresh, "dev")) in result.out
    shutil.copytree(applied / ".dwconf", fresh / ".dwconf")
    assert dwconf("-C", str(fresh), "validate").exit_code == 0
    plan = dwconf("-C", str(fresh), "plan", "dev", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.out + plan.err
    assert "No changes." in plan.out


LOYALTY_MAP = """\
    name: Customer groups (msdyn_customergroups)
    version: 1.0.0.0
    finops_entity: Customer groups
    dataverse_table: msdyn_customergroups
    integration_key: [msdyn_groupid]
    fields:
      - {finops: CUSTOMERGROUPID, dataverse: msdyn_groupid, direction: both}
      - {finops: DESCRIPTION, dataverse: msdyn_description, direction: both}
      - finops: CNTLOYALTYTIER
        dataverse: cnt_loyaltytier
        direction: both
        value_map: {none: 100000000, silver: 100000001, gold: 100000002}
    """
LOYALTY_SCHEMA = """\
    finops_entities:
      Customer groups:
        fields:
          CNTLOYALTYTIER: {type: enum, values: [none, silver, gold]}
    dataverse_tables:
      msdyn_customergroups:
        columns:
          cnt_loyaltytier: {type: optionset, values: [100000000, 100000001, 100000002]}
    """
LOYALTY_FILES = {
    "dwconf.yaml": "project: loyalty\nstages: [dev, test, prod]\n",
    "environments/dev.yaml": "name: dev\nstage: dev\nlink:\n  legal_entities: [USMF]\n"
    "solutions:\n  groups: workspace\n",
    "solutions/groups/solution.yaml": FILES["solutions/reference/solution.yaml"].replace(
        "tst_Reference", "cnt_Groups"
    ),
    "solutions/groups/schema/loyalty.yaml": LOYALTY_SCHEMA,
    "solutions/groups/maps/customer-groups.yaml": LOYALTY_MAP,
}


@pytest.mark.parametrize("described", [True, False], ids=["typed-here", "unknown-here"])
def test_import_writes_custom_fields_so_validate_passes_and_plan_is_empty(
    make_repo: Repo, dwconf: Cli, described: bool
) -> None:
    """An environment whose map uses custom fields (CNTLOYALTYTIER) imported into a repository
    that doesn't describe them: validate passes, plan shows no changes."""
    root = make_repo(LOYALTY_FILES, base=False)
    assert dwconf("-C", str(root), "validate").exit_code == 0
    assert dwconf("-C", str(root), "apply", "dev", "--auto-approve").exit_code == 0
    if not described:  # the environment was configured elsewhere: nothing here knows the types
        (root / "solutions/groups/schema/loyalty.yaml").unlink()
    shutil.rmtree(root / "solutions/groups/maps")
    result = dwconf("-C", str(root), "import", "dev", "--force")
    assert result.exit_code == 0, result.err
    schema = (root / "solutions/cnt-groups/schema/custom-fields.yaml").read_text()
    types = (
        ("{type: enum, values: [none, silver, gold]}", "{type: optionset, values: [100000000,")
        if described
        else ("{type: unknown}", "{type: unknown}")
    )
    assert f"      CNTLOYALTYTIER: {types[0]}" in schema
    assert f"      cnt_loyaltytier: {types[1]}" in schema
    assert "DESCRIPTION" not in schema and "msdyn_groupid" not in schema
    shutil.rmtree(root / "solutions/groups")  # the imported folder replaces it
    environment = root / "environments/dev.yaml"
    assert "cnt-groups: workspace" in environment.read_text()
    validate = dwconf("-C", str(root), "validate")
    assert validate.exit_code == 0, validate.out + validate.err
    assert "DW2001" not in validate.out and "DW2002" not in validate.out
    plan = dwconf("-C", str(root), "plan", "dev", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.out + plan.err


def test_import_is_deterministic_and_refuses_to_overwrite(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert dwconf("-C", str(applied), "import", "dev", "--out", str(first)).exit_code == 0
    assert dwconf("-C", str(applied), "import", "dev", "--out", str(second)).exit_code == 0
    for path in first.rglob("*.yaml"):
        assert path.read_bytes() == (second / path.relative_to(first)).read_bytes()
    again = dwconf("-C", str(applied), "import", "dev", "--out", str(first))
    assert again.exit_code == 1
    assert "already has" in again.err and "--force" in again.err
    assert (
        dwconf("-C", str(applied), "import", "dev", "--out", str(first), "--force").exit_code == 0
    )


def test_import_of_some_maps(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    out = tmp_path / "some"
    result = dwconf(
        "-C", str(applied), "import", "dev", "--out", str(out), "--maps", "Test customers"
    )
    assert result.exit_code == 0, result.err
    assert "note: map 'Test currencies' imported too: a chosen map depends on it" in result.out
    unknown = dwconf("-C", str(applied), "import", "dev", "--out", str(out), "--maps", "Nope")
    assert unknown.exit_code == 1 and "no map named 'Nope'" in unknown.err


# package ---------------------------------------------------------------------------------------


def test_package_bytes_are_stable_across_runs(repo: Path, dwconf: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    first = dwconf("-C", str(repo), "package", "customers", "--env", "dev", "--out", str(out))
    assert first.exit_code == 0, first.err
    path = out / "tst_Customers_1_2_0_0.zip"
    data = path.read_bytes()
    assert first.out == f"{hashlib.sha256(data).hexdigest()}  {path}\n"
    second = dwconf("-C", str(repo), "package", "customers", "--env", "dev", "--out", str(out))
    assert second.out == first.out and path.read_bytes() == data


def test_package_options(repo: Path, dwconf: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    args = ["--version", "1.2.0.7", "--unmanaged", "--env", "dev", "--out", str(out)]
    result = dwconf("-C", str(repo), "package", "customers", *args)
    assert result.exit_code == 0, result.err
    with zipfile.ZipFile(out / "tst_Customers_1_2_0_7.zip") as archive:
        manifest = archive.read("solution.xml").decode()
    assert "<Version>1.2.0.7</Version>" in manifest and "<Managed>0</Managed>" in manifest
    assert '<Required solution="tst_Reference (1.0.0.0)" />' in manifest


def test_package_needs_an_environment_for_templates(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "package", "customers")
    assert result.exit_code == 1
    assert "uses templates" in result.err and "--env" in result.err
    assert dwconf("-C", str(repo), "package", "reference").exit_code == 0
    assert (repo / "dist" / "tst_Reference_1_0_0_0.zip").is_file()


def test_package_of_an_unknown_solution(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "package", "nope")
    assert result.exit_code == 1 and "known solutions: customers, reference" in result.err


def test_package_refuses_an_invalid_map(repo: Path, dwconf: Cli) -> None:
    path = repo / "solutions/reference/maps/currencies.yaml"
    path.write_text(path.read_text().replace("version: 1.0.0.1", "version: 1.0"))
    result = dwconf("-C", str(repo), "package", "reference")
    assert result.exit_code == 1
    assert "solutions/reference/maps/currencies.yaml:2:10: error DW1103" in result.err
    assert not (repo / "dist").exists()


# unpack ----------------------------------------------------------------------------------------


def test_package_then_unpack_validates_clean(repo: Path, dwconf: Cli, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for folder in ("reference", "customers"):
        assert (
            dwconf("-C", str(repo), "package", folder, "--env", "dev", "--out", str(dist)).exit_code
            == 0
        )
    other = write_tree(
        tmp_path / "other",
        {k: v for k, v in FILES.items() if not k.startswith("solutions/") or "/schema/" in k},
    )
    for folder, name in (
        ("reference", "tst_Reference_1_0_0_0"),
        ("customers", "tst_Customers_1_2_0_0"),
    ):
        args = ["unpack", str(dist / f"{name}.zip"), "--out", str(other / "solutions" / folder)]
        result = dwconf("-C", str(other), *args)
        assert result.exit_code == 0, result.err
    solution = (other / "solutions/customers/solution.yaml").read_text()
    assert "depends_on: [reference]\n" in solution and "tst_Reference" not in solution
    validated = dwconf("-C", str(other), "validate")
    assert validated.exit_code == 0, validated.out
    assert "0 error(s), 0 warning(s) (dev)" in validated.out


def test_unpack_a_real_export(make_repo: Repo, dwconf: Cli, tmp_path: Path) -> None:
    repo = make_repo(
        {
            "environments/dev.yaml": "name: dev\nstage: dev\nsolutions:\n  mycustomtablemaps: workspace\n"
        },
    )
    shutil.rmtree(repo / "solutions/base")
    archive = tmp_path / "MyCustomTableMaps_1_0_0_2_managed.zip"
    archive.write_bytes(real_export_zip())
    result = dwconf("-C", str(repo), "unpack", str(archive))
    assert result.exit_code == 0, result.err
    assert "note: map 'Units (uoms)': kept version 1.0.0.1, left out 1.0.0.0" in result.out
    assert (repo / "solutions/mycustomtablemaps/maps/units-uoms.yaml").is_file()
    validated = dwconf("-C", str(repo), "validate")
    assert validated.exit_code == 0, validated.out


def test_unpack_refuses_a_hostile_zip(repo: Path, dwconf: Cli, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../evil.xml", "<x/>")
    hostile = tmp_path / "hostile.zip"
    hostile.write_bytes(buffer.getvalue())
    result = dwconf("-C", str(repo), "unpack", str(hostile), "--out", str(tmp_path / "x"))
    assert result.exit_code == 1
    assert "error: the zip holds an entry that leaves its folder: '../../evil.xml'" in result.err
    assert not (tmp_path / "x").exists()


# doctor ----------------------------------------------------------------------------------------


def test_doctor_all_pass(applied: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(applied), "doctor", "dev")
    assert result.exit_code == 0, result.out
    assert result.out.endswith(
        "14 checks, 0 finding(s): 13 passed, 1 skipped (could not decide), 0 warning(s), 0 failed\n"
    )


def test_doctor_warnings_and_failures(applied: Path, dwconf: Cli) -> None:
    with open_env(applied) as env:
        env.pause_map("Test currencies")
        env.set_queued("Test currencies", 5, datetime.now(UTC) - timedelta(days=6))
    warned = dwconf("-C", str(applied), "doctor", "dev")
    assert warned.exit_code == 2, warned.out
    assert "WARN  paused-maps" in warned.out
    with open_env(applied) as env:
        env.set_map_error("Test currencies", "Missing source field CODE in the schema.")
    failed = dwconf("-C", str(applied), "doctor", "dev", "--format", "json")
    assert failed.exit_code == 1
    report = json.loads(failed.out)
    errors = [c for c in report["checks"] if c["check"] == "map-errors"]
    assert errors[0]["status"] == "fail" and "Refresh the entity list" in errors[0]["fix"]
    assert report["summary"]["fail"] >= 1


def test_doctor_pause_threshold_option(applied: Path, dwconf: Cli) -> None:
    with open_env(applied) as env:
        env.pause_map("Test currencies")
        env.set_queued("Test currencies", 0, datetime.now(UTC) - timedelta(days=2))

    def paused(*options: str) -> str:
        result = dwconf("-C", str(applied), "doctor", "dev", "--format", "json", *options)
        checks = json.loads(result.out)["checks"]
        return next(c["status"] for c in checks if c["check"] == "paused-maps")

    assert paused() == "pass"
    assert paused("--pause-warn-days", "1") == "warn"


def test_doctor_of_an_unknown_environment(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "doctor", "prod")
    assert result.exit_code == 1 and "unknown environment 'prod'" in result.err
