"""Legal-entity limits: over 250 is an error, over 40 with initial sync a warning; codes are\nF&O company IDs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.validate.engine import validate


def env_file(count: int, initial_sync: str = "run", extra: str = "") -> str:
    codes = ", ".join(f"L{i:03}" for i in range(count))
    return (
        f"name: dev\nstage: dev\nmaps: {{initial_sync: {initial_sync}}}\n"
        f"link: {{legal_entities: [{codes}{extra}]}}\n"
    )


@pytest.mark.parametrize(
    ("count", "initial_sync", "expected"),
    [
        (250, "skip", []),
        (251, "skip", ["DW2803"]),
        (251, "run", ["DW2803"]),
        (40, "run", []),
        (41, "run", ["DW2804"]),
        (41, "skip", []),
    ],
)
def test_limits(
    count: int, initial_sync: str, expected: list[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo({"environments/dev.yaml": env_file(count, initial_sync)})
    found = [d.code for d in validate(repo).diagnostics]
    assert found == expected
    if found:
        assert validate(repo).diagnostics[0].span.line == 4


def test_duplicates_are_errors_case_insensitively(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"environments/dev.yaml": env_file(2, extra=", l001")})
    assert [(d.code, d.span.column) for d in validate(repo).diagnostics] == [("DW2812", 37)]


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("us mf", "did you mean 'USMF'?"),
        ("US-MF", "did you mean 'USMF'?"),
        ("CONTOSO", "use the company ID that F&O shows under Legal entities, e.g. USMF"),
    ],
)
def test_a_code_that_is_not_a_company_id_is_an_error_with_a_fix(
    code: str, hint: str, make_repo: Callable[..., Path]
) -> None:
    repo = make_repo(
        {
            "environments/dev.yaml": f'name: dev\nstage: dev\nlink: {{legal_entities: [USMF, "{code}"]}}\n'
        }
    )
    (found,) = validate(repo).diagnostics
    assert (found.code, str(found.span)) == ("DW2819", "environments/dev.yaml:3:31")
    assert f"'{code}' is not an F&O company ID (DataAreaId)" in found.message
    assert found.hint == hint
