"""Preconditions on the working tree shared by release and promote."""

from __future__ import annotations

from dwconf.errors import DwconfError
from dwconf.git import Repository

SHOWN = 5


def require_clean(repo: Repository, why: str) -> None:
    """Refuse when the working tree has uncommitted or untracked files (dwconf's own local
    environments under .dwconf/ excepted)."""
    changed = repo.changed_paths()
    if not changed:
        return
    listed = ", ".join(changed[:SHOWN])
    more = f" and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
    raise DwconfError(
        f"the working tree has uncommitted changes: {listed}{more}",
        f"commit or stash them first; {why}",
    )
