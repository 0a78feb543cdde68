"""Checks of the setup: the solutions installed in Dataverse and the link's legal entities
(dual-write-domain §2, §3.1, §4.2).

Solution unique names the guides don't give are marked [I] (inferred) and kept here so they
can be corrected in one place.
"""

from __future__ import annotations

import re

from dwconf.doctor.model import Context, Finding, failed, passed, warned
from dwconf.live import versions
from dwconf.live.errors import VersionMismatch

CORE_SOLUTIONS = ("DualWriteCore", "msdyn_DualWriteCore")

# [I] The guides name "Prospect to Cash" but not its solutions' unique names.
PROSPECT_TO_CASH = re.compile(r"prospect_?to_?cash", re.IGNORECASE)

# Each integration: the solutions that show it is installed [I], and the dual-write map
# solutions of the packages it needs. Project Operations needs App Core, Finance, Supply Chain,
# Asset Management and Human Resources [doc]; Field Service, App Core, Finance and Supply
# Chain [I].
APP_CORE = "msdyn_DualWriteAppCoreMaps"
FINANCE = "msdyn_Dynamics365FinanceExtendedMaps"
SUPPLY_CHAIN = "msdyn_Dynamics365SupplyChainExtendedMaps"
ASSET_MANAGEMENT = "msdyn_DualWriteAssetManagementMaps"
HUMAN_RESOURCES = "msdyn_Dynamics365HCMMaps"
INTEGRATIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Field Service", ("FieldService", "msdyn_FieldService"), (APP_CORE, FINANCE, SUPPLY_CHAIN)),
    (
        "Project Operations",
        ("ProjectOperations", "msdyn_ProjectOperations", "ProjectServiceCore"),
        (APP_CORE, FINANCE, SUPPLY_CHAIN, ASSET_MANAGEMENT, HUMAN_RESOURCES),
    ),
)


def _installed(ctx: Context) -> dict[str, str]:
    return {s.unique_name: s.version for s in ctx.state.solutions}


def core_solution(ctx: Context) -> list[Finding]:
    installed = _installed(ctx)
    found = [f"{n} {installed[n]}" for n in CORE_SOLUTIONS if n in installed]
    if found:
        return [passed("The dual-write core solution was found", ", ".join(found))]
    return [
        failed(
            "The dual-write core solution is not installed",
            "no installed solution is named " + " or ".join(CORE_SOLUTIONS),
            "The dual-write core solution contains metadata for your table maps and must be "
            "installed in the environment: install Dual-write core from AppSource.",
        )
    ]


def required_solutions(ctx: Context) -> list[Finding]:
    if not ctx.requirements:
        return [passed("No configured solution requires Microsoft solutions")]
    installed = _installed(ctx)
    found: list[Finding] = []
    for r in ctx.requirements:
        have = installed.get(r.required)
        if have is None:
            found.append(
                failed(
                    f"{r.required} is not installed",
                    f"{r.solution} requires {r.required} {r.constraint}",
                    f"Install the package that holds {r.required}, then run doctor again.",
                )
            )
            continue
        ok, wanted = versions.satisfies(have, r.constraint)
        if not ok:
            mismatch = VersionMismatch(r.required, have, wanted)
            found.append(
                failed(
                    f"{r.required} {have} does not meet {r.constraint}",
                    f"{mismatch.message} (required by {r.solution})",
                    f"Upgrade {r.required} in Dataverse to {wanted} or later.",
                )
            )
    if not found:
        shown = ", ".join(
            sorted({f"{r.required} {installed[r.required]}" for r in ctx.requirements})
        )
        found.append(passed("Required Microsoft solutions are installed", shown))
    return found


def legal_entities(ctx: Context) -> list[Finding]:
    linked = {c.casefold() for c in ctx.state.legal_entities}
    wanted = ctx.environment.link.legal_entities
    missing = [c for c in wanted if c.casefold() not in linked]
    if not missing:
        shown = ", ".join(ctx.state.legal_entities) or "none"
        return [passed("Every configured legal entity is linked", f"linked: {shown}")]
    return [
        failed(
            f"Legal entity {code} is not linked",
            f"{ctx.environment.name} configures {code}; the link has "
            f"{', '.join(ctx.state.legal_entities) or 'no legal entities'}",
            "Check that the company exists in F&O and in Dataverse (cdm_company), then add it to "
            "the link (dwconf apply: a Reset link), or remove it from link.legal_entities.",
        )
        for code in missing
    ]


def legal_entity_limit(ctx: Context) -> list[Finding]:
    count, limits = len(ctx.state.legal_entities), ctx.limits
    evidence = f"{count} legal entities linked"
    if count > limits.legal_entities:
        return [
            failed(
                f"More than {limits.legal_entities} legal entities are linked",
                evidence,
                "Link fewer legal entities: live sync supports about 250.",
            )
        ]
    if count > limits.initial_sync_legal_entities:
        return [
            warned(
                f"Over {limits.initial_sync_legal_entities} legal entities: initial sync fails",
                evidence + ' ("Exceeds the maximum partitions allowed for mapping")',
                "Run maps with Skip initial sync, or link at most 40 legal entities while they "
                "initial-sync.",
            )
        ]
    return [passed("The number of linked legal entities is within the limits", evidence)]


def prospect_to_cash(ctx: Context) -> list[Finding]:
    found = [s.unique_name for s in ctx.state.solutions if PROSPECT_TO_CASH.search(s.unique_name)]
    if not found:
        return [passed("Prospect to Cash is not installed")]
    return [
        failed(
            "Prospect to Cash is installed",
            "installed: " + ", ".join(sorted(found)),
            "Prospect to Cash can't coexist with dual-write: uninstall its solutions.",
        )
    ]


def integration_packages(ctx: Context) -> list[Finding]:
    installed = _installed(ctx)
    found: list[Finding] = []
    for name, markers, needs in INTEGRATIONS:
        present = [m for m in markers if m in installed]
        if not present:
            continue
        missing = [n for n in needs if n not in installed]
        if missing:
            found.append(
                failed(
                    f"{name} needs dual-write packages that are not installed",
                    f"{', '.join(present)} installed; missing: {', '.join(missing)}",
                    f"Install the dual-write packages {name} needs, in order (Application Core, "
                    "Asset Management, Finance, Human Resources, Supply Chain), then Apply "
                    "solution for each map solution.",
                )
            )
        else:
            found.append(passed(f"{name} has the dual-write packages it needs", ", ".join(needs)))
    return found or [passed("Neither Field Service nor Project Operations is installed")]
