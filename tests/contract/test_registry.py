"""The provider registry: one factory per `provider.type`, readers that can only read."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from dwconf.errors import ProviderError
from dwconf.model import Environment
from dwconf.model.environment import Provider
from dwconf.providers import PROVIDERS, local_state_path, open_reader, open_writer, reset_local
from dwconf.providers.local import LocalProvider


def environment(kind: str = "local", name: str = "dev") -> Environment:
    return Environment.model_validate({"name": name, "stage": "dev", "provider": {"type": kind}})


def test_every_provider_type_has_a_factory() -> None:
    assert set(PROVIDERS) == set(get_args(Provider.model_fields["type"].annotation))


def test_a_local_writer_lives_in_the_repository(tmp_path: Path) -> None:
    writer = open_writer(tmp_path, environment())
    try:
        assert isinstance(writer, LocalProvider)
        assert writer.path == tmp_path / ".dwconf" / "dev.sqlite"
        assert writer.path.is_file()
    finally:
        writer.close()


def test_a_reader_has_no_writes_even_at_run_time(tmp_path: Path) -> None:
    reader = open_reader(tmp_path, environment())
    try:
        assert reader.read().solution("DualWriteCore") is not None
        assert reader.lock_status() is None and reader.records() == ()
        for write in ("import_solution", "start_map", "acquire_lock", "add_record", "wait"):
            assert not hasattr(reader, write), write
    finally:
        reader.close()


@pytest.mark.parametrize("opener", [open_reader, open_writer])
def test_the_dynamics_provider_is_refused_clearly(tmp_path: Path, opener) -> None:
    with pytest.raises(ProviderError) as caught:
        opener(tmp_path, environment("dynamics", "prod"))
    assert caught.value.message.startswith("provider type 'dynamics' ")
    assert "'prod'" in caught.value.message
    assert not (tmp_path / ".dwconf").exists()


def test_an_unknown_provider_type_names_the_known_ones(tmp_path: Path) -> None:
    odd = environment().model_copy(update={"provider": Provider.model_construct(type="other")})
    with pytest.raises(ProviderError) as caught:
        open_writer(tmp_path, odd)
    assert caught.value.message == "unknown provider type 'other'."
    assert caught.value.hint == "Known types: dynamics, local."


def test_only_a_local_environment_can_be_reset(tmp_path: Path) -> None:
    assert local_state_path(tmp_path, environment()) == tmp_path / ".dwconf" / "dev.sqlite"
    with pytest.raises(ProviderError, match="only a local environment can be reset"):
        reset_local(tmp_path, environment("dynamics", "prod"))
