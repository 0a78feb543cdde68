"""The Azure Repos review thread, posted to a local fake of the Azure DevOps REST API."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwconf.ci import azure_devops
from tests.unit.ci.fake_azure_devops import FakeDevOps, serve

TOKEN = "pipeline-token-123"


def artifacts(root: Path, *, validate_code: int, plans: dict[str, int]) -> Path:
    validate = root / "review-validate"
    validate.mkdir(parents=True)
    (validate / "validate.code").write_text(f"{validate_code}\n")
    (validate / "validate.txt").write_text("maps/a.yaml:3:5: error DW2001 'X' is not a field\n")
    (validate / "diff.md").write_text("### dwconf diff\n\n- `map.a` changed\n")
    for env, code in plans.items():
        folder = root / f"review-plan-{env}"
        folder.mkdir()
        (folder / f"{env}.code").write_text(f"{code}\n")
        (folder / f"{env}.md").write_text(f"### dwconf plan: `{env}`\n\nNo changes.\n")
        (folder / f"{env}.err").write_text("lock held by someone\n" if code else "")
    return root


def environment(collection: str) -> dict[str, str]:
    return {
        "SYSTEM_ACCESSTOKEN": TOKEN,
        "SYSTEM_COLLECTIONURI": collection,
        "SYSTEM_TEAMPROJECTID": "dual-write",
        "BUILD_REPOSITORY_ID": "config",
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "7",
    }


def test_a_failed_validation_creates_an_active_thread_then_a_pass_updates_it_in_place(
    tmp_path: Path,
) -> None:
    fake = FakeDevOps(token=TOKEN)
    someone = fake.add_thread(7, "Looks good to me")
    with serve(fake) as collection:
        failing = artifacts(tmp_path / "one", validate_code=1, plans={})
        assert azure_devops.main(["review", str(failing)], environment(collection)) == 0
        mine = [t for t in fake.threads[7] if t is not someone]
        assert len(mine) == 1
        assert mine[0]["status"] == azure_devops.ACTIVE
        text = mine[0]["comments"][0]["content"]
        assert text.startswith(azure_devops.MARKER)
        assert "dwconf validate failed (exit 1)" in text and "DW2001" in text

        passing = artifacts(tmp_path / "two", validate_code=0, plans={"dev": 0, "test": 0})
        assert azure_devops.main(["review", str(passing)], environment(collection)) == 0
    assert len(fake.threads[7]) == 2, "updated in place, no second thread"
    assert mine[0]["status"] == azure_devops.CLOSED
    text = mine[0]["comments"][0]["content"]
    assert "Validation passed." in text and "dwconf plan: `test`" in text
    assert someone["comments"][0]["content"] == "Looks good to me"
    methods = [m for m, _ in fake.requests]
    assert methods == ["GET", "POST", "GET", "PATCH", "PATCH"]


def test_a_failed_plan_keeps_the_thread_active_and_shows_the_error(tmp_path: Path) -> None:
    review = azure_devops.compose(artifacts(tmp_path, validate_code=0, plans={"prod": 5}))
    assert review.failed
    assert "dwconf plan prod failed (exit 5)" in review.body
    assert "lock held by someone" in review.body


def test_a_long_review_is_cut_and_says_so() -> None:
    body = azure_devops.MARKER + "\n" + "x" * 500
    cut = azure_devops.cut(body, limit=200)
    assert len(cut) <= 200
    assert cut.startswith(azure_devops.MARKER)
    left_out = len(body) - cut.index("\n\n---\n")
    assert f"**This review was cut: {left_out} characters left out.**" in cut
    assert azure_devops.cut("short", limit=200) == "short"


def test_a_wrong_token_fails_without_printing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeDevOps(token="another")
    with serve(fake) as collection:
        folder = artifacts(tmp_path, validate_code=0, plans={"dev": 0})
        assert azure_devops.main(["review", str(folder)], environment(collection)) == 1
    err = capsys.readouterr().err
    assert "401" in err and TOKEN not in err


def test_without_a_token_or_outside_a_pull_request_it_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert azure_devops.main(["review", str(tmp_path)], {}) == 1
    assert "SYSTEM_ACCESSTOKEN" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="SYSTEM_PULLREQUEST_PULLREQUESTID"):
        azure_devops.main(["review", str(tmp_path)], {"SYSTEM_ACCESSTOKEN": TOKEN})


def test_help_says_what_it_reads_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert azure_devops.main(["--help"], {}) == 0
    shown = capsys.readouterr().out
    assert "review DIR" in shown and "SYSTEM_ACCESSTOKEN" in shown and "review-plan-ENV" in shown
    assert azure_devops.main([], {}) == 1
    assert "--help" in capsys.readouterr().err
