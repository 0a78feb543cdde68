"""Redaction: secrets from secret-named variables, tokens, and `key=value` secrets in text."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse

import pytest

from dwconf.redact import MASK, looks_generated, redact, redact_json_text, secret_values

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


SECRET = "q~8Q.abc/def+ghi_JKL-12 é"


def encodings(secret: str) -> dict[str, str]:
    """The secret as services and libraries write it back."""
    raw = secret.encode("utf-8")
    return {
        "as is": secret,
        "JSON": json.dumps({"error": secret}),
        "JSON, ASCII only": json.dumps({"error": secret}, ensure_ascii=True),
        "JSON with \\/": json.dumps({"error": secret}).replace("/", "\\/"),
        "JSON as .NET escapes it": secret.replace("+", "\\u002B").replace("/", "\\/"),
        "JSON, every character": "".join(f"\\u{ord(c):04x}" for c in secret),
        "JSON, every character, upper hex": "".join(f"\\u{ord(c):04X}" for c in secret),
        "URL": "https://x/?s=" + urllib.parse.quote(secret, safe=""),
        "URL, lower hex": re.sub(
            "%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(secret, safe="")
        ),
        "form": "grant_type=x&other=" + urllib.parse.quote_plus(secret) + "&scope=y",
        "XML references": secret.replace("+", "&#43;").replace("/", "&#x2F;"),
        "base64": base64.b64encode(raw).decode(),
        "base64, URL-safe": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "Basic auth": "Authorization: Basic " + base64.b64encode(b"client:" + raw).decode(),
        "Basic auth, offset 1": "Basic " + base64.b64encode(b"client1:" + raw).decode(),
        "Basic auth, offset 2": "Basic " + base64.b64encode(b"client12:" + raw).decode(),
    }


def shows(text: str, secret: str) -> list[str]:
    """The encodings of `secret` (or its longest pieces) that `text` still holds."""
    raw = secret.encode("utf-8")
    pieces = [base64.b64encode(b"\0" * n + raw).decode()[4:-4] for n in range(3)]
    return [f for f in (*encodings(secret).values(), secret[:10], *pieces) if f and f in text]


@pytest.mark.parametrize("form", list(encodings(SECRET)))
def test_a_secret_is_masked_in_every_encoding(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", SECRET)
    text = f"the service said: {encodings(SECRET)[form]} (end)"
    cleaned = redact(text)
    assert MASK in cleaned and cleaned.endswith("(end)"), cleaned
    assert not shows(cleaned, SECRET), cleaned
    assert not shows(redact_json_text(text), SECRET)


def test_text_without_the_secret_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", SECRET)
    text = "abc def ghi JKL 12 q 8Q é %2F \\/ Y2xpZW50 eyJ"
    assert redact(text) == text


@pytest.mark.parametrize(
    ("value", "generated"),
    [
        ("sEcReTcanary7f3a9c21d4XyZ", True),
        ("a3f9c1d2e4b5f607182930a4b5c6d7e8", True),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", True),
        ("Xk9mP2qR7vL4nB8wT3yZ", True),
        ("DWCONF_CLIENT_SECRET", False),
        ("AZURE_CLIENT_SECRET", False),
        ("MyApp2ClientSecret", False),
        ("dwconfClientSecretProd2", False),
        ("DYNAMICS365_CLIENT_SECRET", False),
        ("DWCONF_E2E_SECRET_1", False),
        ("SECRET2024V2DEV1", False),
        ("CONTOSO_DYNAMICS_PROD_CLIENTSECRET", False),
    ],
)
def test_a_generated_value_is_told_from_a_variable_name(value: str, generated: bool) -> None:
    assert looks_generated(value) is generated


def test_a_secret_of_bytes_that_are_not_text_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    # os.environ holds bytes that are not UTF-8 as surrogates (a key from /dev/urandom)
    raw = b"Qx7-plankey-\xff\xfe-0123456789"
    monkeypatch.setenv("DWCONF_PLAN_KEY", raw.decode("utf-8", "surrogateescape"))
    forms = {
        "as read": raw.decode("utf-8", "surrogateescape"),
        "JSON": json.dumps(raw.decode("utf-8", "surrogateescape")).strip('"'),
        "percent": urllib.parse.quote_from_bytes(raw, safe=""),
        "base64": base64.b64encode(b"id:" + raw).decode(),
    }
    for name, form in forms.items():
        assert redact(f"before {form} after") == f"before {MASK} after", name
        assert redact_json_text(f"before {form} after") == f"before {MASK} after", name
