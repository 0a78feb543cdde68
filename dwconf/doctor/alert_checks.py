"""The link's alert settings against the configuration (dual-write-domain §4).

On a real environment dwconf reads alert settings but can't write them (no public client of
the gateway writes them), so a difference is set right in the Dual-write workspace; the
gateway's shape has no recipients, so those are compared only where they are known.
"""

from __future__ import annotations

from dwconf.doctor.model import Context, Finding, passed, warned
from dwconf.live import AlertSetting
from dwconf.model.environment import Alert

WORKSPACE = (
    "Set it in the Dual-write workspace (Alert settings): dwconf reads alert settings on a "
    "real environment but can't write them."
)


def _configured(alert: Alert) -> AlertSetting:
    return AlertSetting(
        alert.name,
        alert.error_type,
        alert.threshold,
        alert.window_minutes,
        alert.action,
        tuple(alert.notify),
    )


def _same(live: AlertSetting, wanted: AlertSetting) -> bool:
    if live.notify is None:
        return live.without_notify() == wanted.without_notify()
    return live == wanted


def _shown(alert: AlertSetting) -> str:
    rule = f"{alert.threshold} {alert.error_type} errors in {alert.window_minutes} min"
    return f"{alert.name}: {rule}, then {alert.action}"


def alert_settings(ctx: Context) -> list[Finding]:
    live = {a.name: a for a in ctx.state.alerts}
    fix = WORKSPACE if ctx.environment.provider.type == "dynamics" else "Run dwconf apply."
    found = []
    for alert in ctx.environment.alerts:
        wanted = _configured(alert)
        have = live.get(alert.name)
        if have is None:
            found.append(warned(f"Alert setting {alert.name} is missing", _shown(wanted), fix))
        elif not _same(have, wanted):
            evidence = f"configured {_shown(wanted)}; the link has {_shown(have)}"
            found.append(warned(f"Alert setting {alert.name} differs", evidence, fix))
    if not found:
        shown = "; ".join(_shown(a) for a in ctx.state.alerts) or "none configured"
        found.append(passed("The link's alert settings are as configured", shown))
    return found
