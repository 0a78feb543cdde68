"""A local fake of the Azure DevOps pull-request threads API on loopback (list threads,
create a thread, update a comment, update a thread's status), enough for the review script."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

THREADS = re.compile(
    r"^/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/git/repositories/(?P<repo>[^/]+)"
    r"/pullRequests/(?P<pr>\d+)/threads(?:/(?P<thread>\d+)(?:/comments/(?P<comment>\d+))?)?$"
)


@dataclass
class FakeDevOps:
    """The server's state: threads by pull request, and every request seen."""

    token: str
    threads: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 100

    def add_thread(self, pr: int, content: str, status: int = 1) -> dict[str, Any]:
        self.next_id += 1
        thread = {
            "id": self.next_id,
            "status": status,
            "isDeleted": False,
            "comments": [{"id": 1, "content": content, "parentCommentId": 0}],
        }
        self.threads.setdefault(pr, []).append(thread)
        return thread


def _handler(state: FakeDevOps) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

        def _reply(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            path, _, query = self.path.partition("?")
            state.requests.append((method, self.path))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return self._reply(401, {"message": "unauthorized"})
            if "api-version=7.1" not in query:
                return self._reply(400, {"message": "api-version is required"})
            match = THREADS.match(path)
            if match is None:
                return self._reply(404, {"message": "no such resource"})
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            threads = state.threads.setdefault(int(match["pr"]), [])
            if method == "GET" and not match["thread"]:
                return self._reply(200, {"value": threads, "count": len(threads)})
            if method == "POST" and not match["thread"]:
                content = body["comments"][0]["content"]
                thread = state.add_thread(int(match["pr"]), content, body.get("status", 1))
                return self._reply(200, thread)
            found = next((t for t in threads if t["id"] == int(match["thread"] or 0)), None)
            if found is None or method != "PATCH":
                return self._reply(404, {"message": "no such thread"})
            if match["comment"]:
                comment = next(c for c in found["comments"] if c["id"] == int(match["comment"]))
                comment["content"] = body["content"]
                return self._reply(200, comment)
            found["status"] = body["status"]
            return self._reply(200, found)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

    return Handler


@contextmanager
def serve(state: FakeDevOps) -> Iterator[str]:
    """Run the fake on 127.0.0.1; yields its collection URI."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/contoso/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
