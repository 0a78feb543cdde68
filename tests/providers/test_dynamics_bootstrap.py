"""`dwconf bootstrap` against the emulator on loopback: an environment configured with
`dwconf_tables: absent` has neither of dwconf's tables (`--check` exits 1 naming both, reads
refuse with the command to run); bootstrap creates them through `EntityDefinitions`, after which
the provider's lock and records work; a second run changes nothing; a local environment has
nothing to do."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from dwconf.emulator import EnvConfig
from dwconf.emulator.config import EmulatorConfigError, parse
from dwconf.emulator.serve import Running
from dwconf.errors import ProviderError
from dwconf.providers.dynamics import DynamicsProvider
from dwconf.providers.dynamics.bootstrap import LEASE
from tests.providers.support import (
    ENVIRON,
    SECRET,
    TestApi,
    emulator_config,
    open_provider,
    provider_block,
    started,
)
from tests.support import Result

Cli = Callable[..., Result]
BARE = "bare"
TABLES = ("dwconf_lease", "dwconf_deploymentrecord")


@pytest.fixture(scope="module")
def bare_emulator() -> Iterator[tuple[Running, TestApi]]:
    """An emulator of its own: `bare` starts without dwconf's tables, `dev` with them."""
    config = emulator_config(
        environments=(EnvConfig(BARE, dwconf_tables="absent"), EnvConfig("dev"))
    )
    with started(config) as found:
        yield found


@pytest.fixture
def emulated(
    bare_emulator: tuple[Running, TestApi], monkeypatch: pytest.MonkeyPatch
) -> tuple[Running, TestApi]:
    server, api = bare_emulator
    api.reset()
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    return server, api


def environment_file(server: Running, env: str) -> str:
    return f"""\
name: {env}
stage: dev
{provider_block(server, env)}"""


@pytest.fixture
def repo(make_repo: Callable[..., Path], emulated: tuple[Running, TestApi]) -> Path:
    server = emulated[0]
    return make_repo(
        {
            "environments/bare.yaml": environment_file(server, BARE),
            "environments/live.yaml": environment_file(server, "dev").replace(
                "name: dev", "name: live"
            ),
        }
    )


def metadata_writes(api: TestApi) -> int:
    by_request = api.stats()["by_request"]
    return sum(
        n for k, n in by_request.items() if k.startswith("POST") and "EntityDefinitions" in k
    )


def bootstrap(dwconf: Cli, repo: Path, env: str, *options: str) -> Result:
    result = dwconf("-C", str(repo), "bootstrap", env, *options)
    assert SECRET not in result.out + result.err
    return result


def open_bare(tmp_path: Path, server: Running) -> DynamicsProvider:
    return open_provider(tmp_path / "provider", server, env=BARE)


# Absent tables ---------------------------------------------------------------------------------


def test_absent_tables_answer_as_unknown_ones(
    emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    with open_bare(tmp_path, emulated[0]) as provider:
        dv = provider.dataverse

        def get(path: str) -> httpx.Response:
            return dv.send(dv.request("test", "GET", path))

        leases = get("dwconf_leases")
        assert leases.status_code == 404
        assert leases.json()["error"]["message"] == (
            "Resource not found for the segment 'dwconf_leases'."
        )
        definition = get("EntityDefinitions(LogicalName='dwconf_deploymentrecord')")
        assert definition.status_code == 404
        assert "dwconf_deploymentrecord" in definition.json()["error"]["message"]
        names = {r["LogicalName"] for r in get("EntityDefinitions").json()["value"]}
        assert not names & set(TABLES) and "solution" in names


def test_reads_refuse_and_name_the_command(
    emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    with open_bare(tmp_path, emulated[0]) as provider, pytest.raises(ProviderError) as caught:
        provider.read()
    assert "dwconf_leases" in caught.value.message or "dwconf_deploymentrecords" in (
        caught.value.message
    )
    assert "dwconf bootstrap" in caught.value.hint


def test_check_names_both_missing_tables(dwconf: Cli, repo: Path) -> None:
    result = bootstrap(dwconf, repo, BARE, "--check")
    assert result.exit_code == 1, result.err
    for table in TABLES:
        assert f"table {table} " in result.out
    assert "dwconf bootstrap bare" in result.err


# Creating them -------------------------------------------------------------------------------


def test_bootstrap_creates_the_tables_and_the_lock_then_works(
    dwconf: Cli, repo: Path, emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    server = emulated[0]
    result = bootstrap(dwconf, repo, BARE)
    assert result.exit_code == 0, result.err
    for item in (
        "table dwconf_lease",
        "column dwconf_lease.dwconf_expireson",
        "alternate key dwconf_lease.dwconf_leasename",
        "table dwconf_deploymentrecord",
        "column dwconf_deploymentrecord.dwconf_desired",
    ):
        assert f"created {item}\n" in result.out
    assert bootstrap(dwconf, repo, BARE, "--check").exit_code == 0
    with open_bare(tmp_path, server) as provider:
        lease = provider.acquire_lock("ci", "apply", "plan-1", 300)
        record = provider.add_record(
            who="ci", plan_hash="abc", git_commit=None, solution_versions={}, desired={}
        )
        assert provider.lock_status() == lease
        assert [r.id for r in provider.records()] == [record.id]
        assert provider.read().lock == lease


def test_second_bootstrap_is_a_no_op(
    dwconf: Cli, repo: Path, emulated: tuple[Running, TestApi]
) -> None:
    api = emulated[1]
    assert bootstrap(dwconf, repo, BARE).exit_code == 0
    api.clear_stats()
    again = bootstrap(dwconf, repo, BARE)
    assert again.exit_code == 0, again.err
    assert "nothing to do" in again.out and "created" not in again.out
    assert metadata_writes(api) == 0


def test_bootstrap_adds_only_what_a_table_lacks(
    dwconf: Cli, repo: Path, emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    """A table created by hand with its name column alone gets the other columns and its key."""
    with open_bare(tmp_path, emulated[0]) as provider:
        dv = provider.dataverse
        body = {**LEASE.metadata(), "Attributes": [LEASE.primary.metadata(primary=True)]}
        dv.transport.call(dv.request("test", "POST", "EntityDefinitions", json=body))
    check = bootstrap(dwconf, repo, BARE, "--check")
    assert check.exit_code == 1
    assert "table dwconf_lease (dwconf_leases) lacks dwconf_owner" in check.out
    assert "table dwconf_deploymentrecord (dwconf_deploymentrecords) is missing" in check.out
    result = bootstrap(dwconf, repo, BARE)
    assert result.exit_code == 0, result.err
    assert "created table dwconf_lease" not in result.out
    assert "created column dwconf_lease.dwconf_owner" in result.out
    assert "created column dwconf_lease.dwconf_name\n" not in result.out
    assert "created table dwconf_deploymentrecord" in result.out


def test_created_tables_are_kept_in_the_side_state(
    dwconf: Cli, repo: Path, emulated: tuple[Running, TestApi]
) -> None:
    server = emulated[0]
    assert bootstrap(dwconf, repo, BARE).exit_code == 0
    folder = server.hub.registry.folder
    side = json.loads((folder / f"{BARE}.emulator.json").read_text(encoding="utf-8"))
    assert set(side["dwconf_tables"]) == set(TABLES)
    assert "dwconf_ttlseconds" in side["dwconf_tables"]["dwconf_lease"]["columns"]


def test_an_environment_with_the_tables_needs_nothing(
    dwconf: Cli, repo: Path, emulated: tuple[Running, TestApi]
) -> None:
    api = emulated[1]
    assert bootstrap(dwconf, repo, "live", "--check").exit_code == 0
    result = bootstrap(dwconf, repo, "live")
    assert result.exit_code == 0, result.err
    assert "nothing to do" in result.out
    assert metadata_writes(api) == 0


def test_local_environment_has_nothing_to_do(dwconf: Cli, make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    for options in ((), ("--check",)):
        result = dwconf("-C", str(repo), "bootstrap", "dev", *options)
        assert result.exit_code == 0, result.err
        assert "nothing to do" in result.out


def test_unknown_environment_is_refused(dwconf: Cli, make_repo: Callable[..., Path]) -> None:
    result = dwconf("-C", str(make_repo()), "bootstrap", "nowhere")
    assert result.exit_code == 1
    assert "unknown environment" in result.err


# The emulator's option -------------------------------------------------------------------------


def test_the_option_defaults_to_present_and_is_checked() -> None:
    config = parse({"environments": {"a": {}, "b": {"dwconf_tables": "absent"}}}, Path("."))
    assert [e.dwconf_tables for e in config.environments] == ["present", "absent"]
    with pytest.raises(EmulatorConfigError):
        parse({"environments": {"a": {"dwconf_tables": "maybe"}}}, Path("."))
