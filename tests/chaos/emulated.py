"""Chaos runs against the emulator through the dynamics provider: the emulator's own fault
rules (`/_emulator/faults`, on a seeded random share of the requests: 429 with `Retry-After`,
503, connections dropped before a request is handled or after it was carried out, added
latency) and SIGKILL of the apply process, then `apply --resume` until the environment
converges.

Each process is `python -m tests.chaos.emulator_runner` (the dwconf CLI with fast polling and
an `x-dwconf-step` header on every request, see emulator_runner.py) in a configuration
repository whose `dev` environment points at the emulator. After each process the harness
takes the emulator's per-step request counts (`/_emulator/stats`), so it knows which process
sent what for which step, and compares them with what the journal said before that process.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from bench.generate import generate
from dwconf.apply.journal import Journal, folder, resumable
from dwconf.apply.run import LEASE_SECONDS
from dwconf.emulator.serve import Running
from dwconf.plan import saved
from tests.chaos.harness import (
    ENV,
    MAX_PROCESSES,
    REPO,
    Stats,
    check_summary,
    done_count,
    kill_point,
    killed_by_us,
)
from tests.providers.support import ENVIRON, SECRET, TestApi
from tests.providers.support import provider_block as support_provider_block

EXAMPLE = ("dwconf.yaml", "environments", "solutions")
# POSTs that only read: a $batch of GETs, the prerequisite order, a token.
READ_POSTS = re.compile(r"/\$batch$|/GetTemplatePrerequisiteSequences/|/oauth2/v2\.0/token$")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Writes whose repetition is not harmless: another lifecycle action, another record. (Importing
# the same zip, applying a solution, switching to a version, keys and the connection set set a
# state: doing one twice leaves what doing it once does.)
NOT_IDEMPOTENT = re.compile(r"^POST .*(/DualWriteManagement/1\.0/Start|/dwconf_deploymentrecords)$")
RECORD_TAG = "apply:add_record"
LOCKED = 5
TIMED_OUT = -1  # an exit code no process has: check_summary reports it
PROCESS_SECONDS = 1800
SETTLE_SECONDS = 5.0
Outcomes = dict[str, dict[str, dict[str, int]]]  # step -> "METHOD path" -> outcome -> count


@dataclass
class EmulatorStats(Stats):
    """The local harness's figures, plus leases left behind that a process had to wait out."""

    lease_waits: int = 0
    fault_kinds: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.fault_kinds.items()))
        return (
            f"{super().line()}, {self.lease_waits} stranded leases waited out "
            f"(faults by kind: {kinds or 'none'})"
        )


# Configurations ------------------------------------------------------------------------------


def provider_block(server: Running) -> str:
    """The `provider:` block of an environment file for the emulator's `dev`."""
    return support_provider_block(server, ENV)


def example_config(root: Path, server: Running) -> Path:
    """The repository's own example configuration (what `make demo` applies), with `dev`
    on the emulator instead of the local provider."""
    root.mkdir(parents=True)
    for name in EXAMPLE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    dev = root / "environments" / f"{ENV}.yaml"
    text = dev.read_text(encoding="utf-8")
    local = "provider:\n  type: local\n"
    assert local in text, "the example's dev environment no longer uses the local provider"
    dev.write_text(text.replace(local, provider_block(server)), encoding="utf-8")
    return root


def link_as_configured(root: Path, api: TestApi) -> None:
    """The alert settings of `dev`'s file, as a person sets them in the Dual-write workspace
    (dwconf only reads them from a real environment), and then its legal entities as chosen
    when the pair was linked (changing them resets the link, which would remove the alerts)."""
    model = yaml.safe_load((root / "environments" / f"{ENV}.yaml").read_text(encoding="utf-8"))
    alerts = model.get("alerts") or []
    if alerts:
        api.call("set_alerts", ENV, alerts=alerts)
        api.call("set_legal_entities", ENV, codes=(model.get("link") or {}).get("legal_entities"))


def generated_config(root: Path, server: Running, maps: int, fields: int = 6) -> Path:
    """A bench/generate.py configuration of `maps` maps (in up to 10 solutions, each holding
    whole tens), `dev` on the emulator."""
    solutions = max(2, min(10, maps // 100))
    while solutions > 1 and (maps // solutions) % 10:
        solutions -= 1  # a map depends on the one before it, within its ten: keep tens together
    generate(root, maps, fields, solutions)
    dev = root / "environments" / f"{ENV}.yaml"
    text = dev.read_text(encoding="utf-8")
    dev.write_text(text.replace("stage: dev\n", "stage: dev\n" + provider_block(server)))
    return root


def fault_rules(seed: int, rate: float) -> list[dict[str, Any]]:
    """About `rate` of all requests faulted, in six kinds; each rule has its own seed."""
    if rate <= 0:
        return []
    kinds: list[tuple[float, dict[str, Any]]] = [
        (0.25, {"status": 429, "retryAfter": 0}),
        (0.05, {"status": 429, "retryAfter": 1}),
        (0.20, {"status": 503}),
        (0.15, {"drop": True}),
        (0.15, {"dropResponse": True}),
        (0.20, {"latencyMs": 150}),
    ]
    rules, left = [], 1.0
    for n, (share, effect) in enumerate(kinds):
        # a rule rolls only on the requests the rules before it let through
        rules.append({**effect, "rate": rate * share / left, "seed": seed * 100 + n})
        left -= rate * share
    return rules


def fault_kind(rule: dict[str, Any]) -> str:
    if rule["dropResponse"]:
        return "answer lost"
    if rule["drop"]:
        return "dropped"
    if rule["status"] is None:
        return "latency"
    after = rule["retryAfter"]
    return f"{rule['status']}" + (f" (Retry-After {after})" if after is not None else "")


# Processes -----------------------------------------------------------------------------------


def environ() -> dict[str, str]:
    return {**os.environ, **ENVIRON, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}


def command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.chaos.emulator_runner", "--", "-C", str(root), *args]


def has_plan(root: Path) -> bool:
    journal = resumable(root, ENV)
    return journal is not None and journal.plan_path.exists()


def apply_process(
    root: Path, rng: random.Random, kill_after_done: int | None
) -> tuple[int, str, bool]:
    """One apply process (resuming when a journal with its plan is left); SIGKILL once the
    journal shows `kill_after_done` more done steps, and a random moment (up to 0.2 s) more;
    with 0, at a random moment 0.5-3 s after it started (loading, planning, taking the lease)."""
    resume = has_plan(root)
    args = ("apply", ENV, "--resume") if resume else ("apply", ENV, "--auto-approve")
    start = done_count(root) if resume else 0
    delay = rng.uniform(0.5, 3.0) if kill_after_done == 0 else rng.uniform(0, 0.2)
    # The output goes to a file: a pipe nobody reads while the process runs fills up (a plan of
    # a thousand maps is more than a pipe holds) and blocks the process for good.
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            command(root, *args), stdout=output, stderr=subprocess.STDOUT, env=environ()
        )
        sent = False
        reached: float | None = None
        while kill_after_done is not None and proc.poll() is None:
            if reached is None and done_count(root) - start >= kill_after_done:
                reached = time.monotonic()
            if reached is not None and time.monotonic() - reached >= delay:
                proc.send_signal(signal.SIGKILL)
                sent = True
                break
            time.sleep(0.005)
        try:
            proc.wait(timeout=PROCESS_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            note = f"\n(chaos harness: no exit after {PROCESS_SECONDS} s, killed)"
            return TIMED_OUT, _read(output) + note, False
        return proc.returncode, _read(output), killed_by_us(sent, proc.returncode)


def _read(output: IO[bytes]) -> str:
    output.seek(0)
    return output.read().decode(errors="replace")


def steps_left(root: Path, estimate: int) -> int:
    """Steps not yet done: of the plan being resumed, else of an `estimate` of a first plan."""
    journal = resumable(root, ENV)
    total = estimate
    if journal is not None and journal.plan_path.exists():
        total = len(saved.load(journal.plan_path).steps)
    return max(0, total - len(done_steps(root)))


def plan_exit(root: Path) -> tuple[int, str]:
    args = command(root, "plan", ENV, "--detailed-exitcode")
    done = subprocess.run(args, check=False, capture_output=True, env=environ())
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


# What the journals say -----------------------------------------------------------------------


def _events(root: Path) -> list[dict[str, Any]]:
    return [e for p in sorted(folder(root, ENV).glob("*.jsonl")) for e in Journal(p).events()]


def done_steps(root: Path) -> set[str]:
    """Steps whose effect stands in any journal of the run (`Journal.done_steps`)."""
    return {s for p in folder(root, ENV).glob("*.jsonl") for s in Journal(p).done_steps()}


def finished_records(root: Path) -> set[str]:
    """Deployment records the journals name: written by an apply that got the answer (not
    those a resume found written by the apply it continued, which was stopped before it could
    journal them: `earlier`)."""
    events = _events(root)
    return {
        str(e.get("record")) for e in events if e["event"] == "finished" and not e.get("earlier")
    }


def journaled_leases(root: Path) -> set[str]:
    return {str(e.get("lease")) for e in _events(root) if e["event"] == "begin"}


# What the emulator saw -----------------------------------------------------------------------


def _delta(after: Outcomes, before: Outcomes) -> Outcomes:
    found: Outcomes = {}
    for step, requests in after.items():
        for request, outcomes in requests.items():
            old = before.get(step, {}).get(request, {})
            new = {k: n - old.get(k, 0) for k, n in outcomes.items() if n - old.get(k, 0)}
            if new:
                found.setdefault(step, {})[request] = new
    return found


def is_write(request: str) -> bool:
    method, _, path = request.partition(" ")
    return method in WRITES and not READ_POSTS.search(path)


def carried_out(outcomes: dict[str, int]) -> int:
    """Requests the emulator handled: answered 2xx, or carried out and the answer lost."""
    return sum(n for k, n in outcomes.items() if k == "lost" or k.startswith("2"))


@dataclass
class Window:
    """One apply process: its requests per step, and what the journals said before it."""

    process: int
    killed: bool
    done_before: set[str]
    requests: Outcomes
    records_written: int = 0
    records_journaled: int = 0


@dataclass
class Run:
    """One chaos run: a window per process, read from the emulator after each."""

    root: Path
    api: TestApi
    windows: list[Window] = field(default_factory=list)
    _seen: Outcomes = field(default_factory=dict)

    def measure(self, killed: bool, done_before: set[str], records_before: set[str]) -> None:
        seen: Outcomes = self._settled()["step_outcomes"]
        window = Window(len(self.windows) + 1, killed, done_before, _delta(seen, self._seen))
        self._seen = seen
        records = window.requests.get(RECORD_TAG, {})
        window.records_written = sum(
            carried_out(o) for r, o in records.items() if NOT_IDEMPOTENT.match(r)
        )
        window.records_journaled = len(finished_records(self.root) - records_before)
        self.windows.append(window)

    def _settled(self) -> dict[str, Any]:
        """The statistics once the emulator has handled everything the process sent: a killed
        process's last requests may still be on their way, and belong to its window."""
        deadline = time.monotonic() + SETTLE_SECONDS
        stats = self.api.stats()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            again = self.api.stats()
            if again["in_flight"] == 0 and again["requests"] == stats["requests"]:
                return again
            stats = again
        return stats


def duplicated(windows: list[Window]) -> list[str]:
    """Writes sent for a step that the journal showed done before the process started."""
    found = []
    for window in windows:
        for step in sorted(window.done_before & set(window.requests)):
            for request, outcomes in sorted(window.requests[step].items()):
                if is_write(request):
                    found.append(
                        f"process {window.process} sent {request} {outcomes} for {step}, "
                        "journaled done before it started"
                    )
    return found


def repeated(windows: list[Window]) -> list[str]:
    """Non-idempotent writes carried out more than once for one step over the whole run, and
    deployment records a process wrote but did not journal (it lost the answer)."""
    total: Counter[tuple[str, str]] = Counter()
    for window in windows:
        for step, requests in window.requests.items():
            for request, outcomes in requests.items():
                if step != RECORD_TAG and NOT_IDEMPOTENT.match(request):
                    total[step, request] += carried_out(outcomes)
    found = [f"{r} carried out {n} times for {s}" for (s, r), n in sorted(total.items()) if n > 1]
    for window in windows:
        if not window.killed and window.records_written != window.records_journaled:
            found.append(
                f"process {window.process} wrote {window.records_written} deployment "
                f"record(s) and journaled {window.records_journaled}"
            )
    return found


def unseen(root: Path, windows: list[Window]) -> list[str]:
    """Steps journaled done that no request named: the step header went missing, and with it
    the duplicate checks' sight of them."""
    seen = {step for window in windows for step in window.requests}
    missing = sorted(done_steps(root) - seen)
    return [f"no request carried the step header of {', '.join(missing[:5])}"] if missing else []


def stranded_lease(root: Path, api: TestApi, out: str) -> str | None:
    """The lease a refusal (exit 5) named, when no journal knows it: a process lost the
    answer to taking it, or was killed between taking it and journaling `begin`."""
    lease = api.state()["state"]["lock"]
    if lease is None or lease["id"] not in out or lease["id"] in journaled_leases(root):
        return None
    return str(lease["id"])


# A run ---------------------------------------------------------------------------------------


def chaos_run(
    root: Path,
    api: TestApi,
    seed: int,
    *,
    rate: float,
    kill: bool,
    stats: EmulatorStats,
    total_steps: int,
    rules: list[dict[str, Any]] | None = None,
) -> Run:
    """Apply `root` to the emulator's fresh `dev` until converged: faults on `rate` of the
    requests (or the fault `rules` given), and with `kill` a SIGKILL in most processes (at
    least one of which must land)."""
    rng = random.Random(seed)
    api.reset()
    link_as_configured(root, api)
    rules = fault_rules(seed, rate) if rules is None else rules
    if rules:
        api.faults(*rules)
    run = Run(root, api)
    stats.runs += 1
    kills_before = stats.kills
    for attempt in range(1, MAX_PROCESSES + 1):
        resuming = has_plan(root)
        before, records = done_steps(root), finished_records(root)
        left = steps_left(root, total_steps)
        kill_at = kill_point(rng, kill, stats.kills > kills_before, left)
        code, out, killed = apply_process(root, rng, kill_at)
        run.measure(killed, before, records)
        stats.processes += 1
        stats.resumes += resuming
        stats.kills += killed
        if SECRET in out:
            stats.problems.append(f"process {attempt} printed the client secret")
        if code == LOCKED and not killed and stranded_lease(root, api, out):
            stats.lease_waits += 1
            api.advance(LEASE_SECONDS + 1)  # the emulator's clock: waiting, without the wait
        elif not killed:
            check_summary(root, code, out, stats.problems)
        if code == 0 and not killed:
            break
    for rule in api.fault_list():
        stats.fault_kinds[fault_kind(rule)] += rule["fired"]
        stats.faults += rule["fired"]
    api.http.delete("/faults")  # the final plan reads without faults
    stats.problems.extend(unseen(root, run.windows))
    stats.problems.extend(duplicated(run.windows))
    stats.problems.extend(repeated(run.windows))
    if kill and stats.kills == kills_before:
        stats.problems.append(f"run {seed}: no kill landed")
    code, out = plan_exit(root)
    if code == 0:
        stats.converged += 1
    else:
        stats.problems.append(
            f"run {seed}: not converged after {attempt} processes:\n{out[-1500:]}"
        )
    return run
