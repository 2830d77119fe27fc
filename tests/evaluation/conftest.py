"""A synthetic golden-comment dataset over three tiny repositories the tests create and serve
from one GitHub emulator (a PR each: two with known bugs, one clean), and a Claude emulator
scripted per file (the reviews) and per PR (the judge)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.evaluation.judge import judge_prompt

TOKEN = "emulator-token"
ALPHA_BASE = {"src/calc.py": "def add(a, b):\n    return a + b\n"}
ALPHA_HEAD = {
    "src/calc.py": "def add(a, b):\n    return a - b\n\n\ndef div(a, b):\n    return a / b\n"
}
BETA_BASE = {"src/loop.py": "def total(xs):\n    return sum(xs)\n"}
BETA_HEAD = {
    "src/loop.py": (
        "def total(xs):\n    s = 0\n    for i in range(len(xs) - 1):\n        s += xs[i]\n"
        "    return s\n\n\ndef first_line(path):\n    return open(path).readline()\n"
    )
}
GAMMA_BASE = {"src/clean.py": "def name():\n    return 'a'\n"}
GAMMA_HEAD = {"src/clean.py": "def name():\n    return 'b'\n"}

ALPHA_GOLDENS = [
    {"comment": "add returns a - b instead of a + b in src/calc.py", "severity": "High"},
    {"comment": "div does not guard against a zero divisor", "severity": "Medium"},
]
BETA_GOLDENS = [
    {"comment": "The loop skips the last element (off by one)", "severity": "High"},
    {"comment": "first_line never closes the file it opens", "severity": "Low"},
]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)
    return done.stdout.decode().strip()


def make_repo(root: Path, name: str, base: Mapping[str, str], head: Mapping[str, str]) -> Path:
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for files, message in ((base, "base"), (head, "change")):
        if message == "change":
            git(repo, "checkout", "-q", "-b", "feature")
        for path, text in files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", message)
    git(repo, "checkout", "-q", "main")
    return repo


@pytest.fixture
def github_emu(tmp_path: Path) -> Iterator[GitHubEmulator]:
    alpha = make_repo(tmp_path, "alpha", ALPHA_BASE, ALPHA_HEAD)
    emu = GitHubEmulator(alpha, "octo/alpha").start()
    try:
        emu.open_pull("feature", title="Add div")
        beta = emu.add_repository(make_repo(tmp_path, "beta", BETA_BASE, BETA_HEAD), "octo/beta")
        beta.open_pull("feature", title="Loop total")
        gamma_dir = make_repo(tmp_path, "gamma", GAMMA_BASE, GAMMA_HEAD)
        emu.add_repository(gamma_dir, "octo/gamma").open_pull("feature", title="Rename")
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def claude_server() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def claude(
    claude_server: ClaudeEmulator, github_emu: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> ClaudeEmulator:
    claude_server.reset()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.url)
    monkeypatch.setenv("GITHUB_API_URL", github_emu.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return claude_server


def dataset(path: Path, base_url: str = "https://github.com") -> Path:
    entries = [
        {"pr_title": "Add div", "url": f"{base_url}/octo/alpha/pull/1", "comments": ALPHA_GOLDENS},
        {"pr_title": "Loop total", "url": f"{base_url}/octo/beta/pull/1", "comments": BETA_GOLDENS},
        {"pr_title": "Rename", "url": f"{base_url}/octo/gamma/pull/1", "comments": []},
        {"pr_title": "Gone", "url": f"{base_url}/octo/missing/pull/9", "comments": ALPHA_GOLDENS},
        {"pr_title": "Issue", "url": f"{base_url}/octo/alpha/issues/3", "comments": []},
    ]
    path.write_text(json.dumps(entries, indent=2))
    return path


HEADS = {**ALPHA_HEAD, **BETA_HEAD, **GAMMA_HEAD}


def finding(path: str, line: int, title: str, severity: str = "high") -> dict[str, Any]:
    """A finding quoting the head's line, as the review's grounding requires."""
    return {
        "path": path,
        "line": line,
        "excerpt": HEADS[path].splitlines()[line - 1].strip(),
        "end_line": None,
        "severity": severity,
        "category": "correctness",
        "title": title,
        "body": title + ".",
        "suggestion": None,
        "confidence": 0.9,
    }


def is_judge(body: Mapping[str, Any]) -> bool:
    return body.get("system") == judge_prompt().system


def reviewing(path: str) -> Any:
    def accepts(body: Mapping[str, Any]) -> bool:
        if is_judge(body):
            return False
        content = body["messages"][0]["content"]
        return isinstance(content, list) and content[1]["text"].startswith(f"Review {path} ")

    return accepts


def judging(title: str) -> Any:
    return lambda body: (
        is_judge(body) and f'"pull_request": "{title}"' in str(body["messages"][0]["content"])
    )


def script_reviews(claude: ClaudeEmulator, *, alpha_finds_div: bool = False) -> None:
    """alpha: the add bug and an invented one (and the div bug when asked); beta: the loop
    bug; gamma (clean): one remark."""
    alpha = [finding("src/calc.py", 2, "add subtracts"), finding("src/calc.py", 6, "mul overflow")]
    if alpha_finds_div:
        alpha.append(finding("src/calc.py", 6, "division by zero"))
    claude.enqueue(Reply.json({"summary": "s", "findings": alpha}), reviewing("src/calc.py"))
    beta = [finding("src/loop.py", 3, "range stops one short")]
    claude.enqueue(Reply.json({"summary": "s", "findings": beta}), reviewing("src/loop.py"))
    gamma = [finding("src/clean.py", 2, "name is unclear", "low")]
    claude.enqueue(Reply.json({"summary": "s", "findings": gamma}), reviewing("src/clean.py"))


def script_judge(claude: ClaudeEmulator, *, alpha_div: bool = False) -> None:
    alpha = [{"golden": "g1", "candidate": "c1", "reason": "same wrong operator"}]
    if alpha_div:
        alpha.append({"golden": "g2", "candidate": "c3", "reason": "same zero division"})
    claude.enqueue(Reply.json({"matches": alpha}), judging("Add div"))
    beta = [{"golden": "g1", "candidate": "c1", "reason": "same off-by-one"}]
    claude.enqueue(Reply.json({"matches": beta}), judging("Loop total"))
