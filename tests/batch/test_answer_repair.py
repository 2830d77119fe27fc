"""Answers that deviate a little from the output schema lose nothing.

Structured outputs enforce only part of an answer's contract (types, enums, required
fields); the SDK's transform moves the rest (patterns, lengths, bounds) into descriptions.
Every rule a validator enforces is therefore either stated in the schema sent, or repaired
before validation, or, for a security finding, costs that finding alone (counted), never the
file. Shown through the kinds' own `accept`, and end to end through `batch submit` and
`batch collect` subprocesses against the Claude emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.batch.jobs import repair
from ci_reviewer.batch.jobs.base import Accepted, Rejected
from ci_reviewer.batch.jobs.security_audit import SecurityAuditKind
from ci_reviewer.batch.jobs.test_generation import Delivery, GeneratedTest, TestGenerationKind
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from tests.batch.conftest import commit_files
from tests.foundation.test_output_schemas import _sent_by_batch_kinds, _sent_nodes

GOOD = {
    "path": "app.py",
    "line": 2,
    "severity": "high",
    "cwe": "CWE-89",
    "title": "SQL injection",
    "description": "The query is built from input. Use parameters.",
    "recommendation": "use a parameterised query",
    "confidence": "high",
}
TEST = {"target_path": "test_app.py", "content": "def test_f():\n    pass\n", "framework": "pytest",
        "notes": ""}  # fmt: skip
FIRST_SENTENCE = "The query is built from input."
# For each rule the sent schema only describes: an answer breaking it, and what becomes of
# it ("kept" with the repaired value, or the finding "dropped" and counted, or, for the one
# rule nothing can repair, an empty test, the file's reported failure).
DEVIATIONS: dict[tuple[str, tuple[str, ...], str], tuple[Any, str, Any]] = {
    ("security-audit", ("findings", "[]", "cwe"), "pattern"): ("CWE 89", "kept", "CWE-89"),
    ("security-audit", ("findings", "[]", "line"), "minimum"): (-3, "kept", 1),
    ("security-audit", ("findings", "[]", "title"), "minLength"): ("", "kept", FIRST_SENTENCE),
    ("test-generation", ("target_path",), "minLength"): ("", "kept", "test_app.py"),
    ("test-generation", ("content",), "minLength"): ("", "rejected", "content"),
}  # fmt: skip


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return _sent_by_batch_kinds(tmp_path_factory.mktemp("repo"))


def _message(answer: Any) -> dict[str, Any]:
    return {"stop_reason": "end_turn", "content": [{"type": "text", "text": json.dumps(answer)}]}


def _entry() -> ManifestEntry:
    return ManifestEntry(path="app.py", content_hash="0" * 40, attempt=1)


def _accept(kind_name: str, field: tuple[str, ...], value: Any, workdir: Path) -> Any:
    subprocess.run(["git", "init", "-q", str(workdir)], check=True)
    if kind_name == "security-audit":
        audit = SecurityAuditKind("a", JobConfig(kind="security-audit"), workdir, None)
        broken = {**GOOD, field[-1]: value}
        return audit.accept("c1", _entry(), _message({"findings": [broken, GOOD]})), audit
    tests = TestGenerationKind("t", JobConfig(kind="test-generation"), workdir, Delivery(None))
    return tests.accept("c1", _entry(), _message({**TEST, field[-1]: value})), tests


def test_every_rule_the_schema_only_describes_is_repaired_or_costs_one_finding(
    sent: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    described = {
        (name, path, key)
        for name in ("security-audit", "test-generation")
        for path, node in _sent_nodes(sent[name]).items()
        for key in node["described"]
    }
    assert described == set(DEVIATIONS)  # a new rule needs its repair (and a row here)
    for (name, path, _key), (value, outcome, expected) in DEVIATIONS.items():
        result, kind = _accept(name, path, value, tmp_path)
        if outcome == "rejected":
            assert isinstance(result, Rejected) and expected in result.reason
            continue
        assert isinstance(result, Accepted), (name, path, result)
        if name == "security-audit":
            repaired, untouched = result.payload
            assert untouched.cwe == "CWE-89" and not kind.dropped["c1"]
            assert getattr(repaired, path[-1]) == expected
        else:
            assert isinstance(result.payload, GeneratedTest)
            assert result.payload.proposed == expected


@pytest.mark.parametrize("name", ["security-audit", "test-generation", "report"])
def test_the_sent_schema_is_within_what_the_sdk_transform_keeps(
    sent: dict[str, dict[str, Any]], name: str
) -> None:
    # anthropic.transform_schema moves every keyword structured outputs do not support into
    # the description: a schema it leaves unchanged uses only supported keywords.
    assert anthropic.transform_schema(sent[name]) == sent[name]


@pytest.mark.parametrize("written", ["CWE 89", "cwe-89", "89", "CWE_89", "CWE:089", " CWE-89 ", 89])
def test_a_cwe_written_loosely_is_normalised(written: Any) -> None:
    assert repair.cwe(written) == "CWE-89"


@pytest.mark.parametrize("written", ["SQL injection", "CWE-", "CWE-89a", "", None])
def test_what_names_no_cwe_is_left_for_the_validator(written: Any) -> None:
    assert repair.cwe(written) == written


@pytest.mark.parametrize(
    ("proposed", "source", "placed"),
    [
        ("", "src/calc.py", "test_calc.py"),
        ("  ", "web/app.ts", "app.test.ts"),
        ("tests/generated/test_calc.py", "src/calc.py", "test_calc.py"),
        ("./unit/test_calc.py", "src/calc.py", "unit/test_calc.py"),
        ("test_calc", "src/calc.py", "test_calc.py"),
        ("calc_tests.txt", "cmd/calc.go", "calc_test.go"),
        ("../escape.py", "src/calc.py", "../escape.py"),  # refused later, visibly
    ],
)
def test_a_test_path_is_derived_from_the_source_when_unusable(
    proposed: str, source: str, placed: str
) -> None:
    assert repair.target_path(proposed, source, "tests/generated") == placed


def test_a_finding_that_cannot_be_repaired_is_dropped_alone(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    audit = SecurityAuditKind("a", JobConfig(kind="security-audit"), tmp_path, None)
    bad = {**GOOD, "cwe": "SQL injection", "title": "other"}
    result = audit.accept("c1", _entry(), _message({"findings": [bad, GOOD]}))

    assert isinstance(result, Accepted)
    assert [f.title for f in result.payload] == ["SQL injection"]
    [reason] = audit.dropped["c1"]
    assert reason.startswith("app.py: finding 1, cwe:")


# A finding exactly as the schema promises it is taken as it is; one a little off it is
# repaired or dropped as before. (field, value) -> the published value, or why it is dropped.
ONE_OF_SEVERITIES = "Input should be 'critical', 'high', 'medium', 'low' or 'info'"
AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"
NEAR_MISSES: list[tuple[str, Any, str, Any]] = [
    ("cwe", "CWE-089", "kept", "CWE-89"),
    ("cwe", "CWE-0", "kept", "CWE-0"),
    ("severity", " HIGH", "kept", "high"),
    ("confidence", "Low", "kept", "low"),
    ("title", "  ", "kept", FIRST_SENTENCE),
    ("title", "  padded  ", "kept", "padded"),
    ("line", 0, "kept", 1),
    ("line", "7", "kept", 7),
    ("cwe", "CWE-\u0663", "dropped", "cwe: String should match pattern '^CWE-[0-9]+$'"),
    ("severity", "urgent", "dropped", f"severity: {ONE_OF_SEVERITIES}"),
    ("severity", ["high"], "dropped", f"severity: {ONE_OF_SEVERITIES}"),
    ("extra", 1, "dropped", "extra: Extra inputs are not permitted"),
    ("line", "x", "dropped", f"line: {AN_INTEGER}"),
]


@pytest.mark.parametrize(("field", "value", "outcome", "expected"), NEAR_MISSES)
def test_a_finding_near_the_schema_is_repaired_or_dropped_alone(
    field: str, value: Any, outcome: str, expected: Any, tmp_path: Path
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    audit = SecurityAuditKind("a", JobConfig(kind="security-audit"), tmp_path, None)
    result = audit.accept("c1", _entry(), _message({"findings": [{**GOOD, field: value}, GOOD]}))

    assert isinstance(result, Accepted)
    if outcome == "kept":
        first, _ = result.payload
        assert getattr(first, field) == expected and audit.dropped["c1"] == ()
    else:
        assert [f.title for f in result.payload] == ["SQL injection"]
        assert audit.dropped["c1"] == (f"app.py: finding 1, {expected}",)
    assert result.payload[-1].cwe == "CWE-89" and result.payload[-1].line == 2


def test_a_finding_names_a_tracked_file_however_its_path_is_written(repo: Path) -> None:
    commit_files(repo, {"src/db.py": "x = 1\n", "app.py": "y = 2\n"}, "files")
    audit = SecurityAuditKind("a", JobConfig(kind="security-audit"), repo, None)
    written = ["src/db.py", "./src/db.py", "src//db.py", "src/./db.py", " src/db.py/", "/src/db.py"]
    elsewhere = ["src/other.py", "", ".", "src/db.py/..", "SRC/db.py"]
    findings = [{**GOOD, "path": path} for path in [*written, *elsewhere]]
    result = audit.accept("c1", _entry(), _message({"findings": findings}))

    assert isinstance(result, Accepted)
    published = [f.path for f in result.payload]
    assert published == ["src/db.py"] * len(written) + ["app.py"] * len(elsewhere)


# -- end to end: `batch submit`, then `batch collect`, as subprocesses ---------------------

CONFIG = """
jobs:
  audit:
    kind: security-audit
    since: all
    include: ["src/**"]
    output: sarif
  tests:
    kind: test-generation
    since: all
    include: ["src/**"]
    output: file
"""
DB = "def q(cur, x):\n    cur.execute(f'SELECT {x}')\n    return eval(x)\n"


def _cli(repo: Path, claude: ClaudeEmulator, state: Path, *args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "ci_reviewer", "--workdir", str(repo), "batch", *args,
               "--state-dir", str(state), "--format", "json"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ANTHROPIC_"))}
    env |= {"ANTHROPIC_API_KEY": "sk-ant-repair-test-key", "ANTHROPIC_BASE_URL": claude.url}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.fixture
def project(repo: Path) -> Path:
    commit_files(repo, {".github/ci-reviewer.yml": CONFIG, "src/db.py": DB}, "db")
    return repo


def _about(path: str) -> Any:
    return lambda body: path in json.dumps(body.get("messages", ""))


def test_audit_publishes_a_files_other_findings_and_counts_the_dropped_one(
    project: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    sqli = {**GOOD, "path": "src/db.py", "cwe": "CWE 89"}
    evaluated = {**GOOD, "path": "src/db.py", "line": 3, "cwe": "cwe_95", "title": "eval"}
    broken = {**GOOD, "path": "src/db.py", "cwe": "injection", "title": "third"}
    claude.enqueue(Reply.json({"findings": [sqli, broken, evaluated]}), when=_about("src/db.py"))
    state = tmp_path / "state"

    _cli(project, claude, state, "submit", "--job", "audit")
    collected = _cli(project, claude, state, "collect", "--job", "audit")

    assert collected["failures"] == []
    sarif = json.loads((project / "ci-reviewer-audit.sarif").read_text())
    rules = sorted(r["ruleId"] for r in sarif["runs"][0]["results"])
    assert rules == ["ci-reviewer/CWE-89", "ci-reviewer/CWE-95"]
    [warning] = [w for w in collected["warnings"] if "dropped" in w]
    assert warning.startswith("1 finding(s) dropped") and "src/db.py: finding 2, cwe" in warning


def test_a_test_with_an_empty_target_path_lands_where_the_source_says(
    project: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    answer = {**TEST, "target_path": "", "content": "def test_q():\n    assert True\n"}
    claude.enqueue(Reply.json(answer), when=_about("src/db.py"))
    state = tmp_path / "state"

    _cli(project, claude, state, "submit", "--job", "tests")
    collected = _cli(project, claude, state, "collect", "--job", "tests")

    # (src/a.py and src/b.py of the base repository get the emulator's default answer)
    assert [f["path"] for f in collected["failures"] if f["path"] == "src/db.py"] == []
    written = project / "tests/generated/test_db.py"
    assert "def test_q():" in written.read_text()
