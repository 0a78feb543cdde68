"""A small configuration repository and the changes the golden plans show, shared by the golden,
property, apply and CLI tests.

The repository is a real git repository committed with fixed names and dates, so the commit in
a plan is the same on every machine; `.dwconf/` (the local environment) is git-ignored so
applying never makes the tree dirty.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

SCHEMA = (Path(__file__).parents[1] / "unit/validate/cases/_schema.yaml").read_text()

CURRENCIES = """\
name: Test currencies
version: 1.0.0.0
finops_entity: Test currencies
dataverse_table: tst_currencies
integration_key: [tst_code]
fields:
  - {finops: CODE, dataverse: tst_code, direction: both}
  - {finops: NAME, dataverse: tst_name, direction: both}
"""

CUSTOMERS = """\
name: Test customers
version: 1.0.0.0
finops_entity: Test customers
dataverse_table: tst_customers
description: Customers of the test company
depends_on: [Test currencies]
integration_key: [tst_account]
filters:
  finops: '((STATUS == "yes"))'
initial_sync: {master: finops}
fields:
  - {finops: ACCOUNT, dataverse: tst_account, direction: both}
  - {finops: NAME, dataverse: tst_name, direction: both}
  - {finops: CREDIT, dataverse: tst_credit, direction: to_dataverse}
  - finops: KIND
    dataverse: tst_kind
    direction: both
    value_map: {person: 1, organization: 2, none: 3}
"""

ENVIRONMENT = """\
name: dev
stage: dev
link:
  legal_entities: [USMF, DEMF]
solutions:
  base: workspace
maps:
  default_state: running
  initial_sync: run
alerts:
  - {name: app-errors, error_type: application, threshold: 10, window_minutes: 15, action: pause}
"""

SOLUTION = """\
unique_name: tst_Base
display_name: Test base maps
version: 1.0.0.0
publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}
"""

FILES = {
    ".gitignore": ".dwconf/\n",
    "dwconf.yaml": "project: test\nstages: [dev, test, prod]\n",
    "environments/dev.yaml": ENVIRONMENT,
    "solutions/base/solution.yaml": SOLUTION,
    "solutions/base/schema/test.yaml": SCHEMA,
    "solutions/base/maps/currencies.yaml": CURRENCIES,
    "solutions/base/maps/customers.yaml": CUSTOMERS,
}
CUSTOMERS_FILE = "solutions/base/maps/customers.yaml"
ENV_FILE = "environments/dev.yaml"

Edit = Callable[[Path], None]


def write(root: Path, files: dict[str, str | None]) -> Path:
    for name, content in files.items():
        path = root / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def replace_in(name: str, old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return edit


def remove(name: str) -> Edit:
    return lambda root: (root / name).unlink()


_GIT_ENV = {
    "GIT_AUTHOR_NAME": "dwconf tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "dwconf tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
    "GIT_AUTHOR_DATE": "2025-03-01T09:00:00+00:00",
    "GIT_COMMITTER_DATE": "2025-03-01T09:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(root: Path, *args: str) -> None:
    env = {**os.environ, **_GIT_ENV}
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )


def commit(root: Path, message: str) -> None:
    """Commit everything with a fixed author and date: the same tree gives the same commit."""
    if not (root / ".git").exists():
        git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


# The golden scenarios: name -> (apply the base first?, the edit made afterwards).
SCENARIOS: dict[str, tuple[bool, list[Edit]]] = {
    "fresh-environment": (False, []),
    "nothing-changed": (True, []),
    "field-added": (
        True,
        [
            replace_in(
                CUSTOMERS_FILE,
                "  - {finops: CREDIT,",
                "  - {finops: OPENED, dataverse: tst_opened, direction: both}\n"
                "  - {finops: CREDIT,",
            )
        ],
    ),
    "direction-narrowed": (
        True,
        [
            replace_in(
                CUSTOMERS_FILE,
                "{finops: NAME, dataverse: tst_name, direction: both}",
                "{finops: NAME, dataverse: tst_name, direction: to_dataverse}",
            )
        ],
    ),
    "value-map-entry-changed": (
        True,
        [replace_in(CUSTOMERS_FILE, "organization: 2, none: 3", "organization: 3, none: 2")],
    ),
    "filter-changed": (
        True,
        [replace_in(CUSTOMERS_FILE, '((STATUS == "yes"))', '((STATUS == "no"))')],
    ),
    "map-removed": (
        True,
        [remove(CUSTOMERS_FILE)],
    ),
    "map-version-bump": (
        True,
        [replace_in(CUSTOMERS_FILE, "version: 1.0.0.0", "version: 1.0.0.1")],
    ),
    "legal-entities-changed": (
        True,
        [replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, FRRT]")],
    ),
    "solution-version-bump": (
        True,
        [replace_in("solutions/base/solution.yaml", "version: 1.0.0.0", "version: 1.1.0.0")],
    ),
}
