"""The doctor's report as text for people and JSON for tools (deterministic, registry order)."""

from __future__ import annotations

import json

from dwconf.doctor import Report, Status
from dwconf.redact import redact

_MARK = {Status.PASS: "pass", Status.SKIP: "skip", Status.WARN: "WARN", Status.FAIL: "FAIL"}


def text(report: Report) -> str:
    lines = [f"dwconf doctor: environment {report.environment} (provider {report.provider})", ""]
    width = max((len(i.check.id) for i in report.items), default=0)
    for item in report.items:
        finding = item.finding
        code = f"{item.check.code} " if item.check.code else ""
        lines.append(f"{_MARK[finding.status]}  {item.check.id:<{width}}  {code}{finding.summary}")
        pad = " " * (width + 8)
        if finding.evidence and finding.status is not Status.PASS:
            lines.append(f"{pad}evidence: {finding.evidence}")
        if finding.fix:
            lines.append(f"{pad}fix: {finding.fix}")
    lines += ["", _summary(report)]
    return redact("\n".join(lines) + "\n")


def _summary(report: Report) -> str:
    """`13 checks, 1 finding: 10 passed, 2 skipped (could not decide), 0 warnings, 1 failed`:
    a finding is a warning or a failure; a check that could not decide is skipped, not one."""
    checks = len({i.check.id for i in report.items})
    results = len(report.items)
    findings = report.count(Status.WARN) + report.count(Status.FAIL)
    head = f"{checks} checks" + (f" ({results} results)" if results != checks else "")
    return (
        f"{head}, {findings} finding(s): {report.count(Status.PASS)} passed, "
        f"{report.count(Status.SKIP)} skipped (could not decide), "
        f"{report.count(Status.WARN)} warning(s), {report.count(Status.FAIL)} failed"
    )


def as_json(report: Report) -> str:
    return redact(json.dumps(report.as_dict(), indent=2) + "\n")
