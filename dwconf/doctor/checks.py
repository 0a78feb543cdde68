"""The registry of `dwconf doctor` checks, in the order they run and are shown (style rule 7).

Each check is one small function of the `Context` (setup_checks, map_checks, record_checks);
`code` is the code the troubleshooting guides use for the condition, where they have one.
"""

from __future__ import annotations

from dwconf.doctor import alert_checks, map_checks, record_checks, setup_checks
from dwconf.doctor.model import Check

CHECKS: tuple[Check, ...] = (
    Check("core-solution", "Dual-write core solution installed", setup_checks.core_solution),
    Check(
        "required-solutions",
        "Microsoft solutions at the versions the configured solutions require",
        setup_checks.required_solutions,
    ),
    Check(
        "prospect-to-cash",
        "Prospect to Cash not installed",
        setup_checks.prospect_to_cash,
    ),
    Check(
        "integration-packages",
        "Packages Field Service and Project Operations need",
        setup_checks.integration_packages,
    ),
    Check(
        "legal-entities",
        "Configured legal entities linked",
        setup_checks.legal_entities,
        code="DWDVEV1003",
    ),
    Check(
        "legal-entity-limit",
        "Linked legal entities within the limits",
        setup_checks.legal_entity_limit,
    ),
    Check("map-errors", "Maps without errors", map_checks.map_errors),
    Check("paused-maps", "Maps not paused near the 7-day limit", map_checks.paused_maps),
    Check("queued-records", "Queues not near the 1 GB limit", map_checks.queued_records),
    Check(
        "map-dependencies",
        "Prerequisite maps of running maps run",
        map_checks.map_dependencies,
    ),
    Check(
        "integration-keys",
        "Integration keys for mapped tables",
        map_checks.integration_keys,
        code="DIPV1003",
    ),
    Check("alert-settings", "Alert settings as configured", alert_checks.alert_settings),
    Check(
        "alert-restart",
        "Maps restarted since the alert settings changed",
        record_checks.alert_restart,
    ),
    Check(
        "deployment-drift",
        "Live unchanged since dwconf's last apply",
        record_checks.deployment_drift,
    ),
)

__all__ = ["CHECKS"]
