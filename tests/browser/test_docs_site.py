"""`dwconf docs` in a real headless Chromium (Debian's chromium package).

The site of the example configuration loads from file:// with no console message at all (a
script error, a missing file or a refused resource would each log one), the dependency graph
is drawn, and the search box finds a field, reached through the page's own #q= link. A
screenshot is kept in test-artifacts/ (git-ignored).

Without a browser: in CI (CI=true) the test fails, since .ci/run installs chromium; on a
workstation it is skipped with the reason printed (`pytest -ra` lists it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Result

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    reason = "no headless Chromium on PATH (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: .ci/run installs it, so CI must have it")
    pytest.skip(f"SKIPPED LOUDLY: {reason}; the docs site was not checked in a browser")


def chromium(program: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [program, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr"]
    return subprocess.run(
        [*command, "--v=0", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def site(tmp_path: Path, dwconf: Callable[..., Result]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for part in ("dwconf.yaml", "environments", "solutions"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, repo / part)
        else:
            shutil.copy(source, repo / part)
    assert dwconf("-C", str(repo), "apply", "dev", "--auto-approve").exit_code == 0
    built = dwconf("-C", str(repo), "docs", "--out", str(tmp_path / "site"))
    assert built.exit_code == 0, built.err
    return tmp_path / "site"


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_the_site_loads_draws_the_graph_and_finds_a_field(site: Path) -> None:
    program = browser()
    url = (site / "index.html").as_uri() + "#q=CUSTOMERACCOUNT%20accountnumber"
    shown = chromium(program, "--dump-dom", url)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert console_lines(shown.stderr) == []
    dom = shown.stdout
    assert re.search(r'<div id="graph-picture" class="graph">\s*<svg', dom), "graph drawn"
    assert dom.count('class="node"') >= 30, "every map is a node of the drawn graph"
    results = dom[dom.index('<ol id="results"') : dom.index("</ol>")]
    assert "hidden" not in results.split(">")[0], "the search results are shown"
    assert 'href="maps/customers-v3-accounts.html#f0"' in results
    assert "CUSTOMERACCOUNT ⇄ accountnumber" in results
    assert "No drift since that deployment." in dom, "dev was read live"


def test_a_map_page_loads_without_console_messages_and_keeps_a_screenshot(site: Path) -> None:
    program = browser()
    page = (site / "maps" / "customers-v3-accounts.html").as_uri()
    shown = chromium(program, "--dump-dom", page)
    assert console_lines(shown.stderr) == []
    assert "ONHOLDSTATUS" in shown.stdout and "806380000" in shown.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    picture = ARTIFACTS / "docs-site.png"
    picture.unlink(missing_ok=True)
    url = (site / "index.html").as_uri() + "#q=customer%20group"
    taken = chromium(program, f"--screenshot={picture}", "--window-size=1280,1600", url)
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert picture.stat().st_size > 20_000, "a page, not a blank picture"
