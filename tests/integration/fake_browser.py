"""A stand-in for the system browser in the browser sign-in test: `python fake_browser.py URL`.

It does what a person does with a real browser: opens the authorization page, signs in (here:
approves the request through the emulator's test API, as a person approves a device code),
continues, and follows the way back to the app's loopback listener — a 302 (query) or the
page that posts the code (form_post). Every request has a timeout and the whole run a
deadline. It writes one line per step to stdout (never a code or a token).

Environment: FAKE_BROWSER_CA (the emulator's CA file), FAKE_BROWSER_USER (who approves;
optional when the emulator has one user), FAKE_BROWSER_ACTION (`approve`, the default, or
`decline`).
"""

from __future__ import annotations

import os
import sys
import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx

DEADLINE_S = 30.0


class Form(HTMLParser):
    """The first form of a page: where it goes and its fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = found.get("action", "")
        elif tag == "input" and self.action is not None and not self._done and "name" in found:
            self.fields[found["name"]] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._done = True


def form_of(page: str) -> Form:
    parsed = Form()
    parsed.feed(page)
    if parsed.action is None:
        raise SystemExit(f"no form on the page: {page[:300]}")
    return parsed


def step(name: str, response: httpx.Response) -> httpx.Response:
    print(f"{name}: {response.status_code}", flush=True)
    return response


def back_to_app(loopback: httpx.Client, answer: httpx.Response) -> httpx.Response:
    """The way back to the app: follow the 302, or submit the form_post page."""
    if answer.status_code == 302:
        return step("redirect", loopback.get(answer.headers["location"]))
    form = form_of(answer.text)
    assert form.action is not None
    return step("form_post", loopback.post(form.action, data=form.fields))


def main(url: str) -> int:
    started = time.monotonic()
    parts = urlsplit(url)
    test_api = f"{parts.scheme}://{parts.netloc}/_emulator"
    verify = os.environ.get("FAKE_BROWSER_CA") or True
    action = os.environ.get("FAKE_BROWSER_ACTION", "approve")
    user = os.environ.get("FAKE_BROWSER_USER")
    with (
        httpx.Client(verify=verify, timeout=10, follow_redirects=False) as web,
        httpx.Client(timeout=10, trust_env=False) as loopback,
    ):
        page = step("authorize", web.get(url))
        if page.status_code != 200:
            return 1
        sign_in = form_of(page.text)
        request_id = sign_in.fields.get("request")
        if request_id is None:  # an error page: nothing to sign in to
            print(f"error page: {page.text[:300]}", flush=True)
            return 1
        body = {"username": user} if user else {}
        step(action, web.post(f"{test_api}/authorizations/{request_id}/{action}", json=body))
        assert sign_in.action is not None
        answer = step("continue", web.post(sign_in.action, data=sign_in.fields))
        while answer.status_code == 200 and 'name="request"' in answer.text:
            if time.monotonic() - started > DEADLINE_S:
                print("deadline passed while waiting for the sign-in", flush=True)
                return 1
            time.sleep(0.2)
            answer = step("continue", web.post(sign_in.action, data=sign_in.fields))
        done = back_to_app(loopback, answer)
    return 0 if done.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
