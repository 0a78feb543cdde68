"""Redaction: secrets from secret-named variables, tokens, and `key=value` secrets in text."""

from __future__ import annotations

import pytest

from dwconf.redact import MASK, redact, secret_values

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_values_of_secret_named_variables_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", "s3cr3t-value-42")
    monkeypatch.setenv("DWCONF_PROJECT_DIR", "not-a-secret-path")
    assert "s3cr3t-value-42" in secret_values()
    assert "not-a-secret-path" not in secret_values()
    assert redact("got s3cr3t-value-42 back") == f"got {MASK} back"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {JWT}", f"Authorization: {MASK}"),
        (f"token {JWT} end", f"token {MASK} end"),
        ("failed: secret=abc123xyz; retry", f"failed: secret={MASK}; retry"),
        ("password: hunter2", f"password: {MASK}"),
        ("client_secret=q~8Q&scope=x", f"client_secret={MASK}&scope=x"),
        ("nothing here=42", "nothing here=42"),
    ],
)
def test_shapes_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected
