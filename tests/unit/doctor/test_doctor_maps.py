"""Map checks, each both ways: errors, pauses near 7 days, queues near 1 GB, prerequisite maps,
integration keys (DIPV1003)."""

from __future__ import annotations

from datetime import timedelta

from dwconf.doctor import Limits, Status
from dwconf.doctor import map_checks as checks
from dwconf.live import Environment
from dwconf.live.errors import partition_failure
from dwconf.live.solutions import project_id
from tests.unit.doctor.scenario import CURRENCIES, CUSTOMERS, START, Clock, MakeContext, package

# map-errors ----------------------------------------------------------------------------------


def test_no_map_in_error(deployed: Environment, context: MakeContext) -> None:
    (finding,) = checks.map_errors(context(deployed))
    assert (finding.status, finding.evidence) == (Status.PASS, "2 map(s)")


def test_map_in_error_gets_the_documented_fix(deployed: Environment, context: MakeContext) -> None:
    message = (
        "Customers V3 (accounts) : Dual write failure - Dynamics 365 for Sales solution "
        "'Dynamics365Company' has version mismatch. Version: '2.0.2.10' Required version: '2.0.133'"
    )
    deployed.set_map_error(CUSTOMERS, message)
    (finding,) = checks.map_errors(context(deployed))
    assert finding.status is Status.FAIL
    assert finding.evidence == f"{CUSTOMERS} (Running): {message}"
    assert finding.fix.startswith("Upgrade the Dataverse solution the message names")


def test_failed_initial_sync(env: Environment, context: MakeContext) -> None:
    env.import_solution(package())
    env.apply_solution("contoso_DoctorMaps")
    env.switch_version(CURRENCIES, "1.0.0.0")
    env.set_legal_entities([f"LE{i:02d}" for i in range(41)])
    env.start_map(CURRENCIES, initial_sync=True, master="finops")
    env.advance()
    (finding,) = checks.map_errors(context(env))
    assert finding.status is Status.FAIL
    assert partition_failure(project_id(CURRENCIES)) in finding.evidence
    assert "Too many legal entities" in finding.fix


# paused-maps ---------------------------------------------------------------------------------


def pause(env: Environment, clock: Clock, days: float) -> None:
    env.pause_map(CUSTOMERS)
    clock.advance(days=days)


def test_paused_a_day(deployed: Environment, clock: Clock, context: MakeContext) -> None:
    pause(deployed, clock, 1)
    (finding,) = checks.paused_maps(context(deployed))
    assert (finding.status, finding.evidence) == (Status.PASS, "1 paused")


def test_paused_close_to_the_limit(
    deployed: Environment, clock: Clock, context: MakeContext
) -> None:
    pause(deployed, clock, 6)
    (finding,) = checks.paused_maps(context(deployed))
    assert finding.status is Status.WARN
    assert finding.evidence == f"{CUSTOMERS}: paused since {START.isoformat()} (6.0 days)"


def test_paused_past_the_limit(deployed: Environment, clock: Clock, context: MakeContext) -> None:
    deployed.pause_map(CUSTOMERS)
    deployed.set_queued(CUSTOMERS, 10, START - timedelta(days=8))
    (finding,) = checks.paused_maps(context(deployed))
    assert finding.status is Status.FAIL
    assert finding.summary == f"{CUSTOMERS} is paused past the 7-day limit"


def test_warning_threshold_is_configurable(
    deployed: Environment, clock: Clock, context: MakeContext
) -> None:
    pause(deployed, clock, 3)
    (finding,) = checks.paused_maps(context(deployed, limits=Limits(pause_warn_days=2)))
    assert finding.status is Status.WARN


def test_paused_since_an_unknown_time(deployed: Environment, context: MakeContext) -> None:
    deployed.pause_map(CUSTOMERS)
    deployed.set_queued(CUSTOMERS, 0, None)
    (finding,) = checks.paused_maps(context(deployed))
    assert finding.status is Status.WARN
    assert "doesn't say since when" in finding.evidence


# queued-records ------------------------------------------------------------------------------


def queue(env: Environment, count: int) -> None:
    env.pause_map(CUSTOMERS)
    env.set_queued(CUSTOMERS, count, START)


def test_small_queue(deployed: Environment, context: MakeContext) -> None:
    queue(deployed, 1000)
    (finding,) = checks.queued_records(context(deployed))
    assert (finding.status, finding.evidence) == (Status.PASS, "1000 queued record(s)")


def test_queue_close_to_1_gb(deployed: Environment, context: MakeContext) -> None:
    queue(deployed, 220_000)  # about 859 MB at 4 KiB a record
    (finding,) = checks.queued_records(context(deployed))
    assert finding.status is Status.WARN
    assert finding.evidence == (
        f"{CUSTOMERS}: 220000 queued record(s), about 859 MB of 1024 MB "
        "(estimate: 4096 bytes a record)"
    )


def test_queue_at_1_gb(deployed: Environment, context: MakeContext) -> None:
    queue(deployed, 300_000)
    (finding,) = checks.queued_records(context(deployed))
    assert finding.status is Status.FAIL


def test_bytes_per_record_is_configurable(deployed: Environment, context: MakeContext) -> None:
    queue(deployed, 300_000)
    (finding,) = checks.queued_records(context(deployed, limits=Limits(bytes_per_record=1024)))
    assert finding.status is Status.PASS


# map-dependencies ----------------------------------------------------------------------------


def test_prerequisites_run(deployed: Environment, context: MakeContext) -> None:
    assert [f.status for f in checks.map_dependencies(context(deployed))] == [Status.PASS]


def test_prerequisite_stopped_under_a_running_map(
    deployed: Environment, context: MakeContext
) -> None:
    deployed.stop_map(CURRENCIES)
    (finding,) = checks.map_dependencies(context(deployed))
    assert finding.status is Status.FAIL
    assert finding.evidence == f"{CUSTOMERS} depends on {CURRENCIES}, which is Not running"


# integration-keys (DIPV1003) -----------------------------------------------------------------


def test_every_mapped_table_has_a_key(deployed: Environment, context: MakeContext) -> None:
    assert [f.status for f in checks.integration_keys(context(deployed))] == [Status.PASS]


def test_running_map_without_a_key(deployed: Environment, context: MakeContext) -> None:
    deployed.set_integration_keys("accounts", [])
    (finding,) = checks.integration_keys(context(deployed))
    assert (finding.status, finding.summary) == (Status.FAIL, "accounts has no integration key")
    assert "DIPV1003" in finding.fix


def test_stopped_map_without_a_key_is_a_warning(
    deployed: Environment, context: MakeContext
) -> None:
    deployed.stop_map(CUSTOMERS)
    deployed.set_integration_keys("accounts", [])
    (finding,) = checks.integration_keys(context(deployed))
    assert finding.status is Status.WARN
