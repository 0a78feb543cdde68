"""Checks against dwconf's deployment records, each both ways: alert settings maps have not
picked up since they changed, and drift since the last successful apply."""

from __future__ import annotations

from dwconf.doctor import Status
from dwconf.doctor import record_checks as checks
from dwconf.live import AlertSetting, Environment
from dwconf.plan.live_view import live_objects
from tests.unit.doctor.scenario import CURRENCIES, CUSTOMERS, SOLUTION, Clock, MakeContext

LOUDER = AlertSetting("app-errors", "application", 5, 15, "stop", ("ops@contoso.com",))


def record(env: Environment, status: str = "succeeded") -> str:
    """A deployment record whose desired state is what the environment holds now."""
    desired = live_objects(env.read(), {SOLUTION})
    made = env.add_record(
        who="ci",
        plan_hash="p",
        git_commit=None,
        solution_versions={},
        desired=desired,
        status=status,
    )
    return made.id


def restart(env: Environment) -> None:
    for name in (CUSTOMERS, CURRENCIES):
        env.stop_map(name)
    for name in (CURRENCIES, CUSTOMERS):
        env.start_map(name)


# alert-restart -------------------------------------------------------------------------------


def test_no_alert_settings(deployed: Environment, context: MakeContext) -> None:
    deployed.set_alerts([])
    (finding,) = checks.alert_restart(context(deployed))
    assert (finding.status, finding.evidence) == (Status.PASS, "0 alert setting(s)")


def test_without_records_it_says_it_cannot_tell(
    deployed: Environment, context: MakeContext
) -> None:
    (finding,) = checks.alert_restart(context(deployed))
    assert finding.status is Status.SKIP
    assert finding.summary == "Can't tell when the alert settings changed"


def test_settings_of_the_first_apply(
    deployed: Environment, clock: Clock, context: MakeContext
) -> None:
    clock.advance(minutes=5)
    made = record(deployed)
    (finding,) = checks.alert_restart(context(deployed))
    assert finding.status is Status.SKIP
    assert finding.summary == "Can't tell whether maps started before the alert settings"
    assert f"first apply here (deployment record {made})" in finding.evidence


def test_maps_started_after_the_settings_changed(
    deployed: Environment, clock: Clock, context: MakeContext
) -> None:
    deployed.set_alerts([])
    record(deployed)
    clock.advance(days=1)
    deployed.set_alerts([LOUDER])
    clock.advance(minutes=1)
    restart(deployed)
    record(deployed)
    (finding,) = checks.alert_restart(context(deployed))
    assert finding.summary == "Running maps started after the alert settings last changed"


def test_settings_changed_outside_dwconf(
    deployed: Environment, clock: Clock, context: MakeContext
) -> None:
    record(deployed)
    clock.advance(hours=1)
    deployed.set_alerts([LOUDER])
    (finding,) = checks.alert_restart(context(deployed))
    assert finding.status is Status.WARN
    assert "differ from deployment record id-" in finding.evidence
    assert "doesn't record when they changed" in finding.evidence
    assert finding.fix.startswith(
        f"Alert settings take effect when a map starts: stop and run {CURRENCIES}, {CUSTOMERS}"
    )


def test_settings_changed_by_an_apply_after_the_maps_started(
    deployed: Environment, clock: Clock, context: MakeContext
) -> None:
    deployed.set_alerts([])
    clock.advance(minutes=5)
    record(deployed)  # maps running, no alert settings
    clock.advance(days=1)
    deployed.set_alerts([LOUDER])
    second = record(deployed)  # an apply that only changed the alert settings
    (finding,) = checks.alert_restart(context(deployed))
    assert finding.status is Status.WARN
    assert finding.summary == "Maps not restarted since the alert settings changed"
    assert finding.evidence.startswith(f"deployment record {second} (")
    assert f"{CURRENCIES}: last started 2025-03-01T09:00:00+00:00" in finding.evidence

    clock.advance(minutes=1)
    restart(deployed)
    (finding,) = checks.alert_restart(context(deployed))
    assert finding.status is Status.PASS


def test_a_resumed_map_has_no_known_start(
    deployed: Environment, clock: Clock, context: MakeContext
) -> None:
    deployed.set_alerts([])
    record(deployed)
    clock.advance(days=1)
    deployed.set_alerts([LOUDER])
    record(deployed)
    restart(deployed)
    deployed.pause_map(CUSTOMERS)
    deployed.resume_map(CUSTOMERS)
    deployed.advance()
    (finding,) = checks.alert_restart(context(deployed))
    assert finding.status is Status.WARN
    assert finding.evidence.endswith(
        f"{CUSTOMERS}: start time unknown (its last request was resume)"
    )


# deployment-drift ----------------------------------------------------------------------------


def test_no_record_no_drift(deployed: Environment, context: MakeContext) -> None:
    record(deployed, status="failed")
    (finding,) = checks.deployment_drift(context(deployed))
    assert (finding.status, finding.summary) == (
        Status.SKIP,
        "No deployment record to compare with",
    )


def test_live_matches_the_record(deployed: Environment, context: MakeContext) -> None:
    made = record(deployed)
    (finding,) = checks.deployment_drift(context(deployed))
    assert (finding.status, finding.evidence) == (Status.PASS, f"deployment record {made}")


def test_changes_outside_dwconf_are_drift(deployed: Environment, context: MakeContext) -> None:
    record(deployed)
    deployed.set_legal_entities(["USMF"])
    deployed.stop_map(CUSTOMERS)
    (finding,) = checks.deployment_drift(context(deployed))
    assert finding.status is Status.WARN
    assert finding.summary == "2 object(s) changed outside dwconf since its last apply"
    assert finding.evidence.endswith(
        "link.legal_entities (update), map.customers-v3-accounts (update)"
    )
    assert finding.fix.startswith("See the details with dwconf drift dev")
