"""`dwconf init` and `dwconf add map` through the entry point, in real temporary git repositories."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dwconf import __version__
from dwconf.catalog import data_files
from tests.support import Result

Run = Callable[..., Result]


def git_init(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def test_init_then_validate_apply_and_plan_shows_nothing_left(
    dwconf: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = dwconf("init", "my-config")
    assert made.exit_code == 0, made.err
    git_init(tmp_path / "my-config")
    monkeypatch.chdir(tmp_path / "my-config")
    assert dwconf("validate").exit_code == 0
    applied = dwconf("apply", "dev", "--auto-approve")
    assert applied.exit_code == 0, applied.out + applied.err
    assert "0 failed" in applied.out
    after = dwconf("plan", "dev", "--detailed-exitcode")
    assert after.exit_code == 0, after.out
    assert "No changes" in after.out


def test_init_says_git_init_next_only_outside_a_git_repository(dwconf: Run, tmp_path: Path) -> None:
    outside = dwconf("init", str(tmp_path / "plain"))
    assert f"Next: cd {tmp_path / 'plain'} && git init && dwconf validate" in outside.out
    git_init(tmp_path / "clone")
    inside = dwconf("init", str(tmp_path / "clone"))
    assert inside.exit_code == 0, inside.err
    assert f"Next: cd {tmp_path / 'clone'} && dwconf validate && dwconf apply" in inside.out


def test_init_writes_where_dash_c_points_like_every_command(
    dwconf: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    made = dwconf("-C", str(tmp_path / "new"), "init")
    assert made.exit_code == 0, made.err
    assert (tmp_path / "new/dwconf.yaml").exists()
    assert f"Next: cd {tmp_path / 'new'} && git init" in made.out
    nested = dwconf("-C", str(tmp_path / "new"), "init", "sub")
    assert nested.exit_code == 0, nested.err
    assert (tmp_path / "new/sub/dwconf.yaml").exists()
    assert list(here.iterdir()) == [], "nothing is written outside -C"


def test_init_writes_the_default_maps_environments_and_github_pipelines(
    dwconf: Run, tmp_path: Path
) -> None:
    target = tmp_path / "repo"
    assert dwconf("init", str(target)).exit_code == 0
    maps = sorted(p.name for p in (target / "solutions/core-maps/maps").iterdir())
    assert maps == ["currencies-transactioncurrencies.yaml", "legal-entities-cdm-companies.yaml"]
    for env in ("dev", "test", "prod"):
        text = (target / f"environments/{env}.yaml").read_text()
        assert "type: local" in text
        assert "# type: dynamics" in text  # the dynamics block is there, commented
    prod = yaml.safe_load((target / "environments/prod.yaml").read_text())
    assert prod["protect"]["prevent_destroy"] is True
    assert prod["promote_from"] == "test"
    workflows = sorted(p.name for p in (target / ".github/workflows").iterdir())
    assert workflows == ["deploy.yml", "drift.yml", "pull-request.yml"]
    for name in workflows:
        text = (target / ".github/workflows" / name).read_text()
        assert f'DWCONF_PACKAGE: "dwconf=={__version__}"' in text
    assert (target / "schemas/map.schema.json").exists()
    hooks = yaml.safe_load((target / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"][0]["entry"] == "dwconf validate"


def test_init_for_azure_devops_writes_its_pipelines(dwconf: Run, tmp_path: Path) -> None:
    target = tmp_path / "repo"
    assert dwconf("init", str(target), "--ci", "azure-devops").exit_code == 0
    assert not (target / ".github").exists()
    names = sorted(p.name for p in (target / "azure-pipelines").iterdir())
    assert "pull-request.yml" in names and "deploy.yml" in names and "drift.yml" in names
    text = (target / "azure-pipelines/pull-request.yml").read_text()
    assert f'"dwconf=={__version__}"' in text


def test_init_with_chosen_templates_wires_lookups_into_depends_on(
    dwconf: Run, tmp_path: Path
) -> None:
    target = tmp_path / "repo"
    made = dwconf(
        "init",
        str(target),
        "--template",
        "Customers V3 (accounts)",
        "--template",
        "customer groups",
        "--template",
        "Currencies",
    )
    assert made.exit_code == 0, made.err
    customers = yaml.safe_load(
        (target / "solutions/core-maps/maps/customers-v3-accounts.yaml").read_text()
    )
    assert customers["depends_on"] == [
        "Currencies (transactioncurrencies)",
        "Customer groups (msdyn_customergroups)",
    ]
    assert customers["integration_key"] == ["accountnumber"]
    git_init(target)
    assert dwconf("-C", str(target), "validate").exit_code == 0


def test_init_refuses_a_folder_that_is_not_empty(dwconf: Run, tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    refused = dwconf("init", str(target))
    assert refused.exit_code == 1
    assert "not empty (notes.txt)" in refused.err
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


def test_init_refuses_a_legal_entity_that_is_not_a_company_id(dwconf: Run, tmp_path: Path) -> None:
    target = tmp_path / "repo"
    refused = dwconf("init", str(target), "--legal-entity", "USMF", "--legal-entity", "us mf")
    assert refused.exit_code == 1
    assert "legal entity 'us mf' is not an F&O company ID" in refused.err
    assert "did you mean 'USMF'?" in refused.err
    assert not target.exists(), "nothing is written"
    made = dwconf("init", str(target), "--legal-entity", "demf", "--legal-entity", "DAT")
    assert made.exit_code == 0, made.err
    linked = yaml.safe_load((target / "environments/dev.yaml").read_text())["link"]
    assert linked["legal_entities"] == ["demf", "DAT"]


def test_init_force_adds_missing_files_and_overwrites_nothing(dwconf: Run, tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / "README.md").write_text("my own readme\n")
    made = dwconf("init", str(target), "--force")
    assert made.exit_code == 0
    assert (target / "README.md").read_text() == "my own readme\n"
    assert "kept" in made.out and "README.md" in made.out
    assert (target / "dwconf.yaml").exists()


def test_init_with_an_unknown_template_says_what_it_meant(dwconf: Run, tmp_path: Path) -> None:
    result = dwconf("init", str(tmp_path / "repo"), "--template", "Curencies")
    assert result.exit_code == 1
    assert "did you mean 'Currencies (transactioncurrencies)'" in result.err
    assert not (tmp_path / "repo").exists()


@pytest.fixture
def initialised(dwconf: Run, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    assert dwconf("init", str(target), "--ci", "none").exit_code == 0
    git_init(target)
    return target


def test_add_map_copies_a_template_that_validates(dwconf: Run, initialised: Path) -> None:
    added = dwconf(
        "-C",
        str(initialised),
        "add",
        "map",
        "--template",
        "Vendor groups",
        "--solution",
        "core-maps",
    )
    assert added.exit_code == 0, added.err
    path = initialised / "solutions/core-maps/maps/vendor-groups-msdyn-vendorgroups.yaml"
    assert path.read_text().startswith("# yaml-language-server: $schema=")
    data = yaml.safe_load(path.read_text())
    assert data["name"] == "Vendor groups (msdyn_vendorgroups)"
    assert data["fields"], "every row of the template is copied"
    checked = dwconf("-C", str(initialised), "validate")
    assert checked.exit_code == 0, checked.out
    plan = dwconf("-C", str(initialised), "plan", "dev")
    assert "map.vendor-groups-msdyn-vendorgroups" in plan.out


def test_add_map_refuses_ambiguous_unknown_and_existing_names(
    dwconf: Run, initialised: Path
) -> None:
    def add(name: str, solution: str = "core-maps") -> Result:
        return dwconf(
            "-C", str(initialised), "add", "map", "--template", name, "--solution", solution
        )

    ambiguous = add("Customers V3")
    assert ambiguous.exit_code == 1
    assert "'Customers V3 (accounts)', 'Customers V3 (contacts)'" in ambiguous.err
    unknown = add("Custmers V3 (acounts)")
    assert unknown.exit_code == 1 and "did you mean 'Customers V3 (accounts)'" in unknown.err
    existing = add("Currencies")
    assert existing.exit_code == 1 and "exists already" in existing.err
    assert "edit solutions/core-maps/maps/currencies-transactioncurrencies.yaml" in existing.err
    no_solution = add("Vendor groups", solution="nope")
    assert no_solution.exit_code == 1 and "known solutions: core-maps" in no_solution.err


def test_add_map_list_names_every_template(dwconf: Run) -> None:
    listed = dwconf("add", "map", "--list")
    assert listed.exit_code == 0
    names = listed.out.splitlines()
    assert "Customers V3 (accounts)" in names
    assert names == sorted(names) and len(names) == len(set(names)) > 100
    in_catalog = {
        doc["template"]["name"]
        for _, text in data_files()
        if (doc := yaml.load(text, Loader=yaml.CSafeLoader)) and doc.get("template")
    }
    assert set(names) == in_catalog


@pytest.mark.parametrize(
    ("ci", "folder"), [("github", ".github/workflows"), ("azure-devops", "azure-pipelines")]
)
def test_init_pipelines_speak_of_the_new_repository_not_of_dwconfs_own(
    ci: str, folder: str, dwconf: Run, tmp_path: Path
) -> None:
    """The pull-request workflow kept a comment for dwconf's own repository ("This repository
    is dwconf itself") above the line init rewrites."""
    target = tmp_path / "repo"
    assert dwconf("init", str(target), "--ci", ci).exit_code == 0
    for pipeline in sorted((target / folder).iterdir()):
        text = pipeline.read_text(encoding="utf-8").lower()
        assert "dwconf itself" not in text, pipeline.name
