"""The alert-settings check: the link's alert settings against the configuration, each way,
and the fix a real environment needs (the workspace: dwconf can't write them there)."""

from __future__ import annotations

import dataclasses

from dwconf.doctor import Status
from dwconf.doctor import alert_checks as checks
from dwconf.live import Environment
from dwconf.model import Environment as EnvironmentModel
from tests.unit.doctor.scenario import ALERT, CONFIG, MakeContext

CONFIGURED = {"name": "app-errors", "error_type": "application", "threshold": 10,
              "window_minutes": 15, "action": "pause", "notify": ["ops@contoso.com"]}  # fmt: skip


def config(provider: str = "local", **alert: object) -> EnvironmentModel:
    data = {**CONFIG.model_dump(mode="json"), "alerts": [{**CONFIGURED, **alert}]}
    data["provider"] = {"type": provider}
    return EnvironmentModel.model_validate(data)


def test_alert_settings_as_configured(deployed: Environment, context: MakeContext) -> None:
    (finding,) = checks.alert_settings(context(deployed, config=config()))
    assert finding.status is Status.PASS
    assert finding.evidence == "app-errors: 10 application errors in 15 min, then pause"


def test_a_different_alert_setting_on_a_real_environment_is_set_in_the_workspace(
    deployed: Environment, context: MakeContext
) -> None:
    (finding,) = checks.alert_settings(context(deployed, config=config("dynamics", threshold=5)))
    assert finding.status is Status.WARN
    assert finding.summary == "Alert setting app-errors differs"
    assert "configured app-errors: 5 application" in finding.evidence
    assert finding.fix.startswith("Set it in the Dual-write workspace (Alert settings)")


def test_a_missing_alert_setting_locally_is_applied(env: Environment, context: MakeContext) -> None:
    (finding,) = checks.alert_settings(context(env, config=config()))
    assert (finding.status, finding.summary) == (Status.WARN, "Alert setting app-errors is missing")
    assert finding.fix == "Run dwconf apply."


def test_recipients_are_compared_only_where_they_are_known(
    deployed: Environment, context: MakeContext
) -> None:
    ctx = context(deployed, config=config("dynamics", notify=["someone-else@contoso.com"]))
    (different,) = checks.alert_settings(ctx)
    assert different.status is Status.WARN
    unknown = dataclasses.replace(ctx.state, alerts=(ALERT.without_notify(),))
    (same,) = checks.alert_settings(dataclasses.replace(ctx, state=unknown))
    assert same.status is Status.PASS
