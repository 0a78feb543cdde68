"""Solution import (dependencies, versions, upgrades) and "apply solution"."""

from __future__ import annotations

import pytest

from dwconf.errors import ProviderError
from dwconf.live import Environment, ImportResult, RunState, SolutionPackage
from dwconf.live.errors import (
    Downgrade,
    InvalidRequest,
    MissingDependency,
    PublisherMismatch,
    SolutionNotFound,
    VersionMismatch,
)

CURRENCIES = "Currencies (transactioncurrencies)"


def test_import_installs_solution_with_its_maps(env: Environment, package) -> None:
    assert env.import_solution(package()) is ImportResult.INSTALLED
    installed = env.read().solution("contoso_Maps")
    assert installed is not None
    assert (installed.version, installed.managed, installed.publisher) == (
        "1.0.0.0",
        True,
        "contoso",
    )
    assert [(m.name, m.version) for m in installed.maps] == [(CURRENCIES, "1.0.0.0")]
    assert installed.maps[0].definition["finops_entity"] == "Currencies"


def test_import_same_version_again_is_a_no_op(env: Environment, package) -> None:
    env.import_solution(package())
    before = env.read().fingerprint
    assert env.import_solution(package()) is ImportResult.UNCHANGED
    assert env.read().fingerprint == before


def test_import_same_version_with_new_content_overwrites(
    env: Environment, package, table_map
) -> None:
    env.import_solution(package())
    changed = package(maps=[table_map(CURRENCIES, description="changed")])
    assert env.import_solution(changed) is ImportResult.UPDATED
    solution = env.read().solution("contoso_Maps")
    assert solution is not None
    assert solution.maps[0].definition["description"] == "changed"


def test_newer_version_upgrades_and_replaces_components(
    env: Environment, package, table_map
) -> None:
    env.import_solution(package())
    newer = package(version="1.1.0.0", maps=[table_map(CURRENCIES, version="1.0.0.1")])
    assert env.import_solution(newer) is ImportResult.UPGRADED
    solution = env.read().solution("contoso_Maps")
    assert solution is not None
    assert solution.version == "1.1.0.0"
    assert [m.version for m in solution.maps] == ["1.0.0.1"]


def test_older_version_than_installed_is_refused(env: Environment, package) -> None:
    env.import_solution(package(version="1.2.0.0"))
    with pytest.raises(Downgrade) as caught:
        env.import_solution(package(version="1.1.9.0"))
    assert caught.value.message == (
        "Solution 'contoso_Maps' version '1.1.9.0' can't be imported: version '1.2.0.0' is "
        "already installed. Import a version higher than '1.2.0.0'."
    )
    assert caught.value.code == "solution.downgrade"
    assert isinstance(caught.value, ProviderError)


def test_missing_required_solution_is_refused(env: Environment, package) -> None:
    with pytest.raises(MissingDependency) as caught:
        env.import_solution(package(requires={"Dynamics365GABExtended": ">=3.5.1.135"}))
    assert caught.value.message == (
        "The following solution cannot be imported: contoso_Maps. Some dependencies are "
        "missing: solution 'Dynamics365GABExtended' version '3.5.1.135' or later is required."
    )
    assert env.read().solution("contoso_Maps") is None


def test_older_required_solution_gives_the_version_mismatch_text(env: Environment, package) -> None:
    with pytest.raises(VersionMismatch) as caught:
        env.import_solution(package(requires={"Dynamics365FinanceExtended": "2.4.0"}))
    assert caught.value.message == (
        "Dynamics 365 for Sales solution 'Dynamics365FinanceExtended' has version mismatch. "
        "Version: '2.3.4.203' Required version: '2.4.0'"
    )
    assert caught.value.code == "solution.version_mismatch"


@pytest.mark.parametrize("constraint", ["2.0.227", ">=2.0.227", ">= 2.3.4.203"])
def test_satisfied_requirements_import(env: Environment, package, constraint: str) -> None:
    requires = {"Dynamics365FinanceExtended": constraint}
    assert env.import_solution(package(requires=requires)) is ImportResult.INSTALLED
    solution = env.read().solution("contoso_Maps")
    assert solution is not None and solution.requires == requires


def test_upgrade_from_another_publisher_is_refused(env: Environment, package) -> None:
    env.import_solution(package())
    with pytest.raises(PublisherMismatch) as caught:
        env.import_solution(package(version="2.0.0.0", publisher="fabrikam"))
    assert caught.value.message == (
        "Solution 'contoso_Maps' is installed with publisher 'contoso' and can't be upgraded "
        "by a solution from publisher 'fabrikam'."
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda p, m: p(version="1.0"),
            "Solution 'contoso_Maps' has version '1.0'; expected four parts like 1.0.0.0.",
        ),
        (lambda p, m: p(unique_name="bad name"), "'bad name' is not a solution unique name."),
        (
            lambda p, m: p(maps=[{"version": "1.0.0.0"}]),
            "Solution 'contoso_Maps' carries a map without a name.",
        ),
        (
            lambda p, m: p(maps=[m(CURRENCIES), m(CURRENCIES)]),
            f"Solution 'contoso_Maps' carries map '{CURRENCIES}' version '1.0.0.0' twice.",
        ),
        (
            lambda p, m: p(requires={"DualWriteCore": "<2"}),
            "'<2' is not a version such as 1.0.0.0.",
        ),
    ],
)
def test_malformed_packages_are_refused(
    env: Environment, package, table_map, build, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        env.import_solution(build(package, table_map))
    assert caught.value.message == message


def test_apply_solution_makes_templates_and_maps_without_an_active_version(
    env: Environment, package, table_map
) -> None:
    maps = [table_map(CURRENCIES), table_map(CURRENCIES, version="1.0.0.12")]
    env.import_solution(package(maps=maps))
    applied = env.apply_solution("contoso_Maps")
    assert [(t.name, t.version) for t in applied] == [
        (CURRENCIES, "1.0.0.0"),
        (CURRENCIES, "1.0.0.12"),
    ]
    state = env.read()
    live = state.map(CURRENCIES)
    assert live is not None
    assert live.versions == ("1.0.0.0", "1.0.0.12")
    assert live.active_version is None
    assert live.state is RunState.NOT_RUNNING
    assert live.project_id.startswith("DWM-")
    template = state.template(CURRENCIES, "1.0.0.12")
    assert template is not None and template.solution == "contoso_Maps"


def test_apply_solution_twice_changes_nothing(env: Environment, package) -> None:
    env.import_solution(package())
    env.apply_solution("contoso_Maps")
    before = env.read().fingerprint
    env.apply_solution("contoso_Maps")
    assert env.read().fingerprint == before


def test_apply_keeps_the_active_version(env: Environment, package, table_map) -> None:
    env.import_solution(package())
    env.apply_solution("contoso_Maps")
    env.switch_version(CURRENCIES, "1.0.0.0")
    env.import_solution(package(version="1.1.0.0", maps=[table_map(CURRENCIES, "1.0.0.1")]))
    env.apply_solution("contoso_Maps")
    live = env.get_map(CURRENCIES)
    assert live.active_version == "1.0.0.0"
    assert live.versions == ("1.0.0.0", "1.0.0.1")


def test_apply_unknown_solution_is_refused(env: Environment) -> None:
    with pytest.raises(SolutionNotFound) as caught:
        env.apply_solution("contoso_Nothing")
    assert caught.value.message == (
        "Solution 'contoso_Nothing' is not installed in the Dataverse environment."
    )
    assert caught.value.http_status == 404


def test_package_is_a_plain_dataclass() -> None:
    pkg = SolutionPackage("contoso_Maps", "1.0.0.0", False, "contoso")
    assert (pkg.requires, pkg.maps) == ({}, [])
