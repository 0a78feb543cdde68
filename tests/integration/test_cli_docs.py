"""`dwconf docs` through the entry point (the browser test is tests/browser/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.golden.scenarios import CURRENCIES, CUSTOMERS, SCHEMA
from tests.support import Result


def test_the_index_counts_maps_and_solutions_in_words(
    dwconf: Callable[..., Result], make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    one = make_repo(
        {"solutions/base/schema/test.yaml": SCHEMA, "solutions/base/maps/c.yaml": CURRENCIES}
    )
    built = dwconf("-C", str(one), "docs", "--offline", "--out", str(tmp_path / "one"))
    assert built.exit_code == 0, built.err
    assert "<p>1 map in 1 solution, as environment" in (tmp_path / "one/index.html").read_text()
    two = make_repo({"solutions/base/maps/customers.yaml": CUSTOMERS})
    built = dwconf("-C", str(two), "docs", "--offline", "--out", str(tmp_path / "two"))
    assert built.exit_code == 0, built.err
    assert "<p>2 maps in 1 solution, as environment" in (tmp_path / "two/index.html").read_text()
