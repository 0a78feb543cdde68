"""The link itself: integration keys, linked legal entities, alert settings and Reset link
(dual-write-domain §1.7, §1.8, §3.4, §3.5, §4).
"""

from __future__ import annotations

from collections.abc import Sequence

from dwconf.live.errors import (
    MAX_LEGAL_ENTITIES,
    DuplicateLegalEntity,
    InvalidRequest,
    ResetRefused,
    TooManyLegalEntities,
)
from dwconf.live.memo import Memo, json_of
from dwconf.live.state import AlertSetting, RunState
from dwconf.live.store import Tx, dumps, loads

ALERT_ACTIONS = ("pause", "stop", "none")


def integration_keys(tx: Tx, memo: Memo | None = None) -> dict[str, tuple[str, ...]]:
    rows = tx.all("SELECT table_name, columns FROM integration_keys ORDER BY table_name")
    return {r[0]: tuple(json_of(memo, r[1])) for r in rows}


def integration_key(tx: Tx, table: str) -> tuple[str, ...]:
    rows = tx.all("SELECT columns FROM integration_keys WHERE table_name = ?", table)
    return tuple(loads(rows[0][0])) if rows else ()


def set_integration_keys(tx: Tx, table: str, columns: Sequence[str]) -> bool:
    """Replace one table's key; an empty list removes it. False when nothing changed."""
    if not isinstance(table, str) or not table.strip():
        raise InvalidRequest("An integration key needs a Dataverse table (entity set name).")
    wanted = list(columns)
    if any(not isinstance(c, str) or not c.strip() for c in wanted):
        raise InvalidRequest(f"The integration key of '{table}' has a blank column.")
    if len(set(wanted)) != len(wanted):
        raise InvalidRequest(f"The integration key of '{table}' lists a column twice.")
    if integration_key(tx, table) == tuple(wanted):
        return False
    tx.run("DELETE FROM integration_keys WHERE table_name = ?", table)
    if wanted:
        tx.run(
            "INSERT INTO integration_keys (table_name, columns) VALUES (?, ?)", table, dumps(wanted)
        )
    return True


def legal_entities(tx: Tx) -> tuple[str, ...]:
    return tuple(r[0] for r in tx.all("SELECT code FROM legal_entities ORDER BY position"))


def _check_legal_entities(codes: Sequence[str]) -> None:
    if len(codes) > MAX_LEGAL_ENTITIES:
        raise TooManyLegalEntities(len(codes))
    seen: set[str] = set()
    for code in codes:
        if not isinstance(code, str) or not code.strip() or code.casefold() in seen:
            raise DuplicateLegalEntity(str(code))
        seen.add(code.casefold())


def set_legal_entities(tx: Tx, codes: Sequence[str]) -> bool:
    wanted = list(codes)
    _check_legal_entities(wanted)
    if legal_entities(tx) == tuple(wanted):
        return False
    tx.run("DELETE FROM legal_entities")
    for position, code in enumerate(wanted):
        tx.run("INSERT INTO legal_entities (position, code) VALUES (?, ?)", position, code)
    return True


def alerts(tx: Tx) -> tuple[AlertSetting, ...]:
    rows = tx.all("SELECT * FROM alerts ORDER BY position")
    return tuple(
        AlertSetting(
            name=r["name"],
            error_type=r["error_type"],
            threshold=r["threshold"],
            window_minutes=r["window_minutes"],
            action=r["action"],
            notify=tuple(loads(r["notify"])),
        )
        for r in rows
    )


def _check_alert(alert: AlertSetting, seen: set[str]) -> None:
    if not alert.name or alert.name in seen:
        raise InvalidRequest(f"Alert setting '{alert.name}' is blank or listed twice.")
    if alert.action not in ALERT_ACTIONS:
        raise InvalidRequest(
            f"Alert setting '{alert.name}' has action '{alert.action}'; use pause, stop or none."
        )
    if alert.threshold < 1 or alert.window_minutes < 1:
        raise InvalidRequest(
            f"Alert setting '{alert.name}' needs a threshold and a time window of at least 1."
        )
    seen.add(alert.name)


def set_alerts(tx: Tx, wanted: Sequence[AlertSetting]) -> bool:
    seen: set[str] = set()
    normal = [
        AlertSetting(
            a.name, a.error_type, a.threshold, a.window_minutes, a.action, tuple(a.notify or ())
        )
        for a in wanted
    ]
    for alert in normal:
        _check_alert(alert, seen)
    if alerts(tx) == tuple(normal):
        return False
    tx.run("DELETE FROM alerts")
    for position, a in enumerate(normal):
        tx.run(
            "INSERT INTO alerts (position, name, error_type, threshold, window_minutes, action,"
            " notify) VALUES (?, ?, ?, ?, ?, ?, ?)",
            position,
            a.name,
            a.error_type,
            a.threshold,
            a.window_minutes,
            a.action,
            dumps(list(a.notify or ())),
        )
    return True


def reset_link(tx: Tx, force: bool, codes: Sequence[str]) -> None:
    """Reset link: maps, keys, legal-entity mapping and alert settings are removed; installed
    solutions stay, so "apply solution" brings the maps back. dwconf's records and lock stay.
    """
    _check_legal_entities(list(codes))
    active = tx.all(
        "SELECT name FROM maps WHERE state != ? ORDER BY name", RunState.NOT_RUNNING.value
    )
    if active and not force:
        raise ResetRefused([r[0] for r in active])
    for table in ("templates", "maps", "integration_keys", "legal_entities", "alerts"):
        tx.run(f"DELETE FROM {table}")
    for position, code in enumerate(codes):
        tx.run("INSERT INTO legal_entities (position, code) VALUES (?, ?)", position, code)
