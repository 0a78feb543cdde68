"""The review comment of an Azure Repos pull request (azure-pipelines/pull-request.yml).

One thread per pull request, found again by a hidden marker in its first comment and updated
in place, through the Azure DevOps REST API (pull request threads, api-version 7.1) with the
pipeline's token (System.AccessToken). The thread is active while validation or a plan fails
and closed when everything passed, so a "comments must be resolved" policy blocks exactly the
failing pull requests.

    python -m dwconf.ci.azure_devops review DIR

DIR holds the artifacts the pipeline collected: review-validate/ (validate.txt,
validate.code, diff.md) and review-plan-ENV/ (ENV.md, ENV.err, ENV.code) per environment.
It reads the pipeline's variables SYSTEM_ACCESSTOKEN (mapped with `env:` in the step),
SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECTID, BUILD_REPOSITORY_ID and
SYSTEM_PULLREQUEST_PULLREQUESTID (docs/azure-devops.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dwconf.redact import redact

MARKER = "<!-- dwconf-review -->"
API_VERSION = "7.1"
LIMIT = 150_000  # characters; a longer comment is cut and says so
ACTIVE, CLOSED = 1, 4  # CommentThreadStatus values


@dataclass(frozen=True)
class Review:
    """The comment's text and whether something failed."""

    body: str
    failed: bool


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _code(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _fenced(text: str) -> list[str]:
    return ["```", text.rstrip(), "```"]


def compose(folder: Path) -> Review:
    """The review from the pipeline's artifacts; a missing piece is said to be missing."""
    lines = [MARKER, "## dwconf review", ""]
    validate_dir = folder / "review-validate"
    code = _code(validate_dir / "validate.code")
    failed = code != 0
    if code is None:
        lines += ["**Validation did not run** (see the pipeline's log).", ""]
    elif code != 0:
        lines += [f"**dwconf validate failed (exit {code}):**", ""]
        lines += [*_fenced(_read(validate_dir / "validate.txt")), ""]
    else:
        lines += ["Validation passed.", ""]
    diff = _read(validate_dir / "diff.md").strip()
    if diff:
        lines += [diff, ""]
    plans = sorted(p for p in folder.glob("review-plan-*") if p.is_dir())
    if not plans and code == 0:
        lines += ["No plan was made (see the pipeline's log).", ""]
        failed = True
    for plan_dir in plans:
        env = plan_dir.name.removeprefix("review-plan-")
        plan_code = _code(plan_dir / f"{env}.code")
        lines += [_read(plan_dir / f"{env}.md").strip(), ""]
        if plan_code != 0:
            failed = True
            lines += [f"**dwconf plan {env} failed (exit {plan_code}):**", ""]
            lines += [*_fenced(_read(plan_dir / f"{env}.err")), ""]
    return Review(redact("\n".join(lines).rstrip() + "\n"), failed)


def cut(body: str, limit: int = LIMIT) -> str:
    """The body, cut to `limit` characters with a note that says how much was left out."""
    if len(body) <= limit:
        return body
    note = (
        "\n\n---\n**This review was cut: {n} characters left out.** "
        "The whole review is in the pipeline's artifacts (review-*).\n"
    )
    room = limit - len(note.format(n=len(body)))
    return body[:room] + note.format(n=len(body) - room)


@dataclass(frozen=True)
class PullRequest:
    """Where the pull request's threads are: {collection}{project}/_apis/git/repositories/..."""

    collection_uri: str
    project: str
    repository: str
    number: int

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> PullRequest:
        names = (
            "SYSTEM_COLLECTIONURI",
            "SYSTEM_TEAMPROJECTID",
            "BUILD_REPOSITORY_ID",
            "SYSTEM_PULLREQUEST_PULLREQUESTID",
        )
        missing = [n for n in names if not env.get(n)]
        if missing:
            raise SystemExit(f"not a pull-request run: {', '.join(missing)} not set")
        return cls(
            env["SYSTEM_COLLECTIONURI"],
            env["SYSTEM_TEAMPROJECTID"],
            env["BUILD_REPOSITORY_ID"],
            int(env["SYSTEM_PULLREQUEST_PULLREQUESTID"]),
        )

    @property
    def threads_url(self) -> str:
        base = self.collection_uri.rstrip("/")
        return (
            f"{base}/{self.project}/_apis/git/repositories/{self.repository}"
            f"/pullRequests/{self.number}/threads"
        )


def _mine(thread: Mapping[str, Any]) -> bool:
    comments = thread.get("comments") or []
    return bool(comments) and not thread.get("isDeleted") and MARKER in comments[0]["content"]


def post(client: httpx.Client, pr: PullRequest, review: Review) -> str:
    """Create the review thread or update it in place; returns "created" or "updated"."""
    params = {"api-version": API_VERSION}
    body = cut(review.body)
    status = ACTIVE if review.failed else CLOSED
    listed = client.get(pr.threads_url, params=params)
    listed.raise_for_status()
    found = next((t for t in listed.json().get("value", []) if _mine(t)), None)
    if found is None:
        thread = {"comments": [{"parentCommentId": 0, "content": body, "commentType": 1}]}
        created = client.post(pr.threads_url, params=params, json={**thread, "status": status})
        created.raise_for_status()
        return "created"
    url = f"{pr.threads_url}/{found['id']}"
    comment = found["comments"][0]["id"]
    updated = client.patch(f"{url}/comments/{comment}", params=params, json={"content": body})
    updated.raise_for_status()
    client.patch(url, params=params, json={"status": status}).raise_for_status()
    return "updated"


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    environ = os.environ if env is None else env
    if args in (["--help"], ["-h"]):
        print((__doc__ or "").strip())
        return 0
    if len(args) != 2 or args[0] != "review":
        print(
            "usage: python -m dwconf.ci.azure_devops review DIR (--help says more)", file=sys.stderr
        )
        return 1
    token = environ.get("SYSTEM_ACCESSTOKEN")
    if not token:
        print("SYSTEM_ACCESSTOKEN is not set: map it with env: in the step", file=sys.stderr)
        return 1
    pr = PullRequest.from_environment(environ)
    review = compose(Path(args[1]))
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=30.0) as client:
        try:
            outcome = post(client, pr, review)
        except httpx.HTTPError as exc:
            print(redact(f"the review could not be posted: {exc}"), file=sys.stderr)
            return 1
    print(f"review thread {outcome} ({'failed' if review.failed else 'passed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
