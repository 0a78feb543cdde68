"""What only the embedded provider does: its file, `wait`'s timeout, and starting over."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwconf.errors import ExitCode, ProviderError
from dwconf.live import RunState
from dwconf.providers import WaitTimeout
from dwconf.providers.local import LocalProvider, recreate, reset, state_path
from tests.contract.support import CURRENCIES, SOLUTION, package


def deployed(root: Path, polls: int) -> LocalProvider:
    provider = LocalProvider.open(root, "dev", polls=polls)
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    provider.switch_version(CURRENCIES, "1.0.0.0")
    return provider


def test_wait_polls_until_the_map_settles(tmp_path: Path) -> None:
    with deployed(tmp_path, polls=3) as provider:
        provider.start_map(CURRENCIES, initial_sync=True, master="dataverse")
        assert provider.wait(CURRENCIES, 5).state is RunState.RUNNING
        last = provider.read().map(CURRENCIES)
        assert last is not None and last.last_request is not None
        assert (last.last_request.action, last.last_request.state) == ("initial_sync", "completed")


def test_wait_gives_up_after_its_timeout(tmp_path: Path) -> None:
    with deployed(tmp_path, polls=3) as provider:
        provider.start_map(CURRENCIES, initial_sync=True, master="dataverse")
        with pytest.raises(WaitTimeout) as caught:
            provider.wait(CURRENCIES, 0)
        assert caught.value.message == f"Table map '{CURRENCIES}' is still Initializing after 0 s."
        assert isinstance(caught.value, ProviderError)
        assert provider.wait(CURRENCIES, 5).state is RunState.RUNNING
        with pytest.raises(ProviderError, match="at least 0 s"):
            provider.wait(CURRENCIES, -1)


def test_the_environment_persists_between_opens(tmp_path: Path) -> None:
    with deployed(tmp_path, polls=1) as provider:
        fingerprint = provider.read().fingerprint
    with LocalProvider.open(tmp_path, "dev") as again:
        assert again.read().fingerprint == fingerprint


def test_names_that_leave_the_state_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="is not an environment name"):
        state_path(tmp_path, "../elsewhere")


def test_reset_deletes_the_file_and_its_side_files(tmp_path: Path) -> None:
    provider = deployed(tmp_path, polls=1)
    path = provider.path
    side = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    assert all(p.exists() for p in side)
    provider.close()
    for p in side:
        p.touch()
    assert set(reset(tmp_path, "dev")) == {path, *side}
    assert not any(p.exists() for p in (path, *side))
    assert reset(tmp_path, "dev") == ()


def test_recreate_starts_over_unless_a_lock_is_held(tmp_path: Path) -> None:
    seed = recreate(tmp_path, "dev")
    with deployed(tmp_path, polls=1) as provider:
        lease = provider.acquire_lock("ci", "apply", None, 300)
    with pytest.raises(ProviderError) as caught:
        recreate(tmp_path, "dev")
    assert caught.value.exit_code is ExitCode.LOCKED
    assert lease.id in caught.value.message
    with LocalProvider.open(tmp_path, "dev") as provider:
        provider.force_unlock(lease.id)
    assert recreate(tmp_path, "dev").fingerprint == seed.fingerprint


def test_recreate_replaces_an_unreadable_file(tmp_path: Path) -> None:
    path = state_path(tmp_path, "dev")
    path.parent.mkdir()
    path.write_bytes(b"not a database")
    assert recreate(tmp_path, "dev").solution("DualWriteCore") is not None
