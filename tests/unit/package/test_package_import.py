"""`import_environment`: a live state as configuration files, and what it leaves out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dwconf.errors import DwconfError
from dwconf.live import AlertSetting, Environment
from dwconf.model import Environment as EnvironmentModel
from dwconf.model import Settings, TableMap
from dwconf.package import package_for
from dwconf.package.importer import import_environment
from dwconf.templating import context_for, render_document
from dwconf.yaml import read
from tests.unit.package.builders import currencies, customers, solution

SOURCE = EnvironmentModel.model_validate(
    {"name": "dev", "stage": "dev", "vars": {"code": 3}, "maps": {"initial_sync": "skip"}}
)
OTHER = solution(unique_name="contoso_ReferenceMaps", requires={})


@pytest.fixture
def env() -> Iterator[Environment]:
    with Environment.memory() as environment:
        environment.import_solution(package_for(OTHER, [currencies()]))
        environment.import_solution(package_for(solution(requires={}), [customers()]))
        for name in ("contoso_ReferenceMaps", "contoso_CustomerMaps"):
            environment.apply_solution(name)
        environment.switch_version("Currencies (transactioncurrencies)", "1.0.0.1")
        environment.switch_version("Customers V3 (accounts)", "1.0.0.5")
        environment.start_map("Currencies (transactioncurrencies)")
        environment.set_integration_keys("accounts", ["accountnumber", "msdyn_company"])
        environment.set_integration_keys("contacts", ["fullname"])
        environment.set_legal_entities(["USMF", "DEMF"])
        environment.set_alerts(
            [AlertSetting("app-errors", "application", 10, 15, "pause", ("ops@contoso.com",))]
        )
        yield environment


def load(text: str) -> object:
    doc, problems = read(text.encode(), "f.yaml")
    assert problems == []
    data, problems = render_document(doc, context_for("dev", "dev", [], {}))
    return data


def test_files_and_layout(env: Environment) -> None:
    imported = import_environment(SOURCE, env.read(), settings=Settings(project="contoso"))
    assert list(imported.files) == [
        "dwconf.yaml",
        "environments/dev.yaml",
        "solutions/contoso-customermaps/maps/customers-v3-accounts.yaml",
        "solutions/contoso-customermaps/solution.yaml",
        "solutions/contoso-referencemaps/maps/currencies-transactioncurrencies.yaml",
        "solutions/contoso-referencemaps/solution.yaml",
    ]
    assert imported.files["dwconf.yaml"] == "project: contoso\nstages: [dev, test, prod]\n"
    assert imported.files["environments/dev.yaml"] == (
        "# Imported by dwconf import from environment dev.\n"
        "name: dev\n"
        "stage: dev\n"
        "link:\n"
        "  legal_entities: [USMF, DEMF]\n"
        "solutions:\n"
        "  contoso-customermaps: workspace  # installed 1.4.0.0\n"
        "  contoso-referencemaps: workspace  # installed 1.4.0.0\n"
        "maps:\n"
        "  default_state: running\n"
        "  state:\n"
        "    Customers V3 (accounts): stopped\n"
        "  initial_sync: skip\n"
        "alerts:\n"
        "  - name: app-errors\n"
        "    error_type: application\n"
        "    threshold: 10\n"
        "    window_minutes: 15\n"
        "    action: pause\n"
        "    notify: [ops@contoso.com]\n"
        "vars:\n"
        "  code: 3\n"
    )


def test_maps_carry_the_link_key_and_solutions_their_dependencies(env: Environment) -> None:
    files = import_environment(SOURCE, env.read()).files
    model = TableMap.model_validate(
        load(files["solutions/contoso-customermaps/maps/customers-v3-accounts.yaml"])
    )
    assert model.integration_key == ["accountnumber", "msdyn_company"]
    assert model.model_copy(update={"integration_key": customers().integration_key}) == customers()
    solution_file = load(files["solutions/contoso-customermaps/solution.yaml"])
    assert solution_file["depends_on"] == ["contoso-referencemaps"]  # type: ignore[index]
    assert solution_file["publisher"] == {  # type: ignore[index]
        "unique_name": "contoso",
        "prefix": "contoso",
        "option_value_prefix": 10000,
    }


def test_notes_say_what_was_left_out(env: Environment) -> None:
    env.import_solution(
        package_for(solution(version="1.5.0.0", requires={}), [customers(version="1.0.0.6")])
    )
    env.apply_solution("contoso_CustomerMaps")
    env.set_alerts([AlertSetting("App errors!", "application", 10, 15, "pause")])
    imported = import_environment(SOURCE, env.read())
    assert imported.notes == (
        "solution contoso_CustomerMaps also carries map 'Customers V3 (accounts)' version "
        "1.0.0.6, which is not imported: a plan shows the solution's content changing",
        "integration key of 'contacts' left out: no imported map uses that table",
        "alert setting 'App errors!' left out: dwconf can't express it",
    )


def test_maps_without_an_active_version_are_left_out(env: Environment) -> None:
    env.import_solution(
        package_for(
            solution(unique_name="contoso_More", requires={}),
            [
                customers(
                    name="Vendors", finops_entity="Vendors V2", dataverse_table="msdyn_vendors"
                )
            ],
        )
    )
    env.apply_solution("contoso_More")
    imported = import_environment(SOURCE, env.read())
    assert "map 'Vendors' left out: it has no active version" in imported.notes
    assert not any("contoso-more" in path for path in imported.files)


def test_chosen_maps_bring_their_prerequisites(env: Environment) -> None:
    imported = import_environment(SOURCE, env.read(), maps=["Customers V3 (accounts)"])
    assert "solutions/contoso-referencemaps/solution.yaml" in imported.files
    assert imported.notes[0] == (
        "map 'Currencies (transactioncurrencies)' imported too: a chosen map depends on it"
    )


def test_unknown_map_names_are_refused(env: Environment) -> None:
    with pytest.raises(DwconfError, match="no map named 'Nope'") as refused:
        import_environment(SOURCE, env.read(), maps=["Nope"])
    assert "Currencies (transactioncurrencies)" in refused.value.hint


def test_pin_installed_versions(env: Environment) -> None:
    files = import_environment(SOURCE, env.read(), pin_installed=True).files
    assert (
        "  contoso-customermaps: 1.4.0.0  # installed 1.4.0.0\n" in files["environments/dev.yaml"]
    )


def test_the_same_state_gives_the_same_files(env: Environment) -> None:
    state = env.read()
    assert import_environment(SOURCE, state) == import_environment(SOURCE, state)
