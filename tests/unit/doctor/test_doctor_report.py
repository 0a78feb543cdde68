"""The runner: the registry, exit codes, a check that can't run, and the two renderings."""

from __future__ import annotations

import json

from dwconf.doctor import CHECKS, Check, Context, Status, diagnose, output
from dwconf.errors import DwconfError
from dwconf.live import Environment
from tests.unit.doctor.scenario import CUSTOMERS, MakeContext


def test_registry_ids_are_unique_and_codes_are_the_guides() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids)) == 14
    assert {c.id: c.code for c in CHECKS if c.code} == {
        "legal-entities": "DWDVEV1003",
        "integration-keys": "DIPV1003",
    }


def test_all_pass_exits_0(deployed: Environment, context: MakeContext) -> None:
    report = diagnose(context(deployed))
    assert [i.check.id for i in report.items] == [c.id for c in CHECKS]
    assert report.status is Status.PASS and report.exit_code == 0
    # without a deployment record two checks can't decide: skipped, not findings
    assert report.count(Status.SKIP) == 2 and report.count(Status.PASS) == 12


def test_warnings_only_exit_2(deployed: Environment, context: MakeContext) -> None:
    deployed.pause_map(CUSTOMERS)
    deployed.set_queued(CUSTOMERS, 0, None)
    report = diagnose(context(deployed))
    assert (report.status, report.exit_code) == (Status.WARN, 2)


def test_any_failure_exits_1(deployed: Environment, context: MakeContext) -> None:
    deployed.pause_map(CUSTOMERS)
    deployed.set_queued(CUSTOMERS, 0, None)
    deployed.set_map_error(CUSTOMERS, "boom")
    report = diagnose(context(deployed))
    assert (report.count(Status.WARN), report.count(Status.FAIL)) == (1, 1)
    assert (report.status, report.exit_code) == (Status.FAIL, 1)


def test_a_check_that_cannot_run_fails(env: Environment, context: MakeContext) -> None:
    def broken(ctx: Context) -> list[object]:
        raise DwconfError("the environment went away", "try again later")

    report = diagnose(context(env), [Check("broken", "Broken", broken)])  # type: ignore[arg-type]
    (item,) = report.items
    assert (item.finding.status, item.finding.evidence) == (
        Status.FAIL,
        "the environment went away",
    )


def test_text_rendering(deployed: Environment, context: MakeContext) -> None:
    deployed.set_legal_entities(["USMF"])
    text = output.text(diagnose(context(deployed)))
    lines = text.splitlines()
    assert lines[0] == "dwconf doctor: environment dev (provider local)"
    assert "pass  core-solution         The dual-write core solution was found" in lines
    assert "FAIL  legal-entities        DWDVEV1003 Legal entity DEMF is not linked" in lines
    assert "                            evidence: dev configures DEMF; the link has USMF" in lines
    assert lines[-1] == (
        "14 checks, 1 finding(s): 11 passed, 2 skipped (could not decide), 0 warning(s), 1 failed"
    )
    assert "skip  deployment-drift      No deployment record to compare with" in lines


def test_json_rendering(deployed: Environment, context: MakeContext) -> None:
    document = json.loads(output.as_json(diagnose(context(deployed))))
    assert document["format_version"] == "1.0"
    assert (document["environment"], document["status"]) == ("dev", "pass")
    assert document["summary"] == {"pass": 12, "skip": 2, "warn": 0, "fail": 0}
    assert set(document["checks"][0]) == {
        "check",
        "code",
        "title",
        "status",
        "summary",
        "evidence",
        "fix",
    }
