"""The demo that `ci-reviewer emulate` serves when not run in a git checkout: a small
repository with a pull request, a configuration with the review and one job of each batch
kind, and the model's scripted answers for it, so each of them publishes something.

The repository (branch `main`, and `feature` for pull request #1):
- `src/stats.py`: `average()`; the pull request guards it against an empty list and adds
  `load()`, which never closes its file (what the review finds, inline on that line), and
  `total()`;
- `src/lines.py`: counts lines by running `wc -l` through a shell with the path spliced in,
  an OS command injection (CWE-78) that the security audit reports;
- `.github/ci-reviewer.yml`: the review, `nightly-tests`, `weekly-audit`, `overnight-report`.

`answer` is the Claude emulator's responder for it; it recognises each request by the output
schema it asks for (the review's, a test file's, an audit's, a report's) and returns None for
anything else, which the emulator then answers with its documented default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_reviewer.emulators.claude_replies import Reply
from ci_reviewer.git import run_git

FULL_NAME = "octo/demo"
PULL_TITLE = "Demo change"

STATS_BASE = '''"""A tiny demo project for ci-reviewer's emulators."""


def average(values: list[float]) -> float:
    return sum(values) / len(values)
'''
# The PR's change: a guard (the fix), a new function with an unclosed file (to review), and
# one more after it (so the reviewed line is not the diff's last).
STATS_HEAD = STATS_BASE.replace(
    "    return sum", "    if not values:\n        return 0.0\n    return sum"
) + (
    "\n\ndef load(path: str) -> str:\n    return open(path).read()\n"
    "\n\ndef total(values: list[float]) -> float:\n    return sum(values)\n"
)
LEAK_LINE = STATS_HEAD.splitlines().index("    return open(path).read()") + 1

LINES = '''"""Line counts, the quick way."""

import subprocess


def count_lines(path: str) -> int:
    done = subprocess.run(f"wc -l {path}", shell=True, capture_output=True, text=True)
    return int(done.stdout.split()[0])
'''

CONFIG = """\
# ci-reviewer's demo configuration: the review, and one job of each batch kind.
review:
  fail_on: high
jobs:
  nightly-tests:
    kind: test-generation
    include: ["src/**/*.py"]
    output_dir: tests/generated
  weekly-audit:
    kind: security-audit
    sla_hours: 168
    include: ["src/**/*.py"]
    output: issue
  overnight-report:
    kind: report
    include: ["src/**/*.py"]
"""

README = "# demo\n\nA repository made by `ci-reviewer emulate`.\n"

# What the demo's test generation writes for each source file (paths relative to output_dir).
GENERATED_TESTS: dict[str, tuple[str, str]] = {
    "src/stats.py": (
        "test_stats.py",
        "from src.stats import average\n\n\n"
        "def test_average_of_three_values() -> None:\n"
        "    assert average([1.0, 2.0, 6.0]) == 3.0\n",
    ),
    "src/lines.py": (
        "test_lines.py",
        "from pathlib import Path\n\nfrom src.lines import count_lines\n\n\n"
        "def test_counts_the_lines_of_a_file(tmp_path: Path) -> None:\n"
        '    sample = tmp_path / "three.txt"\n'
        '    sample.write_text("a\\nb\\nc\\n")\n'
        "    assert count_lines(str(sample)) == 3\n",
    ),
}
_NUMBERED_LINE = re.compile(r"^\s*(\d+)  (.*)$")


def create_repository(path: Path) -> Path:
    """The demo repository at `path`: `main`, and `feature` with the change to review."""
    (path / "src").mkdir(parents=True)
    (path / ".github").mkdir()
    identity = ["-c", "user.name=ci-reviewer demo", "-c", "user.email=demo@example.invalid"]
    run_git(path, ["init", "--quiet", "--initial-branch=main"])
    for name, text in (
        ("src/stats.py", STATS_BASE),
        ("src/lines.py", LINES),
        (".github/ci-reviewer.yml", CONFIG),
        ("README.md", README),
    ):
        (path / name).write_text(text)
    run_git(path, ["add", "."])
    run_git(path, [*identity, "commit", "--quiet", "-m", "Initial commit"])
    run_git(path, ["checkout", "--quiet", "-b", "feature"])
    (path / "src" / "stats.py").write_text(STATS_HEAD)
    run_git(path, [*identity, "commit", "--quiet", "-am", "Guard average(); add load(), total()"])
    run_git(path, ["checkout", "--quiet", "main"])
    return path


def answer(body: Mapping[str, Any]) -> Reply | None:
    """The demo model's answer to one request, or None to leave it to the default."""
    asked = _schema_properties(body)
    prompt = _first_user_text(body)
    if {"summary", "findings"} <= asked:
        return _review(body, prompt)
    if "target_path" in asked:
        return _test_file(prompt)
    if "findings" in asked:
        return _audit(prompt)
    if {"summary", "notes"} <= asked:
        return _report(prompt)
    return None


def _review(body: Mapping[str, Any], prompt: str) -> Reply | None:
    """After it has read src/stats.py: one finding with a suggested fix, so the review shows
    an inline comment and a suggestion block."""
    messages = body.get("messages") or []
    has_read = any(isinstance(m, Mapping) and m.get("role") == "assistant" for m in messages)
    if not (has_read and "src/stats.py" in prompt):
        return None
    finding = {
        "path": "src/stats.py",
        "line": LEAK_LINE,
        "end_line": None,
        "excerpt": "return open(path).read()",
        "severity": "medium",
        "category": "resource-leak",
        "title": "File handle is never closed",
        "body": "`open(path).read()` leaves closing the file to the garbage collector.",
        "suggestion": "    with open(path) as handle:\n        return handle.read()",
        "confidence": 0.9,
    }
    return Reply.json({"summary": "One resource leak in load().", "findings": [finding]})


def _test_file(prompt: str) -> Reply | None:
    source = _named_path(prompt, "Write tests for ")
    if source not in GENERATED_TESTS:
        return None
    target, content = GENERATED_TESTS[source]
    notes = "Imports the module from the repository root, as `python -m pytest` runs it."
    return Reply.json(
        {"target_path": target, "content": content, "framework": "pytest", "notes": notes}
    )


def _audit(prompt: str) -> Reply:
    """A finding on every line of the audited file that runs a shell on a built string."""
    source = _named_path(prompt, "Audit ")
    body = prompt.partition(f'<file path="{source}">')[2].partition("</file>")[0]
    findings = []
    for numbered in body.splitlines():
        found = _NUMBERED_LINE.match(numbered)
        if found and "shell=True" in found.group(2) and 'f"' in found.group(2):
            findings.append(
                {
                    "path": source,
                    "line": int(found.group(1)),
                    "severity": "high",
                    "cwe": "CWE-78",
                    "title": "Shell command built from a path",
                    "description": "The path is spliced into a command run by a shell: a "
                    "name such as `x; rm -rf ~` runs a second command.",
                    "recommendation": "Pass an argument list without `shell=True`, or read "
                    "the file in Python.",
                    "confidence": "high",
                }
            )
    return Reply.json({"findings": findings})


def _report(prompt: str) -> Reply:
    """Which functions the file defines, and a note when it runs a shell."""
    text = prompt.partition("<file")[2].partition("</file>")[0]
    names = re.findall(r"^\s*(?:\d+  )?def (\w+)\(", text, flags=re.MULTILINE)
    summary = "Defines " + ", ".join(f"`{n}()`" for n in names) + "." if names else "No code."
    notes = [{"severity": "info", "text": "No tests cover this file yet."}]
    if "shell=True" in text:
        notes.append({"severity": "high", "text": "Runs a shell on a string built from input."})
    return Reply.json({"summary": summary, "notes": notes})


def _schema_properties(body: Mapping[str, Any]) -> set[str]:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    schema = fmt.get("schema") if isinstance(fmt, Mapping) else None
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return set(properties) if isinstance(properties, Mapping) else set()


def _first_user_text(body: Mapping[str, Any]) -> str:
    messages = body.get("messages") or []
    first = messages[0] if messages and isinstance(messages[0], Mapping) else {}
    content = first.get("content", "")
    return content if isinstance(content, str) else json.dumps(content)


def _named_path(prompt: str, lead: str) -> str:
    """The path of a prompt's first line `<lead><path>.`."""
    first = prompt.split("\n", 1)[0]
    return first.removeprefix(lead).removesuffix(".") if first.startswith(lead) else ""
