"""P1e: P1 as a user runs it. `ci-reviewer review` in a fresh subprocess, in an Actions-like
environment (pull_request event), against the Claude and GitHub emulators each in its own
process: a 40-file PR, 3 calls per file each answered after 0.5 s (its first token, the end of
the prefill, after half of it: the emulator's default, `emulators/claude_stream`), concurrency
8, and the publishing (one review with an inline comment per file, the sticky summary, the
check run).

Reported, from timestamps both emulators take on the shared wall clock (`time.time()`):
- total wall (process start to exit) against the critical path ceil(40/8) x 3 x 0.5 = 7.5 s;
- start-up: process start to the first model call, and what importing the SDKs costs in a
  fresh interpreter (anthropic, github);
- the model phase: first model call received to last model answer sent, against 7.5 s and
  against its floor with the cache warm-up, 7.5 s + the first call's time to first token (the
  other slots start when its answer begins, `review/agent.send`);
- publishing: last model answer to process exit, and the GitHub requests in it;
- CPU seconds of the CLI process per reviewed file (rusage of the child).

Run: python benchmarks/p1e_review_end_to_end.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._review_bench import make_pr_repo

FILES, TURNS, LATENCY, CONCURRENCY = 40, 3, 0.5, 8
ROOT = Path(__file__).resolve().parents[1]
REPO, TOKEN, MODEL = "octo/demo", "emulator-token", "claude-sonnet-5-5"
KEY = "sk-ant-bench-key-0123456789"

# Each emulator keeps (arrival, answered, method, path) per request on the wall clock; the
# server writes headers and body separately, so TCP_NODELAY (else ~40 ms delayed ACK each).
TIMING = """
import json, socketserver, sys, threading, time
socketserver.StreamRequestHandler.disable_nagle_algorithm = True
timings = {}  # id(request) -> [arrival, answered, method, path]
lock = threading.Lock()

class TimedLog(list):
    def append(self, request):
        super().append(request)
        with lock:
            timings[id(request)] = [time.time(), None, request.method, request.path]

def timed(emulator):
    emulator.log = TimedLog()  # the log keeps every request alive, so ids stay unique
    handle = emulator.handle
    def answered(request):
        response = handle(request)
        with lock:
            timings[id(request)][1] = time.time()
        return response
    emulator.handle = answered
    return emulator
"""

CLAUDE = (
    TIMING
    + """
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
turns, latency = int(sys.argv[1]), float(sys.argv[2])
emu = timed(ClaudeEmulator())
emu.latency = latency

def respond(body):
    path = body["messages"][0]["content"][1]["text"].split()[1]
    done = sum(m["role"] == "assistant" for m in body["messages"])
    if done + 1 < turns:
        return Reply.tool_use([("read_file", {"path": path})])
    finding = {"path": path, "line": 5, "end_line": None, "excerpt": "return x - 1  # changed",
               "severity": "medium",
               "category": "correctness", "title": "sign flipped", "body": "x - 1 was x + 1.",
               "suggestion": None, "confidence": 0.8}
    return Reply.json({"summary": "ok", "findings": [finding]})

emu.responder = respond
emu.start()
print(json.dumps({"url": emu.url}), flush=True)
sys.stdin.readline()
calls = [[c.received, c.first_token, c.answered, bool(c.body.get("stream"))] for c in emu.requests]
print(json.dumps({"calls": calls, "peak": emu.peak_in_flight}), flush=True)
emu.stop()
"""
)

GITHUB = (
    TIMING
    + """
from pathlib import Path
from ci_reviewer.emulators.github import GitHubEmulator
emu = timed(GitHubEmulator(Path(sys.argv[1]), token=sys.argv[2]))
emu.start()
number = emu.open_pull("feature", "main")
print(json.dumps({"url": emu.url, "number": number}), flush=True)
sys.stdin.readline()
state = emu.state
held = {
    "reviews": sum(len(v) for v in state.reviews.values()),
    "inline_comments": sum(len(v) for v in state.review_comments.values()),
    "issue_comments": sum(len(v) for v in state.issue_comments.values()),
    "check_runs": len(state.check_runs),
}
print(json.dumps({"timings": list(timings.values()), "held": held}), flush=True)
emu.stop()
"""
)


@contextmanager
def served(script: str, *args: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(hello, report): `report` is filled when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    report: dict[str, Any] = {}
    try:
        yield json.loads(process.stdout.readline()), report
        process.stdin.write("\n")
        process.stdin.flush()
        report.update(json.loads(process.stdout.readline()))
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        process.stdout.close()


def one_run(root: Path) -> dict[str, Any]:
    repo = make_pr_repo(root, FILES)
    config = root / "ci-reviewer.yml"
    config.write_text(f"review:\n  concurrency: {CONCURRENCY}\n  fail_on: critical\n")
    with (
        served(CLAUDE, str(TURNS), str(LATENCY)) as (claude, claude_report),
        served(GITHUB, str(repo), TOKEN) as (github, github_report),
    ):
        env = _environment(root, repo, claude["url"], github["url"], github["number"])
        command = [sys.executable, "-m", "ci_reviewer", "review", "--config", str(config)]
        if os.environ.get("P1E_PROFILE"):  # where the time goes, for a closer look
            command[1:1] = ["-m", "cProfile", "-o", os.environ["P1E_PROFILE"]]
        started = time.time()
        process = subprocess.Popen(
            command, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.time()
        process.returncode = os.waitstatus_to_exitcode(status)
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
        process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"ci-reviewer review exited {process.returncode}:\n{stderr}")
    if os.environ.get("P1E_DUMP"):
        dump = {"started": started, "claude": claude_report, "github": github_report}
        Path(os.environ["P1E_DUMP"]).write_text(json.dumps(dump))
    return _figures(started, ended, usage, claude_report, github_report)


def _environment(root: Path, repo: Path, claude: str, github: str, number: int) -> dict[str, str]:
    event = root / "event.json"
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    payload = {"number": number, "pull_request": {"number": number, "head": {"sha": head}}}
    event.write_text(json.dumps({**payload, "repository": {"full_name": REPO}}))
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {
        **keep,
        # This checkout's code, not a copy the interpreter may have installed elsewhere.
        "PYTHONPATH": str(ROOT),
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": github,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(root / "output.txt"),
        "GITHUB_STEP_SUMMARY": str(root / "summary.md"),
        "GITHUB_WORKSPACE": str(repo),
        "ANTHROPIC_BASE_URL": claude,
        "ANTHROPIC_API_KEY": KEY,
    }


def _figures(
    started: float, ended: float, usage: Any, claude: dict[str, Any], github: dict[str, Any]
) -> dict[str, Any]:
    calls = claude["calls"]  # [received, first token, answered, streamed], the emulator's
    first_call = min(c[0] for c in calls)
    last_answer = max(c[2] for c in calls)
    requests = github["timings"]
    served = sorted(c[2] - c[0] - LATENCY for c in calls)
    [warm_up] = [c for c in calls if c[3]]
    later = [c[0] for c in calls if c is not warm_up]
    return {
        "emulator_ms": 1000 * served[len(served) // 2],
        "first_token": warm_up[1] - warm_up[0],
        # From the warm-up's first token to the next call's arrival: the others' start.
        "released_after": min(later) - warm_up[1],
        "warm_up_left": warm_up[2] - min(later),
        "wall": ended - started,
        "startup": first_call - started,
        "model": last_answer - first_call,
        "publish": ended - last_answer,
        "calls": len(calls),
        "peak": claude["peak"],
        "github_before": sum(t[0] < first_call for t in requests),
        "github_during": sum(first_call <= t[0] <= last_answer for t in requests),
        "github_after": [f"{t[2]} {t[3]}" for t in requests if t[0] > last_answer],
        "github_after_seconds": sum(t[1] - t[0] for t in requests if t[0] > last_answer),
        "cpu": usage.ru_utime + usage.ru_stime,
        "held": github["held"],
    }


def import_seconds(module: str) -> float:
    """Time to import `module` in a fresh interpreter (median of 3)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout)
        for _ in range(3)
    ]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(one_run(Path(tmp)))
    bound = math.ceil(FILES / CONCURRENCY) * TURNS * LATENCY
    median = {
        key: statistics.median(r[key] for r in results)
        for key in results[0]
        if isinstance(results[0][key], float)
    }
    last = results[-1]
    print(f"calls: {last['calls']}, peak in flight at the Claude emulator: {last['peak']}")
    print(f"GitHub holds: {last['held']}")
    for name in ("wall", "startup", "model", "publish", "cpu"):
        each = " / ".join(f"{r[name]:.2f}" for r in results)
        print(f"{name:8} median {median[name]:.2f} s  ({each})")
    floor = bound + median["first_token"]
    print(f"wall    {median['wall'] / bound:.3f}x the critical path {bound:.1f} s")
    print(f"model   {median['model'] / bound:.3f}x the critical path {bound:.1f} s")
    print(
        f"model floor with the warm-up: {floor:.2f} s = {floor / bound:.3f}x (the first "
        f"call's time to first token {median['first_token']:.3f} s); model / floor "
        f"{median['model'] / floor:.3f}"
    )
    print(
        f"the other slots started {1000 * median['released_after']:.0f} ms after the warm-up's "
        f"first token, {median['warm_up_left']:.2f} s before it ended"
    )
    print(
        f"GitHub requests: {last['github_before']} before the first model call, "
        f"{last['github_during']} during the model phase, {len(last['github_after'])} after "
        f"(their own time at the emulator {last['github_after_seconds']:.3f} s):"
    )
    for request in last["github_after"]:
        print(f"  {request}")
    print(
        f"Claude emulator's own time per call beyond the {LATENCY} s: median "
        f"{median['emulator_ms']:.1f} ms"
    )
    print(f"CPU per reviewed file: {median['cpu'] / FILES * 1000:.1f} ms")
    for module in ("anthropic", "github"):
        print(f"import {module} in a fresh interpreter: {import_seconds(module):.2f} s")


if __name__ == "__main__":
    main()
