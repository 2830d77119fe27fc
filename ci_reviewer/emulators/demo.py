"""The demo that `ci-reviewer emulate` serves when not run in a git checkout: a small
repository with a pull request, a configuration with the review and one job of each batch
kind, and the model's scripted answers for it, so each of them publishes something.

The repository (branch `main`, and `feature` for pull request #1):
- `src/stats.py`: `average()`; the pull request guards it against an empty list and adds
  `load()`, which never closes its file (what the review finds, inline on that line), and
  `total()`; the review also invents a finding about a query that is not there, which
  grounding drops; a later commit that applies the suggested fix (`FIX`, as the README's
  walkthrough does) makes the leak "fixed since the last review";
- `src/lines.py`: counts lines by running `wc -l` through a shell with the path spliced in,
  an OS command injection (CWE-78) that the security audit reports;
- `.github/ci-reviewer.yml`: the review, `nightly-tests`, `weekly-audit`, `overnight-report`.

`answer` is the Claude emulator's responder for it; it recognises each request by the output
schema it asks for (the review's, a thread answer's, a test file's, an audit's, a report's)
and returns None for anything else, which the emulator then answers with its documented default.
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
PULL_AUTHOR = "octocat"

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
LEAK_CODE = "return open(path).read()"
TOTAL_LINE = STATS_HEAD.splitlines().index("    return sum(values)") + 1
# The suggested fix, which the walkthrough's second commit applies.
FIX = "    with open(path) as handle:\n        return handle.read()"
# A finding about code that is not there: no line of src/stats.py quotes a query.
HALLUCINATED_EXCERPT = "cursor.execute(f\"SELECT * FROM stats WHERE path = '{path}'\")"
# The review prompt's diff line that adds the leak: "    11 +     return open(path).read()".
_ADDED_LEAK = re.compile(r"^\s*(\d+) \+ \s*" + re.escape(LEAK_CODE) + r"\s*$", re.MULTILINE)
THREAD_ANSWER = (
    "CPython closes the file when its last reference goes, but that is an implementation "
    "detail: PyPy closes it only when its garbage collector runs, and `python -W error` turns "
    "the `ResourceWarning` into an exception. The `with` block of the last commit closes it "
    "on every interpreter, so the thread is resolved."
)

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
    run_git(path, ["init", "--quiet", "--initial-branch=main"])
    # The demo's own author, so the walkthrough's commit works where git has no identity.
    run_git(path, ["config", "user.name", "ci-reviewer demo"])
    run_git(path, ["config", "user.email", "demo@example.invalid"])
    for name, text in (
        ("src/stats.py", STATS_BASE),
        ("src/lines.py", LINES),
        (".github/ci-reviewer.yml", CONFIG),
        ("README.md", README),
    ):
        (path / name).write_text(text)
    run_git(path, ["add", "."])
    run_git(path, ["commit", "--quiet", "-m", "Initial commit"])
    run_git(path, ["checkout", "--quiet", "-b", "feature"])
    (path / "src" / "stats.py").write_text(STATS_HEAD)
    run_git(path, ["commit", "--quiet", "-am", "Guard average(); add load(), total()"])
    run_git(path, ["checkout", "--quiet", "main"])
    return path


def answer(body: Mapping[str, Any]) -> Reply | None:
    """The demo model's answer to one request, or None to leave it to the default."""
    asked = _schema_properties(body)
    prompt = _first_user_text(body)
    if {"reply", "decision"} <= asked:
        return _thread_answer()
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
    """After it has read src/stats.py: the resource leak in load() while the diff adds it
    (grounded: its excerpt is on that line), with a suggested fix; and, every time, one
    finding about code that is not in the file (an invented query), which grounding drops
    and the summary counts. Once a commit closes the file, the leak is no longer found."""
    messages = body.get("messages") or []
    has_read = any(isinstance(m, Mapping) and m.get("role") == "assistant" for m in messages)
    if not (has_read and "src/stats.py" in prompt):
        return None
    findings: list[dict[str, Any]] = []
    leak = _ADDED_LEAK.search(_first_user_blocks(body))
    if leak:
        findings.append(
            {
                "path": "src/stats.py",
                "line": int(leak.group(1)),
                "end_line": None,
                "excerpt": LEAK_CODE,
                "severity": "medium",
                "category": "resource-leak",
                "title": "File handle is never closed",
                "body": "`open(path).read()` leaves closing the file to the garbage collector.",
                "suggestion": FIX,
                "confidence": 0.9,
            }
        )
    findings.append(
        {
            "path": "src/stats.py",
            "line": TOTAL_LINE,
            "end_line": None,
            "excerpt": HALLUCINATED_EXCERPT,
            "severity": "high",
            "category": "sql-injection",
            "title": "Query built from a path by string formatting",
            "body": "The path is formatted into the SQL text.",
            "suggestion": None,
            "confidence": 0.6,
        }
    )
    summary = "One resource leak in load()." if leak else "load() closes its file now."
    return Reply.json({"summary": summary, "findings": findings})


def _thread_answer() -> Reply:
    """The answer to a mention in a thread: the finding explained (it stands, and is fixed)."""
    return Reply.json({"reply": THREAD_ANSWER, "decision": "explain", "suggestion": None})


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


def _first_user_blocks(body: Mapping[str, Any]) -> str:
    """The first user message's text blocks, joined (a review request sent shared-first has
    the overview and the file's diff in blocks of their own)."""
    messages = body.get("messages") or []
    first = messages[0] if messages and isinstance(messages[0], Mapping) else {}
    content = first.get("content", "")
    if isinstance(content, str):
        return content
    return "\n".join(
        str(b.get("text")) for b in content if isinstance(b, Mapping) and b.get("type") == "text"
    )


def _named_path(prompt: str, lead: str) -> str:
    """The path of a prompt's first line `<lead><path>.`."""
    first = prompt.split("\n", 1)[0]
    return first.removeprefix(lead).removesuffix(".") if first.startswith(lead) else ""
