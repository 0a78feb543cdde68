"""The pipelines `dwconf init` writes are this repository's own (package data copies).

`pytest --update-golden` copies the repository's pipelines into dwconf/scaffold/files/ after a
pipeline changed; review the copy like any golden file.
"""

from __future__ import annotations

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
