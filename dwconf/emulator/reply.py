"""What every request handler returns: a status, a body and headers as plain data, so `$batch`
runs Dataverse handlers part by part without HTTP and the app turns any reply, Dataverse's or
the gateway's, into one HTTP response."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None
