"""An apply with nothing to change still records what the environment now runs when the
configuration moved in ways the environment does not show (a pin now read from a release tag,
a publisher's display name), so promotion's gate sees it; a true no-op writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dwconf.providers import local
from tests.golden.scenarios import FILES, commit, write
from tests.support import Result

Cli = Callable[..., Result]


def records(root: Path) -> int:
    with local.LocalProvider.open(root, "dev") as provider:
        return len(provider.records())


def test_no_op_apply_writes_no_record_but_a_moved_configuration_is_recorded(
    tmp_path: Path, dwconf: Cli
) -> None:
    root = write(tmp_path / "repo", dict(FILES))
    commit(root, "base")
    assert dwconf("-C", str(root), "apply", "dev", "--auto-approve").exit_code == 0
    assert records(root) == 1

    again = dwconf("-C", str(root), "apply", "dev", "--auto-approve")
    assert again.exit_code == 0 and "Apply: nothing to do." in again.out
    assert records(root) == 1

    solution = next(p for p in root.glob("solutions/*/solution.yaml"))
    text = solution.read_text()
    assert "publisher: {" in text or "publisher:" in text
    solution.write_text(
        text.replace("unique_name: tst,", "unique_name: tst, display_name: Test,", 1)
    )
    moved = dwconf("-C", str(root), "apply", "dev", "--auto-approve")
    assert moved.exit_code == 0, moved.out + moved.err
    assert "recorded what it now runs" in moved.out
    assert records(root) == 2
