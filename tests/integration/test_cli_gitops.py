"""release, version pins read from tags, promote and the semantic diff, through the CLI, on real
temporary git repositories with a small configuration; the pre-commit hook (the workflows:
test_workflows.py)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest

from dwconf.apply import operations
from dwconf.errors import ProviderError, RefusedError
from dwconf.gitops import gate
from dwconf.load.project import Loader
from dwconf.plan.order import Operation
from dwconf.yaml import load_plain
from tests.conftest import TEST_MAP, write_tree
from tests.support import Result

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests/golden/diff"
SCHEMA = (ROOT / "tests/unit/validate/cases/_schema.yaml").read_text(encoding="utf-8")
ACTOR = git.Actor("Test", "test@example.com")
WHEN = "2024-05-01T12:00:00"

Cli = Callable[..., Result]

MAP = TEST_MAP
SOLUTION = """\
# The base solution: every test map.
unique_name: tst_Base
version: 1.0.0.0        # dwconf release --bump rewrites this
publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}
"""
DEV = """\
name: dev
stage: dev
link:
  legal_entities: [USMF]
solutions:
  base: workspace
vars:
  code: 3
"""
TEST = """\
# Test: released versions only, promoted from dev.
name: test
stage: test
promote_from: dev
link:
  legal_entities: [USMF]   # one company while testing

solutions:
  base: workspace          # set by dwconf promote dev test

vars:
  code: 3
"""
PROD = TEST.replace("name: test", "name: prod").replace("stage: test", "stage: prod")
PROD = PROD.replace("promote_from: dev", "promote_from: test")
FILES = {
    ".gitignore": ".dwconf/\n",
    "dwconf.yaml": "project: t\nstages: [dev, test, prod]\n",
    "solutions/base/solution.yaml": SOLUTION,
    "solutions/base/schema/test.yaml": SCHEMA,
    "solutions/base/maps/customers.yaml": MAP,
    "environments/dev.yaml": DEV,
    "environments/test.yaml": TEST,
    "environments/prod.yaml": PROD,
}


class Repo:
    """A configuration repository in git, with helpers that read like the steps of a user."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        write_tree(root, files)
        self.git = git.Repo.init(root, initial_branch="main")
        with self.git.config_writer() as config:
            config.set_value("user", "name", ACTOR.name)
            config.set_value("user", "email", ACTOR.email)
        self.commit("init")

    def commit(self, message: str) -> str:
        self.git.git.add("-A")
        made = self.git.index.commit(
            message, author=ACTOR, committer=ACTOR, author_date=WHEN, commit_date=WHEN
        )
        return made.hexsha

    def read(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")

    def write(self, name: str, text: str) -> None:
        (self.root / name).write_text(text, encoding="utf-8")

    def edit(self, name: str, old: str, new: str) -> None:
        text = self.read(name)
        assert old in text, f"{old!r} not in {name}"
        self.write(name, text.replace(old, new, 1))

    def pin(self, env: str, version: str, commit: bool = True) -> None:
        path = f"environments/{env}.yaml"
        self.write(path, re.sub(r"(?m)^(  base: )\S+", rf"\g<1>{version}", self.read(path)))
        if commit:
            self.commit(f"Pin {env} to base {version}")

    def log(self) -> list[str]:
        return [c.summary for c in self.git.iter_commits()]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo", FILES)


@pytest.fixture
def run(repo: Repo, dwconf: Cli) -> Cli:
    """`dwconf -C <repo> ARGS`."""

    def call(*args: str) -> Result:
        return dwconf("-C", str(repo.root), *args)

    return call


def add_field(repo: Repo) -> None:
    repo.edit(
        "solutions/base/maps/customers.yaml",
        "  - {dataverse: tst_kind",
        "  - {finops: NAME, dataverse: tst_name}\n  - {dataverse: tst_kind",
    )


def released_twice(repo: Repo, run: Cli) -> None:
    """base 1.0.0.0 released and pinned by test; base 1.1.0.0 (one more field) pinned by dev."""
    assert run("release", "base").exit_code == 0
    repo.pin("test", "1.0.0.0")
    add_field(repo)
    repo.commit("Map NAME")
    assert run("release", "base", "--bump", "minor").exit_code == 0
    repo.pin("dev", "1.1.0.0")


# -- release ---------------------------------------------------------------------------------


def test_release_tags_the_version_as_it_is(repo: Repo, run: Cli) -> None:
    head = repo.git.head.commit.hexsha
    result = run("release", "base")
    assert result.exit_code == 0, result.err
    assert "Released base 1.0.0.0: tag base/v1.0.0.0" in result.out
    tag = repo.git.tags["base/v1.0.0.0"]
    assert tag.tag is not None, "an annotated tag"
    assert tag.tag.message == "Release base 1.0.0.0"
    assert tag.commit.hexsha == head and repo.log() == ["init"]


def test_release_bump_commits_the_new_version_with_comments_kept(repo: Repo, run: Cli) -> None:
    result = run("release", "base", "--bump", "minor")
    assert result.exit_code == 0, result.err
    assert repo.log() == ["Release base 1.1.0.0", "init"]
    assert repo.read("solutions/base/solution.yaml") == SOLUTION.replace(
        "version: 1.0.0.0 ", "version: 1.1.0.0 "
    )
    head = repo.git.head.commit
    assert list(head.stats.files) == ["solutions/base/solution.yaml"]
    assert repo.git.tags["base/v1.1.0.0"].commit == head
    assert run("release", "base", "--bump", "revision").exit_code == 0
    assert "base/v1.1.0.1" in [t.name for t in repo.git.tags]


def test_release_refuses_a_released_version_a_dirty_tree_and_unknown_folders(
    repo: Repo, run: Cli
) -> None:
    assert run("release", "base").exit_code == 0
    again = run("release", "base")
    assert again.exit_code == 1
    assert "base 1.0.0.0 is already released (tag base/v1.0.0.0)" in again.err
    assert "dwconf release base --bump patch" in again.err
    repo.edit("environments/dev.yaml", "code: 3", "code: 2")
    dirty = run("release", "base", "--bump", "patch")
    assert dirty.exit_code == 1 and "uncommitted changes: environments/dev.yaml" in dirty.err
    repo.commit("dev code")
    unknown = run("release", "nope")
    assert unknown.exit_code == 1 and "'nope' is not a solution folder" in unknown.err


def test_release_refuses_a_solution_that_does_not_validate(repo: Repo, run: Cli) -> None:
    repo.edit("solutions/base/maps/customers.yaml", "dataverse: tst_account}", "dataverse: x}")
    repo.commit("broken")
    result = run("release", "base", "--bump", "patch")
    assert result.exit_code == 1 and "DW2002" in result.err
    assert "Release base 1.0.1.0" not in repo.log() and not repo.git.tags


def test_release_refuses_a_solution_yaml_that_does_not_parse_with_its_position(
    repo: Repo, run: Cli
) -> None:
    repo.edit("solutions/base/solution.yaml", "unique_name: tst_Base", "unique_name: [tst_Base")
    repo.commit("broken")
    result = run("release", "base", "--bump", "patch")
    assert result.exit_code == 1
    assert "solutions/base/solution.yaml:3:8: error DW1003" in result.err
    assert "Traceback" not in result.err and not repo.git.tags


# -- pins read from tags ---------------------------------------------------------------------


def test_a_pin_reads_the_tagged_files_even_after_the_working_tree_changed(
    repo: Repo, run: Cli
) -> None:
    assert run("release", "base").exit_code == 0
    tag_commit = repo.git.tags["base/v1.0.0.0"].commit.hexsha
    repo.pin("test", "1.0.0.0", commit=False)
    add_field(repo)  # the working tree moves on; test must not see it
    assert run("validate").exit_code == 0
    test_env = json.loads(run("render", "test", "--format", "json").out)["objects"]
    dev_env = json.loads(run("render", "dev", "--format", "json").out)["objects"]
    assert len(test_env["map.test-customers"]["definition"]["fields"]) == 2
    assert len(dev_env["map.test-customers"]["definition"]["fields"]) == 3
    assert test_env["solution.tst_Base"]["source"] == tag_commit
    assert dev_env["solution.tst_Base"]["source"] == "workspace"
    plan = json.loads(run("plan", "test", "--format", "json").out)
    (created,) = [c for c in plan["changes"] if c["address"] == "map.test-customers"]
    assert len(created["after"]["definition"]["fields"]) == 2


def test_a_saved_plan_records_the_resolved_commit(repo: Repo, run: Cli, tmp_path: Path) -> None:
    assert run("release", "base").exit_code == 0
    repo.pin("test", "1.0.0.0")
    out = tmp_path / "test.dwplan"
    assert run("plan", "test", "--out", str(out)).exit_code == 0
    saved = json.loads(out.read_text())
    tag_commit = repo.git.tags["base/v1.0.0.0"].commit.hexsha
    assert saved["desired"]["solution.tst_Base"]["source"] == tag_commit


def test_a_pin_to_a_missing_tag_lists_the_released_versions(repo: Repo, run: Cli) -> None:
    assert run("release", "base").exit_code == 0
    assert run("release", "base", "--bump", "patch").exit_code == 0
    repo.pin("test", "1.2.0.0", commit=False)
    result = run("validate", "--format", "json")
    assert result.exit_code == 1
    (found,) = json.loads(result.out)["diagnostics"]
    assert (found["file"], found["line"], found["column"]) == ("environments/test.yaml", 9, 9)
    assert found["code"] == "DW2814"
    assert "no git tag base/v1.2.0.0" in found["message"]
    assert "released: 1.0.0.0, 1.0.1.0" in found["message"]
    assert run("plan", "test").exit_code == 1


def test_diagnostics_in_tagged_files_name_the_tag(repo: Repo, run: Cli) -> None:
    repo.edit("solutions/base/maps/customers.yaml", "version: 1.0.0.0", "version: 1.0")
    repo.commit("broken map")
    repo.git.create_tag("base/v1.0.0.0")  # by hand: dwconf release would have refused
    repo.edit("solutions/base/maps/customers.yaml", "version: 1.0", "version: 1.0.0.0")
    repo.pin("test", "1.0.0.0", commit=False)
    result = run("validate")
    assert result.exit_code == 1
    assert "solutions/base/maps/customers.yaml@base/v1.0.0.0:2:10: error DW1103" in result.out


def test_a_tag_whose_solution_holds_another_version(repo: Repo, run: Cli) -> None:
    repo.git.create_tag("base/v2.0.0.0")  # solution.yaml says 1.0.0.0
    repo.pin("test", "2.0.0.0", commit=False)
    result = run("validate")
    assert "DW2814 the tag base/v2.0.0.0 holds 'base' version 1.0.0.0" in result.out


def test_a_version_pin_outside_git(make_repo: Callable[..., Path], dwconf: Cli) -> None:
    root = make_repo(
        {
            "environments/dev.yaml": DEV.replace("base: workspace", "base: 1.0.0.0"),
            "solutions/base/schema/test.yaml": SCHEMA,
        }
    )
    result = dwconf("validate", str(root))
    assert result.exit_code == 1
    assert "DW2814 pin 1.0.0.0 for 'base' reads the git tag base/v1.0.0.0" in result.out


# -- promote ---------------------------------------------------------------------------------


def test_promote_opens_a_branch_with_one_commit_of_the_pins(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    before, head = repo.read("environments/test.yaml"), repo.git.head.commit
    result = run("promote", "dev", "test")
    assert result.exit_code == 0, result.err
    branch = repo.git.active_branch.name
    assert re.fullmatch(rf"promote/test/\d{{8}}-{head.hexsha[:7]}", branch)
    made = repo.git.head.commit
    assert made.parents == (head,), "one commit on top of the promoted one"
    assert list(made.stats.files) == ["environments/test.yaml"]
    assert repo.read("environments/test.yaml") == before.replace("base: 1.0.0.0", "base: 1.1.0.0")
    assert made.message.startswith("Promote dev to test\n\n- base: 1.0.0.0 -> 1.1.0.0\n")
    assert "Gate: dev runs these versions (deployment record" in made.message
    assert f"new branch {branch}" in result.out
    assert not repo.git.is_dirty(untracked_files=True)
    # short: the plan in one line, and the push command last, where it can't scroll away
    lines = result.out.splitlines()
    assert len(lines) < 15, result.out
    assert "test: Plan: 3 to create, 0 to update, 1 to replace, 0 to delete." in result.out
    assert "The whole plan: dwconf plan test (or promote with --show-plan)." in result.out
    assert lines[-3:] == [
        "Push it and open a pull request:",
        f"  git push -u origin {branch}",
        "  gh pr create --fill",
    ]


def test_promote_shows_the_whole_plan_when_asked(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    result = run("promote", "dev", "test", "--show-plan")
    assert result.exit_code == 0, result.err
    assert "dwconf plan for test" in result.out and "+ map.test-customers" in result.out
    assert result.out.splitlines()[-1] == "  gh pr create --fill"


def test_promote_changes_only_what_differs(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    repo.pin("test", "1.1.0.0")
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    result = run("promote", "dev", "test")
    assert result.exit_code == 0
    assert "test already pins what dev runs; nothing to promote" in result.out
    assert repo.git.active_branch.name == "main"


def test_promote_dry_run_writes_nothing(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    log = repo.log()
    result = run("promote", "dev", "test", "--dry-run")
    assert result.exit_code == 0
    assert "~ base: 1.0.0.0 -> 1.1.0.0" in result.out and "Dry run: nothing written" in result.out
    assert repo.log() == log and repo.git.active_branch.name == "main"
    assert [h.name for h in repo.git.heads] == ["main"]
    assert not repo.git.is_dirty(untracked_files=True)


def test_the_gate_refuses_a_version_dev_never_applied(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    never = run("promote", "dev", "test")
    assert never.exit_code == 4
    assert "dev has no successful apply" in never.err
    repo.pin("dev", "1.0.0.0")
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    repo.pin("dev", "1.1.0.0")
    result = run("promote", "dev", "test")
    assert result.exit_code == 4
    assert (
        "base 1.1.0.0: dev never applied it successfully; its last successful apply ran 1.0.0.0"
    ) in result.err
    assert "dwconf apply dev" in result.err and "--no-gate" in result.err
    assert repo.git.active_branch.name == "main"


def test_the_gate_refuses_a_version_whose_apply_failed(
    repo: Repo, run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    released_twice(repo, run)
    repo.pin("dev", "1.0.0.0")
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    repo.edit("solutions/base/solution.yaml", "publisher:", "description: next\npublisher:")
    repo.commit("a new version")
    assert run("release", "base", "--bump", "patch").exit_code == 0
    repo.pin("dev", "1.1.1.0")

    def refused(writer: Any, step: Any, plan: Any) -> None:
        raise ProviderError("the import failed in Dataverse")

    with monkeypatch.context() as patched:
        patched.setitem(operations.OPERATIONS, Operation.IMPORT_SOLUTION, refused)
        assert run("apply", "dev", "--auto-approve").exit_code == 1
    result = run("promote", "dev", "test")
    assert result.exit_code == 4
    assert "base 1.1.1.0: the apply of it to dev failed (record" in result.err
    assert "its last successful apply ran 1.0.0.0" in result.err
    forced = run("promote", "dev", "test", "--no-gate", "--dry-run")
    assert forced.exit_code == 0 and "Gate skipped (--no-gate)" in forced.out


def test_the_gate_refuses_a_tag_that_moved_since_dev_ran_it(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    repo.edit(
        "solutions/base/maps/customers.yaml",
        "NAME, dataverse: tst_name}",
        "NAME, dataverse: tst_name, direction: to_dataverse}",
    )
    repo.commit("same version, other content")
    repo.git.create_tag("base/v1.1.0.0", force=True)
    result = run("promote", "dev", "test")
    assert result.exit_code == 4
    assert "but the tag base/v1.1.0.0 now points to" in result.err


def test_promote_refuses_workspace_with_the_command_to_release(repo: Repo, run: Cli) -> None:
    result = run("promote", "dev", "test")
    assert result.exit_code == 4
    assert "dev runs base from the working tree (workspace)" in result.err
    assert "release it first: dwconf release base --bump patch" in result.err


def test_promote_refuses_an_earlier_or_skipped_stage(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    backwards = run("promote", "test", "dev")
    assert backwards.exit_code == 4
    assert "dev (stage dev) is not a stage after test (stage test)" in backwards.err
    skipped = run("promote", "dev", "prod")
    assert skipped.exit_code == 4 and "prod promotes from stage test, not dev" in skipped.err


def test_promote_refuses_a_dirty_tree(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    repo.edit("environments/prod.yaml", "code: 3", "code: 4")
    result = run("promote", "dev", "test", "--no-gate")
    assert result.exit_code == 1
    assert "uncommitted changes: environments/prod.yaml" in result.err


def test_promote_keeps_nothing_when_the_target_does_not_validate(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    repo.edit("environments/test.yaml", "vars:", "maps:\n  state: {Nope: stopped}\nvars:")
    repo.commit("test names a map nobody ships")
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    before = repo.read("environments/test.yaml")
    result = run("promote", "dev", "test")
    assert result.exit_code == 1 and "DW2805" in result.err
    assert repo.read("environments/test.yaml") == before
    assert [h.name for h in repo.git.heads] == ["main"]


def break_map(repo: Repo) -> None:
    repo.edit("solutions/base/maps/customers.yaml", "version: 1.0.0.0", "version: [1.0.0.0")
    repo.commit("a map file that does not parse")


def name_a_map_nobody_ships(repo: Repo) -> None:
    repo.edit("environments/test.yaml", "vars:", "maps:\n  state: {Nope: stopped}\nvars:")
    repo.commit("test names a map nobody ships")


@pytest.mark.parametrize(
    ("breaks", "error"),
    [
        (break_map, "solutions/base/maps/customers.yaml:3:14: error DW1003"),
        (name_a_map_nobody_ships, "environments/test.yaml:12:11: error DW2805"),
    ],
)
def test_a_dry_run_refuses_what_promote_refuses(
    repo: Repo, run: Cli, breaks: Callable[[Repo], None], error: str
) -> None:
    """The same errors at the same positions, the same exit code, and nothing written."""
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    breaks(repo)
    log = repo.log()
    dry = run("promote", "dev", "test", "--dry-run")
    assert dry.exit_code == 1, dry.out
    assert error in dry.err and "Dry run" not in dry.out
    assert repo.log() == log and [h.name for h in repo.git.heads] == ["main"]
    assert not repo.git.is_dirty(untracked_files=True)
    real = run("promote", "dev", "test")
    assert (real.exit_code, real.err) == (dry.exit_code, dry.err)


def test_a_dry_run_refuses_a_branch_that_exists(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    repo.git.create_head("release/42")
    dry = run("promote", "dev", "test", "--branch", "release/42", "--dry-run")
    real = run("promote", "dev", "test", "--branch", "release/42")
    assert dry.exit_code == 1 and "branch release/42 already exists" in dry.err
    assert (real.exit_code, real.err) == (dry.exit_code, dry.err)


def test_a_dry_run_shows_the_plan_of_the_target(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    dry = run("promote", "dev", "test", "--dry-run")
    assert dry.exit_code == 0, dry.err
    assert "test: Plan: 3 to create, 0 to update, 1 to replace, 0 to delete." in dry.out
    assert dry.out.splitlines()[-1] == "Dry run: nothing written."
    assert repo.read("environments/test.yaml") == TEST.replace(
        "base: workspace", "base: 1.0.0.0", 1
    )


def break_the_tag(repo: Repo, tag: str) -> None:
    """Move `tag` to a commit whose solution.yaml does not parse; the working tree stays good."""
    good = repo.read("solutions/base/solution.yaml")
    repo.edit("solutions/base/solution.yaml", "unique_name: tst_Base", "unique_name: [tst_Base")
    repo.commit("a solution.yaml that does not parse")
    repo.git.create_tag(tag, force=True)
    repo.write("solutions/base/solution.yaml", good)
    repo.commit("the solution.yaml parses again")


@pytest.mark.parametrize("args", [(), ("--dry-run",), ("--no-gate",)])
def test_promote_refuses_a_release_whose_files_do_not_load_at_its_tag(
    repo: Repo, run: Cli, args: tuple[str, ...]
) -> None:
    """Never passed by the gate, even when the target pins it already (nothing to change)."""
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    repo.pin("test", "1.1.0.0")
    break_the_tag(repo, "base/v1.1.0.0")
    result = run("promote", "dev", "test", *args)
    assert result.exit_code == 1, result.out
    assert "base 1.1.0.0: its files at the tag base/v1.1.0.0 do not load" in result.err
    assert "solutions/base/solution.yaml@base/v1.1.0.0:3:8: error DW1003" in result.err
    assert "Gate:" not in result.out and "nothing to promote" not in result.out
    assert [h.name for h in repo.git.heads] == ["main"]


def test_the_gate_never_passes_a_solution_that_did_not_load(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    loader = Loader.at(repo.root)
    dev = loader.environment("dev")
    spec = loader.project(dev).solutions["base"]
    assert gate.check(repo.root, dev, {"base": spec}).environment == "dev"
    unloaded = dataclasses.replace(spec, model=None)
    with pytest.raises(RefusedError) as refused:
        gate.check(repo.root, dev, {"base": unloaded})
    assert "base: its solution.yaml at the tag base/v1.1.0.0 does not load" in str(refused.value)


def test_promote_refuses_a_settings_file_that_does_not_load(repo: Repo, run: Cli) -> None:
    """Its stages are not silently the default ones: the file's error, exit 1."""
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    repo.write("dwconf.yaml", "project: t\nstages: [dev, uat, prod\n")
    repo.edit("environments/test.yaml", "stage: test", "stage: uat")
    repo.commit("stages with uat, and a missing bracket")
    for args in ((), ("--dry-run",)):
        result = run("promote", "dev", "test", *args)
        assert result.exit_code == 1, (args, result.out, result.err)
        assert "dwconf.yaml:" in result.err and "is not a stage after" not in result.err


def test_promote_one_solution_and_name_the_branch(repo: Repo, run: Cli) -> None:
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    unknown = run("promote", "dev", "test", "--solution", "other")
    assert unknown.exit_code == 1 and "dev does not pin other" in unknown.err
    result = run("promote", "dev", "test", "--solution", "base", "--branch", "release/42")
    assert result.exit_code == 0, result.err
    assert repo.git.active_branch.name == "release/42"
    again = run("promote", "dev", "test", "--branch", "release/42")
    assert again.exit_code == 0 and "nothing to promote" in again.out


# -- diff ------------------------------------------------------------------------------------

BIG_MAP = """\
name: Test customers
version: 1.0.0.0
finops_entity: Test customers
dataverse_table: tst_customers
integration_key: [tst_account]
filters:
  finops: '(KIND == "organization")'
fields:
  - {finops: ACCOUNT, dataverse: tst_account}
  - {finops: NAME, dataverse: tst_name}
  - {finops: STATUS, dataverse: tst_flag, value_map: {no: false, yes: true}}
  - {dataverse: tst_kind, direction: to_dataverse, default: "{{ vars.code }}"}
"""
CURRENCIES = """\
name: Test currencies
version: 1.0.0.0
finops_entity: Test currencies
dataverse_table: tst_currencies
fields:
  - {finops: CODE, dataverse: tst_code}
  - {finops: NAME, dataverse: tst_name}
"""


def diff_repo(root: Path) -> tuple[Repo, str, str]:
    """Two commits: the second narrows a direction, adds a field, changes a filter, drops a map
    and bumps versions (dev runs it), and changes prod's link and alerts."""
    files = {
        **FILES,
        "solutions/base/maps/customers.yaml": BIG_MAP,
        "solutions/base/maps/currencies.yaml": CURRENCIES,
        "environments/test.yaml": TEST.replace("base: workspace", "base: 1.0.0.0"),
        "environments/prod.yaml": PROD.replace("base: workspace", "base: 1.0.0.0"),
    }
    repo = Repo(root, files)
    repo.git.create_tag("base/v1.0.0.0")
    base = repo.git.head.commit.hexsha
    customers = "solutions/base/maps/customers.yaml"
    repo.edit(customers, "version: 1.0.0.0", "version: 1.0.0.1")
    repo.edit(
        customers,
        "NAME, dataverse: tst_name}",
        "NAME, dataverse: tst_name, direction: to_dataverse}",
    )
    repo.edit(
        customers,
        "  - {dataverse: tst_kind",
        "  - {finops: CREDIT, dataverse: tst_credit}\n  - {dataverse: tst_kind",
    )
    repo.edit(customers, '== "organization"', '== "person"')
    repo.edit(customers, "{no: false, yes: true}", "{no: true, yes: false}")
    (root / "solutions/base/maps/currencies.yaml").unlink()
    repo.edit("solutions/base/solution.yaml", "version: 1.0.0.0", "version: 1.1.0.0")
    repo.edit("environments/dev.yaml", "code: 3", "code: 2")
    repo.edit("environments/prod.yaml", "legal_entities: [USMF]", "legal_entities: [USMF, DEMF]")
    repo.write(
        "environments/prod.yaml",
        repo.read("environments/prod.yaml")
        + "alerts:\n  - {name: app-errors, error_type: application, threshold: 10,"
        " window_minutes: 15, action: pause, notify: [ops@example.com]}\n",
    )
    head = repo.commit("Change customers")
    return repo, base, head


def _golden(request: pytest.FixtureRequest, name: str, actual: str) -> None:
    path = GOLDEN / name
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run pytest --update-golden"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs (pytest --update-golden)"


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_diff_between_two_commits_matches_golden(
    tmp_path: Path, dwconf: Cli, request: pytest.FixtureRequest, fmt: str, suffix: str
) -> None:
    repo, base, head = diff_repo(tmp_path / "repo")
    result = dwconf("-C", str(repo.root), "diff", base, head, "--format", fmt)
    assert result.exit_code == 0, result.err
    shown = result.out.replace(base, "<BASE>").replace(head, "<HEAD>")
    shown = shown.replace(base[:7], "<BASE>").replace(head[:7], "<HEAD>")
    _golden(request, f"two-commits.{suffix}", shown)


def test_diff_json_is_the_plan_diff_per_environment(tmp_path: Path, dwconf: Cli) -> None:
    repo, base, head = diff_repo(tmp_path / "repo")
    out = json.loads(dwconf("-C", str(repo.root), "diff", base, head, "--format", "json").out)
    assert out["affected"] == ["dev", "prod"] and out["category"] == "destructive"
    envs = {e["environment"]: e for e in out["environments"]}
    assert envs["test"]["status"] == "unchanged", "test pins the tag: nothing moves for it"
    dev = {c["address"]: c for c in envs["dev"]["changes"]}
    assert dev["map.test-currencies"]["actions"] == ["delete"]
    paths = {d["path"] for d in dev["map.test-customers"]["details"]}
    assert {
        "fields[NAME : tst_name].direction",
        "fields[CREDIT : tst_credit]",
        "filters.finops",
        "version",
        "fields[none : tst_kind].default",
    } <= paths
    only_prod = dwconf(
        "-C", str(repo.root), "diff", base, head, "--env", "prod", "--format", "json"
    )
    assert [e["environment"] for e in json.loads(only_prod.out)["environments"]] == ["prod"]


def test_diff_defaults_to_the_merge_base_and_the_working_tree(repo: Repo, run: Cli) -> None:
    repo.git.git.checkout("-b", "feature")
    add_field(repo)
    repo.commit("Map NAME")
    repo.edit("environments/dev.yaml", "code: 3", "code: 1")  # not committed
    result = run("diff", "--detailed-exitcode")
    assert result.exit_code == 2
    assert result.out.startswith("dwconf diff: merge-base of HEAD and main (")
    assert "-> working tree" in result.out
    assert "+ fields[NAME : tst_name]" in result.out and "default: 3 -> 1" in result.out
    assert run("diff", "HEAD", "HEAD", "--detailed-exitcode").exit_code == 0


def test_diff_of_an_environment_removed_from_the_working_tree(repo: Repo, run: Cli) -> None:
    (repo.root / "environments/prod.yaml").unlink()
    out = json.loads(run("diff", "HEAD", "--format", "json").out)
    (prod,) = [e for e in out["environments"] if e["environment"] == "prod"]
    assert prod["status"] == "removed" and prod["category"] == "destructive"
    assert {c["actions"][0] for c in prod["changes"]} == {"delete"}


def test_diff_redacts_secrets(repo: Repo, run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", "Customers-Top-Secret")
    repo.edit(
        "solutions/base/maps/customers.yaml",
        "name: Test customers",
        "name: Test customers\ndescription: Customers-Top-Secret",
    )
    result = run("diff", "HEAD", "--format", "markdown")
    assert result.exit_code == 0 and "***" in result.out
    assert "Customers-Top-Secret" not in result.out


def test_diff_refuses_unknown_revisions_and_environments(repo: Repo, run: Cli) -> None:
    assert "unknown git revision: nope" in run("diff", "nope").err
    assert "unknown environment 'qa'" in run("diff", "HEAD", "--env", "qa").err


# -- the pre-commit hook ---------------------------------------------------------------------


def test_pre_commit_hooks_run_dwconf_validate_on_configuration_files() -> None:
    hooks = load_plain((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == ["dwconf-validate", "dwconf-validate-strict"]
    for hook in hooks:
        assert hook["entry"].startswith("dwconf validate") and hook["language"] == "python"
        assert hook["pass_filenames"] is False
        files = re.compile(hook["files"])
        for path in ("dwconf.yaml", "environments/dev.yaml", "solutions/x/maps/a.yml"):
            assert files.search(path), path
        for path in ("README.md", "docs/gitops.md", "tests/x.yaml"):
            assert not files.search(path), path


def test_a_map_file_that_does_not_parse_stops_plan_and_promote_with_its_error(
    repo: Repo, run: Cli
) -> None:
    """Neither plans the map's removal: both name the file's error and exit 1."""
    released_twice(repo, run)
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    repo.edit("solutions/base/maps/customers.yaml", "version: 1.0.0.0", "version: [1.0.0.0")
    repo.commit("a map file that does not parse")
    for args in (("plan", "dev"), ("plan", "test"), ("promote", "dev", "test")):
        result = run(*args)
        assert result.exit_code == 1, (args, result.out, result.err)
        assert "solutions/base/maps/customers.yaml:3:14: error DW1003" in result.err, args
        assert "map.test-customers" not in result.out, args
    assert [h.name for h in repo.git.heads] == ["main"]
