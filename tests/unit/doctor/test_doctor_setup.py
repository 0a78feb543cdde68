"""Setup checks, each both ways: core solution, required versions, Prospect to Cash, the packages
Field Service and Project Operations need, legal entities and their limits."""

from __future__ import annotations

from typing import Any

from dwconf.doctor import Limits, Requirement, Status
from dwconf.doctor import setup_checks as checks
from dwconf.live import Environment
from tests.unit.doctor.scenario import SOLUTION, MakeContext

CORE = {"unique_name": "DualWriteCore", "version": "1.0.24062.1", "publisher": "microsoftdynamics"}


def seeded(*solutions: dict[str, Any]) -> Environment:
    return Environment.memory({"solutions": list(solutions)})


def statuses(findings: list[Any]) -> list[Status]:
    return [f.status for f in findings]


# core-solution -------------------------------------------------------------------------------


def test_core_solution_found(env: Environment, context: MakeContext) -> None:
    (finding,) = checks.core_solution(context(env))
    assert finding.status is Status.PASS
    assert finding.summary == "The dual-write core solution was found"
    assert finding.evidence == "DualWriteCore 1.0.24062.1"


def test_core_solution_missing(context: MakeContext) -> None:
    with seeded() as env:
        (finding,) = checks.core_solution(context(env))
    assert finding.status is Status.FAIL
    assert finding.fix.startswith(
        "The dual-write core solution contains metadata for your table maps and must be "
        "installed in the environment"
    )


# required-solutions --------------------------------------------------------------------------


REQUIRES = (
    Requirement(SOLUTION, "DualWriteCore", ">=1.0.23084.0"),
    Requirement(SOLUTION, "Dynamics365Company", ">=2.0.133"),
)


def test_required_solutions_met(env: Environment, context: MakeContext) -> None:
    (finding,) = checks.required_solutions(context(env, requirements=REQUIRES))
    assert finding.status is Status.PASS
    assert finding.evidence == "DualWriteCore 1.0.24062.1, Dynamics365Company 2.2.2.112"


def test_nothing_required(env: Environment, context: MakeContext) -> None:
    assert statuses(checks.required_solutions(context(env))) == [Status.PASS]


def test_required_solution_too_old_uses_the_real_text(context: MakeContext) -> None:
    old = {**CORE, "version": "1.0.42.1"}
    company = {"unique_name": "Dynamics365Company", "version": "2.0.2.10", "publisher": "m"}
    with seeded(old, company) as env:
        found = checks.required_solutions(context(env, requirements=REQUIRES))
    assert statuses(found) == [Status.FAIL, Status.FAIL]
    assert found[1].evidence == (
        "Dynamics 365 for Sales solution 'Dynamics365Company' has version mismatch. "
        "Version: '2.0.2.10' Required version: '2.0.133' (required by contoso_DoctorMaps)"
    )
    assert found[1].fix == "Upgrade Dynamics365Company in Dataverse to 2.0.133 or later."


def test_required_solution_missing(context: MakeContext) -> None:
    with seeded(CORE) as env:
        found = checks.required_solutions(context(env, requirements=REQUIRES))
    assert statuses(found) == [Status.FAIL]
    assert found[0].summary == "Dynamics365Company is not installed"


def test_upper_bounds_are_checked_too(env: Environment, context: MakeContext) -> None:
    capped = (Requirement(SOLUTION, "DualWriteCore", ">=1.0.23084.0,<1.0.24000.0"),)
    (finding,) = checks.required_solutions(context(env, requirements=capped))
    assert finding.status is Status.FAIL
    assert "Required version: '1.0.24000.0'" in finding.evidence


# prospect-to-cash ----------------------------------------------------------------------------


def test_prospect_to_cash_absent(env: Environment, context: MakeContext) -> None:
    assert statuses(checks.prospect_to_cash(context(env))) == [Status.PASS]


def test_prospect_to_cash_installed(context: MakeContext) -> None:
    p2c = {"unique_name": "msdynce_ProspectToCash", "version": "1.0.0.0", "publisher": "m"}
    with seeded(CORE, p2c) as env:
        (finding,) = checks.prospect_to_cash(context(env))
    assert finding.status is Status.FAIL
    assert finding.evidence == "installed: msdynce_ProspectToCash"
    assert "can't coexist with dual-write" in finding.fix


# integration-packages ------------------------------------------------------------------------


def test_no_field_service_or_project_operations(env: Environment, context: MakeContext) -> None:
    (finding,) = checks.integration_packages(context(env))
    assert finding.status is Status.PASS


def test_field_service_with_its_packages(context: MakeContext) -> None:
    names = ["msdyn_DualWriteAppCoreMaps", "msdyn_Dynamics365FinanceExtendedMaps"]
    names += ["msdyn_Dynamics365SupplyChainExtendedMaps", "FieldService"]
    with seeded(*({"unique_name": n, "version": "2.0.0.0"} for n in names)) as env:
        (finding,) = checks.integration_packages(context(env))
    assert finding.status is Status.PASS
    assert finding.summary == "Field Service has the dual-write packages it needs"


def test_field_service_without_supply_chain(context: MakeContext) -> None:
    names = ["msdyn_DualWriteAppCoreMaps", "msdyn_Dynamics365FinanceExtendedMaps", "FieldService"]
    with seeded(*({"unique_name": n, "version": "2.0.0.0"} for n in names)) as env:
        (finding,) = checks.integration_packages(context(env))
    assert finding.status is Status.FAIL
    assert (
        finding.evidence
        == "FieldService installed; missing: msdyn_Dynamics365SupplyChainExtendedMaps"
    )


def test_project_operations_without_asset_management(context: MakeContext) -> None:
    names = [
        "msdyn_DualWriteAppCoreMaps",
        "msdyn_Dynamics365FinanceExtendedMaps",
        "msdyn_Dynamics365SupplyChainExtendedMaps",
        "msdyn_Dynamics365HCMMaps",
        "msdyn_ProjectOperations",
    ]
    with seeded(*({"unique_name": n, "version": "2.0.0.0"} for n in names)) as env:
        (finding,) = checks.integration_packages(context(env))
    assert finding.status is Status.FAIL
    assert finding.evidence.endswith("missing: msdyn_DualWriteAssetManagementMaps")


# legal-entities (DWDVEV1003) -----------------------------------------------------------------


def test_configured_legal_entities_linked(deployed: Environment, context: MakeContext) -> None:
    (finding,) = checks.legal_entities(context(deployed))
    assert finding.status is Status.PASS
    assert finding.evidence == "linked: USMF, DEMF"


def test_configured_legal_entity_not_linked(deployed: Environment, context: MakeContext) -> None:
    deployed.set_legal_entities(["usmf"])
    (finding,) = checks.legal_entities(context(deployed))
    assert (finding.status, finding.summary) == (Status.FAIL, "Legal entity DEMF is not linked")
    assert finding.evidence == "dev configures DEMF; the link has usmf"


def test_legal_entities_gone_after_a_reset_link(
    deployed: Environment, context: MakeContext
) -> None:
    deployed.reset_link(force=True)
    found = checks.legal_entities(context(deployed))
    assert statuses(found) == [Status.FAIL, Status.FAIL]
    assert found[0].evidence.endswith("the link has no legal entities")


# legal-entity-limit --------------------------------------------------------------------------


def test_legal_entities_within_the_limits(deployed: Environment, context: MakeContext) -> None:
    assert statuses(checks.legal_entity_limit(context(deployed))) == [Status.PASS]


def test_too_many_legal_entities_for_initial_sync(env: Environment, context: MakeContext) -> None:
    env.set_legal_entities([f"LE{i:02d}" for i in range(41)])
    (finding,) = checks.legal_entity_limit(context(env))
    assert finding.status is Status.WARN
    assert "Exceeds the maximum partitions allowed" in finding.evidence


def test_too_many_legal_entities(env: Environment, context: MakeContext) -> None:
    env.set_legal_entities(["USMF", "DEMF", "GBSI"])
    (finding,) = checks.legal_entity_limit(context(env, limits=Limits(legal_entities=2)))
    assert finding.status is Status.FAIL
