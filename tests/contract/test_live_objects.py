"""What a provider shows, seen as objects (`dwconf.plan.live_view`): every kind of
`dwconf.objects.Object` and nothing else, each with the keys its type names."""

from __future__ import annotations

from dwconf.objects import KINDS
from dwconf.plan.live_view import live_objects
from dwconf.providers import LiveWriter
from tests.contract.conftest import Harness
from tests.contract.support import ALERT, CURRENCIES, CUSTOMERS, SOLUTION, package
from tests.support import assert_fits


def test_every_object_a_provider_shows_is_of_a_typed_kind(
    harness: Harness, provider: LiveWriter
) -> None:
    provider.reset_link(legal_entities=["USMF"])
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    for name in (CURRENCIES, CUSTOMERS):
        provider.switch_version(name, "1.0.0.0")
    assert provider.set_integration_keys("transactioncurrencies", ["isocurrencycode"])
    assert harness.set_alerts is not None
    harness.set_alerts([ALERT])
    objects = live_objects(provider.read(), {SOLUTION})
    assert {o["kind"] for o in objects.values()} == set(KINDS)
    for obj in objects.values():
        assert_fits(obj)
