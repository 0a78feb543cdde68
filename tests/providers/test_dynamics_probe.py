"""`dwconf probe` over real HTTP: every read the provider relies on is checked against the
emulator; an answer of another shape is a mismatch naming the field; a recording is redacted,
and served back by `--replay` it reads as the environment it was made from."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dwconf import recording
from dwconf.providers.dynamics.probe import MISMATCH, OK, SKIPPED, failed, probe
from dwconf.providers.dynamics.wire import ShapeError
from tests.contract.support import CURRENCIES, CUSTOMERS, SOLUTION, package
from tests.providers.conftest import Open
from tests.providers.support import TestApi, emulator_config, open_provider, started

OWNER = "alice.smith@contoso.com"


def deploy(opened: Open) -> None:
    provider = opened()
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    for name in (CURRENCIES, CUSTOMERS):
        provider.switch_version(name, "1.0.0.0")
    provider.start_map(CURRENCIES)
    provider.acquire_lock(OWNER, "apply", "plan-1", 300)
    provider.add_record(who=OWNER, plan_hash="h", git_commit=None, solution_versions={}, desired={})


def test_a_fresh_environment_matches_with_what_it_has_nothing_of_skipped(opened: Open) -> None:
    checks = probe(opened())
    assert not failed(checks)
    by_call = {c.call: c for c in checks}
    assert by_call["GET Environments"].status == OK
    assert by_call["GET Entities"].finding == "0 maps"
    assert by_call["GET {pid}/FieldMappings"].status == SKIPPED
    assert by_call["GET solutions"].status == OK and "row" in by_call["GET solutions"].finding


def test_every_read_matches_on_a_deployed_environment(opened: Open, api: TestApi) -> None:
    deploy(opened)
    api.clear_stats()
    checks = probe(opened())
    assert [c.status for c in checks] == [OK] * len(checks), [c.as_dict() for c in checks]
    assert [c.call for c in checks] == [
        "GET solutions",
        "GET msdyn_dualwriteentitymaps",
        "GET dwconf_leases",
        "GET dwconf_deploymentrecords",
        "GET Environments",
        "GET Entities",
        "GET ConnectionSet",
        "GET {pid}/FieldMappings",
        "GET Status/{requestId}",
        "POST GetTemplatePrerequisiteSequences",
    ]
    writes = [r for r in api.stats()["log"] if not r.startswith("GET ") and "Prerequisite" not in r]
    assert all("/oauth2/" in r for r in writes), writes  # read-only: only token requests


def test_an_answer_of_another_shape_is_a_mismatch_naming_the_field(
    opened: Open, api: TestApi
) -> None:
    deploy(opened)
    link = {"dualWriteDetail": {"alertSettings": [{"name": "x", "threshold": 10}]}}
    api.faults({"match": {"method": "GET", "path": "/api/ConnectionSet/"}, "body": link})
    checks = probe(opened())
    assert failed(checks)
    (bad,) = [c for c in checks if c.status != OK]
    assert (bad.call, bad.status) == ("GET ConnectionSet", MISMATCH)
    assert bad.finding.startswith("dualWriteDetail.alertSettings[0].threshold: expected")
    assert bad.finding.endswith("got 10")


def test_record_then_replay_round_trips(opened: Open, api: TestApi, tmp_path: Path) -> None:
    deploy(opened)
    provider = opened()
    original = provider.read()
    checks = probe(provider)
    folder = tmp_path / "recorded"
    recording.write(
        folder, "dev", provider.settings.finops_host, [c.answer for c in checks if c.answer]
    )
    text = "".join(p.read_text() for p in folder.rglob("*.json"))
    assert OWNER not in text and "alice.smith" not in text
    assert original.lock is not None and original.lock.id in text  # ids are kept
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["environment"] == "dev"
    assert len(manifest["calls"]) == len([c for c in checks if c.status != SKIPPED])

    config = emulator_config(replay=folder)  # its clients and users; the recorded environment
    with started(config) as (replayed, _):
        again = open_provider(tmp_path / "other", replayed)
        try:
            checks_again = probe(again)
            assert [c.as_dict() for c in checks_again] == [c.as_dict() for c in checks]
            state = again.read()
            assert state.fingerprint == original.fingerprint
            assert state.maps == tuple(replace(m, master=None) for m in original.maps)
            assert state.lock is not None and state.lock.owner == "someone@example.invalid"
            refused = again.dataverse.transport.send(
                again.dataverse.request("write", "DELETE", f"dwconf_leases({state.lock.id})")
            )
            assert refused.status_code == 405
        finally:
            again.close()


def test_a_dataverse_page_of_another_shape_is_named_not_a_type_error(
    opened: Open, api: TestApi
) -> None:
    api.faults(
        {"match": {"method": "GET", "path": "dwconf_deploymentrecords"}, "body": {"value": 7}}
    )
    with pytest.raises(ShapeError) as caught:
        opened().records()
    assert caught.value.call == "read the deployment records"
    assert (caught.value.field, caught.value.found) == ("value", "7")
