"""`dwconf diff` as a reviewer reads it: stage order, one table for environments that agree, a
legend, the plan's column names, no empty table, and exit 1 when the configuration is broken."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli_gitops import FILES, PROD, TEST, Cli, Repo, add_field


def _everywhere(tmp_path: Path) -> Repo:
    """dev, test and prod all on the working tree (by name, prod would come before test)."""
    files = {**FILES, "environments/test.yaml": TEST, "environments/prod.yaml": PROD}
    return Repo(tmp_path / "repo", files)


def test_environments_come_in_stage_order(tmp_path: Path, dwconf: Cli) -> None:
    repo = _everywhere(tmp_path)
    add_field(repo)
    data = json.loads(dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "json").out)
    assert [e["environment"] for e in data["environments"]] == ["dev", "test", "prod"]
    assert "dev, test, prod: 0 to create" in dwconf("-C", str(repo.root), "diff", "HEAD").out


def test_environments_that_agree_share_one_table(tmp_path: Path, dwconf: Cli) -> None:
    repo = _everywhere(tmp_path)
    add_field(repo)
    result = dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "markdown")
    assert result.exit_code == 0, result.err
    out = result.out
    assert out.count("#### ") == 1 and "#### dev, test, prod" in out
    assert out.count("| | path | before | after | effect |") == 2  # the map, the solution
    assert "| environment | create | update | replace | delete | effect |" in out
    assert "<sub>Symbols: `+` create" in out and "`destructive` data stops flowing" in out
    assert "risk |" not in out


def test_only_differing_environments_get_their_own_table(tmp_path: Path, dwconf: Cli) -> None:
    repo = _everywhere(tmp_path)
    add_field(repo)
    repo.edit("environments/prod.yaml", "legal_entities: [USMF]", "legal_entities: [USMF, DEMF]")
    out = dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "markdown").out
    assert [
        line.removeprefix("#### ") for line in out.splitlines() if line.startswith("#### ")
    ] == ["dev, test", "prod"]


def test_no_table_is_empty(tmp_path: Path, dwconf: Cli) -> None:
    """A solution whose only change is its content lists the maps that change, never a table
    with nothing under its header."""
    repo = _everywhere(tmp_path)
    repo.edit("solutions/base/maps/customers.yaml", "version: 1.0.0.0", "version: 1.0.0.1")
    out = dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "markdown").out
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---|---|---|---|---|"):
            assert lines[i + 1].startswith("| "), "\n".join(lines[i - 2 : i + 2])
    assert "`content[Test customers]`" in out and "| version |" in out.replace("`", "")


def test_configuration_errors_exit_1(tmp_path: Path, dwconf: Cli) -> None:
    repo = _everywhere(tmp_path)
    repo.edit("solutions/base/maps/customers.yaml", "finops: ACCOUNT", "finops: ACCOUNTT")
    result = dwconf("-C", str(repo.root), "diff", "HEAD", "--detailed-exitcode")
    assert result.exit_code == 1
    assert "has 1 error(s)" in result.err and "dwconf validate" in result.err


def test_an_environment_file_that_does_not_load_is_not_a_removal(
    tmp_path: Path, dwconf: Cli
) -> None:
    repo = _everywhere(tmp_path)
    repo.edit("environments/prod.yaml", "legal_entities: [USMF]", "legal_entities: [USMF")
    result = dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "json")
    assert result.exit_code == 1
    prod = next(e for e in json.loads(result.out)["environments"] if e["environment"] == "prod")
    assert prod["status"] == "unreadable" and prod["changes"] == [] and prod["errors"] == 1


def test_a_destructive_change_where_prevent_destroy_is_set_says_it_is_blocked(
    tmp_path: Path, dwconf: Cli
) -> None:
    repo = _everywhere(tmp_path)
    repo.write("environments/prod.yaml", PROD + "protect:\n  prevent_destroy: true\n")
    repo.commit("prod prevents destructive changes")
    tst_kind = '  - {dataverse: tst_kind, direction: to_dataverse, default: "{{ vars.code }}"}\n'
    repo.edit("solutions/base/maps/customers.yaml", tst_kind, "")  # a field removed
    data = json.loads(dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "json").out)
    blocked = {e["environment"]: e["blocked_by"] for e in data["environments"]}
    assert blocked["dev"] == [] and blocked["test"] == []
    (block,) = blocked["prod"]
    assert block["address"] == "map.test-customers" and block["kind"] == "protection"
    assert "--allow-destroy" in block["hint"]
    out = dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "markdown").out
    assert "#### dev, test" in out and "#### prod" in out
    assert "> ⛔ **Apply would refuse this in prod**" in out and "`dwconf:allow-destroy`" in out
    text = dwconf("-C", str(repo.root), "diff", "HEAD").out
    assert "Apply would refuse this in prod:" in text and "  ! map.test-customers:" in text


def test_no_changes_is_said_once(tmp_path: Path, dwconf: Cli) -> None:
    """The headline names the environments that don't change; no line repeats it per
    environment."""
    repo = _everywhere(tmp_path)
    same = dwconf("-C", str(repo.root), "diff", "HEAD")
    assert same.exit_code == 0, same.err
    assert "No environment changes (3 compared: dev, test, prod)." in same.out
    assert "no changes." not in same.out
    repo.edit("environments/prod.yaml", "legal_entities: [USMF]", "legal_entities: [USMF, DEMF]")
    partly = dwconf("-C", str(repo.root), "diff", "HEAD").out
    assert "1 of 3 environment(s) change: prod. Unchanged: dev, test." in partly
    assert "no changes." not in partly


def test_a_map_file_that_does_not_parse_is_its_error_not_a_removal(
    tmp_path: Path, dwconf: Cli
) -> None:
    repo = _everywhere(tmp_path)
    repo.edit("solutions/base/maps/customers.yaml", "version: 1.0.0.0", "version: [1.0.0.0")
    for fmt in ("text", "markdown", "json"):
        result = dwconf("-C", str(repo.root), "diff", "HEAD", "--format", fmt)
        assert result.exit_code == 1, (fmt, result.out, result.err)
        assert "map.test-customers" not in result.out and "removed" not in result.out, fmt
        assert "solutions/base/maps/customers.yaml:3:14" in result.out + result.err, fmt
        assert "solutions/base/maps/customers.yaml:3:14: error DW1003" in result.err, fmt
    data = json.loads(result.out)
    assert [(e["status"], e["unreadable"]) for e in data["environments"]] == [
        ("unreadable", "head")
    ] * 3
    assert data["environments"][0]["problems"][0]["line"] == 3


def test_a_map_file_that_did_not_parse_at_the_base_is_not_an_addition(
    tmp_path: Path, dwconf: Cli
) -> None:
    """A broken file committed, then fixed: the base side can't be read, so nothing is
    claimed as created; the error names the file at the base revision."""
    repo = _everywhere(tmp_path)
    repo.edit("solutions/base/maps/customers.yaml", "name: Test customers", "name: [Test")
    repo.commit("broken")
    repo.edit("solutions/base/maps/customers.yaml", "name: [Test", "name: Test customers")
    result = dwconf("-C", str(repo.root), "diff", "HEAD", "--format", "json")
    assert result.exit_code == 1, result.err
    data = json.loads(result.out)
    assert {(e["status"], e["unreadable"]) for e in data["environments"]} == {
        ("unreadable", "base")
    }
    assert not data["has_changes"] and "customers.yaml@" in result.err
    assert "not compared, files at HEAD" in result.err


def test_a_map_of_the_wrong_shape_is_its_error_not_a_removal(tmp_path: Path, dwconf: Cli) -> None:
    repo = _everywhere(tmp_path)
    repo.edit("solutions/base/maps/customers.yaml", "version: 1.0.0.0", "version: {a: 1}")
    result = dwconf("-C", str(repo.root), "diff", "HEAD")
    assert result.exit_code == 1
    assert "map removed" not in result.out and "not compared" in result.out
    assert "solutions/base/maps/customers.yaml:" in result.err
