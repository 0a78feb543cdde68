"""`dwconf env show` and `dwconf env reset`, through the entry point."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.cli import env_cmds
from dwconf.providers.local import LocalProvider
from tests.contract.support import ALERT, CURRENCIES, CUSTOMERS, SOLUTION, package
from tests.support import Result

Repo = Callable[..., Path]
Cli = Callable[..., Result]

PROD = "name: prod\nstage: prod\nprovider:\n  type: dynamics\n"


@pytest.fixture
def repo(make_repo: Repo) -> Path:
    return make_repo({"environments/prod.yaml": PROD})


def deploy(repo: Path) -> str:
    """Give the local dev environment maps, link settings and a record; returns its fingerprint."""
    with LocalProvider.open(repo, "dev") as provider:
        provider.import_solution(package())
        provider.apply_solution(SOLUTION)
        for name in (CURRENCIES, CUSTOMERS):
            provider.switch_version(name, "1.0.0.0")
        provider.start_map(CURRENCIES)
        provider.set_integration_keys("accounts", ["accountnumber", "msdyn_company"])
        provider.environment.set_legal_entities(["USMF", "DEMF"])  # as when it was linked
        provider.set_alerts([ALERT])
        provider.add_record(
            who="ci", plan_hash="h1", git_commit=None, solution_versions={}, desired={}
        )
        return provider.read().fingerprint


def seed_fingerprint(tmp_path: Path) -> str:
    with LocalProvider.open(tmp_path / "seed", "dev") as provider:
        return provider.read().fingerprint


# env show ------------------------------------------------------------------------------------


def test_show_a_fresh_environment(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "env", "show", "dev")
    assert result.exit_code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "environment dev (provider local)"
    assert re.fullmatch(r"fingerprint [0-9a-f]{64}", lines[1])
    assert "solutions (21)" in lines
    assert any(re.fullmatch(r"  DualWriteCore +1\.0\.24062\.1", line) for line in lines)
    assert lines[lines.index("maps (0)") + 1] == "  (none)"
    assert lines[-2:] == ["lock: none", "deployment records: 0"]
    assert not (repo / ".dwconf").exists(), "a read makes no environment"


def test_show_lists_maps_keys_legal_entities_and_alerts(repo: Path, dwconf: Cli) -> None:
    fingerprint = deploy(repo)
    result = dwconf("-C", str(repo), "env", "show", "dev")
    assert result.exit_code == 0, result.err
    out = result.out
    assert f"fingerprint {fingerprint}\n" in out
    assert (
        "\nmaps (2)\n"
        "  Currencies (transactioncurrencies)  1.0.0.0  Running\n"
        "  Customers V3 (accounts)             1.0.0.0  Not running\n"
    ) in out
    assert "\nintegration keys (1)\n  accounts  accountnumber, msdyn_company\n" in out
    assert "\nlegal entities (2)\n  DEMF\n  USMF\n" in out
    assert (
        "\nalerts (1)\n"
        "  app-errors  10 application error(s) in 60 min  then pause, notify ops@contoso.com\n"
    ) in out
    assert out.endswith("lock: none\ndeployment records: 1\n")


def test_show_as_json_is_stable(repo: Path, dwconf: Cli) -> None:
    fingerprint = deploy(repo)
    first = dwconf("-C", str(repo), "env", "show", "dev", "--format", "json")
    assert first.exit_code == 0, first.err
    assert dwconf("-C", str(repo), "env", "show", "dev", "--format", "json").out == first.out
    document = json.loads(first.out)
    assert document["format_version"] == "1.0"
    assert (document["environment"], document["provider"]) == ("dev", "local")
    assert document["fingerprint"] == fingerprint
    assert [m["name"] for m in document["maps"]] == [CURRENCIES, CUSTOMERS]
    assert document["maps"][0] == {
        "name": CURRENCIES,
        "active_version": "1.0.0.0",
        "state": "running",
        "versions": ["1.0.0.0"],
        "master": None,
        "queued": 0,
        "last_error": None,
    }
    names = [s["unique_name"] for s in document["solutions"]]
    assert names == sorted(names) and SOLUTION in names
    assert document["integration_keys"] == {"accounts": ["accountnumber", "msdyn_company"]}
    assert document["legal_entities"] == ["USMF", "DEMF"]
    assert document["alerts"][0]["name"] == "app-errors"
    assert (document["lock"], document["records"]) == (None, 1)


def test_show_does_not_change_the_environment(repo: Path, dwconf: Cli) -> None:
    fingerprint = deploy(repo)
    assert dwconf("-C", str(repo), "env", "show", "dev").exit_code == 0
    with LocalProvider.open(repo, "dev") as provider:
        assert provider.read().fingerprint == fingerprint


def test_show_an_unknown_environment(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "env", "show", "staging")
    assert result.exit_code == 1
    assert "error: unknown environment 'staging'" in result.err
    assert "hint: known environments: dev, prod" in result.err


def test_show_a_dynamics_environment_is_refused(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "env", "show", "prod")
    assert result.exit_code == 1
    assert "error: provider type 'dynamics' is not available" in result.err
    assert result.out == ""


def test_show_in_a_missing_directory(tmp_path: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(tmp_path / "nowhere"), "env", "show", "dev")
    assert result.exit_code == 1
    assert "no such directory" in result.err


# env reset -----------------------------------------------------------------------------------


def test_reset_with_yes_gives_a_fresh_environment(repo: Path, dwconf: Cli, tmp_path: Path) -> None:
    deploy(repo)
    result = dwconf("-C", str(repo), "env", "reset", "dev", "--yes")
    assert result.exit_code == 0, result.err
    seed = seed_fingerprint(tmp_path)
    assert result.out == (
        "dev: deleted the local environment with its maps, link settings and 1 deployment "
        f"record(s)\ndev: fresh environment, 21 solution(s), 0 map(s); fingerprint {seed}\n"
    )
    shown = json.loads(dwconf("-C", str(repo), "env", "show", "dev", "--format", "json").out)
    assert (shown["fingerprint"], shown["maps"], shown["records"]) == (seed, [], 0)


def test_reset_of_an_environment_never_made_deletes_nothing_and_says_so(
    repo: Path, dwconf: Cli
) -> None:
    result = dwconf("-C", str(repo), "env", "reset", "dev", "--yes")
    assert result.exit_code == 0, result.err
    first = result.out.splitlines()[0]
    assert first == "dev: there was no local environment yet (.dwconf/dev.sqlite); nothing deleted"
    assert result.out.splitlines()[1].startswith("dev: fresh environment, 21 solution(s)")


def test_reset_without_yes_and_without_a_terminal_is_refused(repo: Path, dwconf: Cli) -> None:
    fingerprint = deploy(repo)
    result = dwconf("-C", str(repo), "env", "reset", "dev")
    assert result.exit_code == 4
    assert "needs confirmation" in result.err
    assert "pass --yes (dwconf env reset dev --yes)" in result.err
    with LocalProvider.open(repo, "dev") as provider:
        assert provider.read().fingerprint == fingerprint


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 1)])
def test_reset_asks_on_a_terminal(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    fingerprint = deploy(repo)
    monkeypatch.setattr(env_cmds, "_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    result = dwconf("-C", str(repo), "env", "reset", "dev")
    assert result.exit_code == code, result.err
    assert "and start 'dev' over as a newly linked environment? [y/N]" in result.out
    with LocalProvider.open(repo, "dev") as provider:
        changed = provider.read().fingerprint != fingerprint
    assert changed is (code == 0)
    if code:
        assert "reset of 'dev' cancelled; nothing was changed" in result.err


def test_reset_is_refused_while_a_lock_is_held(repo: Path, dwconf: Cli) -> None:
    with LocalProvider.open(repo, "dev") as provider:
        lease = provider.acquire_lock("alice@ci", "apply", "plan-1", 3600)
    result = dwconf("-C", str(repo), "env", "reset", "dev", "--yes")
    assert result.exit_code == 5
    assert "The environment is locked by alice@ci (apply, plan plan-1)" in result.err
    assert lease.id in result.err


def test_reset_of_a_dynamics_environment_is_refused(repo: Path, dwconf: Cli) -> None:
    for args in (("--yes",), ()):
        result = dwconf("-C", str(repo), "env", "reset", "prod", *args)
        assert result.exit_code == 1
        assert (
            "error: environment 'prod' uses provider 'dynamics'; only a local environment can "
            "be reset."
        ) in result.err
    assert not (repo / ".dwconf").exists()


def test_reset_an_unknown_environment(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "env", "reset", "staging", "--yes")
    assert result.exit_code == 1
    assert "error: unknown environment 'staging'" in result.err


BROKEN_QA = {"environments/qa.yaml": "name: qa\nstage: qa\nprovider: {type: cloud}\n"}


def test_an_environment_whose_file_has_errors_shows_them(make_repo: Repo, dwconf: Cli) -> None:
    result = dwconf("-C", str(make_repo(BROKEN_QA)), "env", "show", "qa")
    assert result.exit_code == 1
    assert "environments/qa.yaml:3:18: error DW1104 'provider.type': invalid value" in result.err
    assert "unknown environment" not in result.err


def test_an_unknown_name_beside_a_broken_file_points_to_validate(
    make_repo: Repo, dwconf: Cli
) -> None:
    result = dwconf("-C", str(make_repo(BROKEN_QA)), "env", "show", "staging")
    assert result.exit_code == 1
    assert "error: unknown environment 'staging'" in result.err
    assert "some environment files have errors (run dwconf validate)" in result.err
    assert "qa.yaml" not in result.err


def test_a_damaged_environment_file_is_reported_and_can_be_reset(repo: Path, dwconf: Cli) -> None:
    damaged = repo / ".dwconf" / "dev.sqlite"
    damaged.parent.mkdir()
    damaged.write_bytes(b"not a database")
    result = dwconf("-C", str(repo), "env", "show", "dev")
    assert result.exit_code == 1
    assert f"The environment file {damaged} is damaged" in result.err
    hint = result.err.split("hint:", 1)[1]
    assert hint.index("Restore it from a backup") < hint.index("dwconf env reset dev")
    assert "loses the deployment history" in hint
    assert dwconf("-C", str(repo), "env", "reset", "dev", "--yes").exit_code == 0
    assert dwconf("-C", str(repo), "env", "show", "dev").exit_code == 0


# env list ------------------------------------------------------------------------------------

QA = "name: qa\nstage: test\n"


def test_list_in_stage_order_as_text_and_json(make_repo: Repo, dwconf: Cli) -> None:
    root = make_repo(
        {
            "dwconf.yaml": "project: t\nstages: [dev, test, prod]\n",
            "environments/prod.yaml": PROD,
            "environments/qa.yaml": QA,
        }
    )
    text = dwconf("-C", str(root), "env", "list")
    assert text.exit_code == 0, text.err
    assert text.out == "dev   dev   local\nqa    test  local\nprod  prod  dynamics\n"
    result = dwconf("-C", str(root), "env", "list", "--format", "json")
    assert json.loads(result.out) == {
        "format_version": "1.0",
        "environments": [
            {"name": "dev", "stage": "dev", "provider": "local"},
            {"name": "qa", "stage": "test", "provider": "local"},
            {"name": "prod", "stage": "prod", "provider": "dynamics"},
        ],
    }


def test_list_names_an_environment_file_that_does_not_load(make_repo: Repo, dwconf: Cli) -> None:
    root = make_repo({"environments/qa.yaml": "name: qa\nstage: [test\n"})
    result = dwconf("-C", str(root), "env", "list", "--format", "json")
    assert result.exit_code == 1
    assert [e["name"] for e in json.loads(result.out)["environments"]] == ["dev"]
    assert "environments/qa.yaml" in result.err and "dwconf validate" in result.err


def test_make_demo_says_that_it_resets_dev_before_it_does() -> None:
    root = Path(__file__).resolve().parents[2]
    shown = subprocess.run(
        ["make", "-n", "demo"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    reset = next(i for i, line in enumerate(shown) if "dwconf env reset dev --yes" in line)
    said = " ".join(shown[:reset])
    assert "starts the local dev environment over" in said and "deployment records" in said
