"""The pipelines `dwconf init` writes are this repository's own (package data copies).

`pytest --update-golden` copies the repository's pipelines into dwconf/scaffold/files/ after a
pipeline changed; review the copy like any golden file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from dwconf import __version__
from dwconf.scaffold import project

ROOT = Path(__file__).resolve().parents[3]
SOURCES = {"github": ROOT / ".github/workflows", "azure-devops": ROOT / "azure-pipelines"}


@pytest.mark.parametrize("ci", sorted(SOURCES))
def test_packaged_pipelines_are_the_repositorys_own(
    ci: str, request: pytest.FixtureRequest
) -> None:
    packaged = ROOT / "dwconf/scaffold/files" / ci
    if request.config.getoption("--update-golden"):
        for old in packaged.glob("*.yml"):
            old.unlink()
        for source in SOURCES[ci].glob("*.yml"):
            (packaged / source.name).write_text(source.read_text())
    ours = {p.name: p.read_text() for p in SOURCES[ci].glob("*.yml")}
    copies = {p.name: p.read_text() for p in packaged.glob("*.yml")}
    assert copies == ours, f"{packaged} differs from {SOURCES[ci]}: pytest --update-golden"


@pytest.mark.parametrize("ci", sorted(SOURCES))
def test_init_installs_the_released_package_in_every_pipeline(ci: str) -> None:
    written = project.pipelines(ci)
    assert written
    for path, text in written.items():
        assert f'"dwconf=={__version__}"' in text, path
        assert 'DWCONF_PACKAGE: "."' not in text
        yaml.safe_load(text)  # still YAML after the change


def test_every_template_name_finds_its_template() -> None:
    from dwconf.scaffold import templates

    every = templates.templates()
    assert len(every) > 100
    for name, template in every.items():
        assert templates.find(name.upper()) is template


def test_the_readme_init_writes_names_docs_that_exist_and_the_declared_home_page(
    tmp_path: Path,
) -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        declared = tomllib.load(f)["project"]["urls"]["Homepage"]
    assert project.home_page() == declared, "the installed metadata is stale: make setup"
    readme = project.project_files(project.InitOptions(target=tmp_path), "demo")["README.md"]
    assert f"\nHome page: {declared}\n" in readme
    assert f"[dwconf]({declared})" in readme
    named = set(re.findall(r"docs/[\w-]+\.md", readme))
    assert {"docs/gitops.md", "docs/azure-devops.md"} <= named
    assert all((ROOT / doc).is_file() for doc in named), named
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
    assert "graft docs" in manifest.splitlines(), "the sdist carries docs/"
