"""Shared by the review benchmarks: a synthetic PR in a temporary git repository, and a
Claude emulator run in its own process (so the tool's CPU time is measured alone), scripted
to answer every conversation with `turns - 1` tool turns and then findings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def make_pr_repo(root: Path, files: int, lines: int = 60) -> Path:
    """`main` with `files` modules, and a `feature` branch changing every one of them."""
    repo = root / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "bench@example.com")
    git("config", "user.name", "bench")
    for n in range(files):
        path = repo / "src" / f"module_{n:02d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"def f_{n}_{k}(x):\n    return x + {k}\n\n" for k in range(lines)))
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    for n in range(files):
        path = repo / "src" / f"module_{n:02d}.py"
        path.write_text(path.read_text().replace("return x + 1\n", "return x - 1  # changed\n"))
    git("commit", "-q", "-am", "change every module")
    return repo


SERVER = """
import json, socketserver, sys
# The emulator's HTTP server writes headers and body separately; without TCP_NODELAY every
# response waits for the client's delayed ACK (~40 ms), which is not what the API does.
socketserver.StreamRequestHandler.disable_nagle_algorithm = True
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
turns, latency = int(sys.argv[1]), float(sys.argv[2])
emu = ClaudeEmulator()
emu.latency = latency
finding = {"path": "", "line": 4, "end_line": None, "excerpt": "return x - 1  # changed",
           "severity": "medium",
           "category": "correctness", "title": "sign flipped", "body": "x - 1 was x + 1.",
           "suggestion": None, "confidence": 0.8}

def respond(body):
    done = sum(m["role"] == "assistant" for m in body["messages"])
    if done + 1 < turns:
        return Reply.tool_use([("read_file", {"path": f"src/module_{done:02d}.py"})])
    return Reply.json({"summary": "ok", "findings": [finding]})

emu.responder = respond
emu.start()
print(emu.url, flush=True)
sys.stdin.readline()
from ci_reviewer.emulators.claude_usage import input_tokens

def shared_prefix(body):
    first = body["messages"][0]["content"][0]
    return input_tokens({**body, "messages": [{"role": "user", "content": [first]}]})

usage = [
    c.usage.__dict__
    | {"prompt": c.usage.prompt_tokens, "prefix": shared_prefix(c.body),
       "file": c.body["messages"][0]["content"][1]["text"].split()[1]}
    for c in emu.requests if c.usage
]
print(json.dumps({"peak_in_flight": emu.peak_in_flight, "usage": usage}), flush=True)
emu.stop()
"""


@contextmanager
def emulator_process(turns: int, latency: float) -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, report): `report` is filled when the block ends (billed usage per call)."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(turns), str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    report: dict[str, Any] = {}
    try:
        yield process.stdout.readline().strip(), report
        process.stdin.write("\n")
        process.stdin.flush()
        report.update(json.loads(process.stdout.readline()))
    finally:
        process.stdin.close()
        process.wait(timeout=10)
        process.stdout.close()
