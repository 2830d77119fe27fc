"""The security-audit kind end to end: batches on the Claude emulator (real anthropic SDK),
the issue on the GitHub emulator (real PyGithub, responses checked against GitHub's OpenAPI
description), and SARIF checked against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.base import Collection, Published
from ci_reviewer.batch.jobs.security_audit import SecurityAuditKind
from ci_reviewer.batch.pipeline import collect, submit
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.github.publish_issue import IssuePublisher
from ci_reviewer.secrets import Redactor
from tests.batch.conftest import commit_files, git
from tests.batch.test_jobs_test_generation import checkout, origin, repository
from tests.emulators.github_fixtures import github_openapi_responses

__all__ = ["checkout", "github_openapi_responses", "origin", "repository"]  # fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = REPO_ROOT / ".ci-cache/sarif/sarif-schema-2.1.0.json"
FETCH_HINT = "run scripts/fetch-sarif-schema.sh (or set CI_REVIEWER_SARIF_SCHEMA)"
SECRET = "ghp_secretsecretsecret42"


def finding(path: str, line: int, severity: str, cwe: str, title: str) -> dict[str, Any]:
    return {
        "path": path,
        "line": line,
        "severity": severity,
        "cwe": cwe,
        "title": title,
        "description": f"{title} in {path}",
        "recommendation": "validate the input",
        "confidence": "high",
    }


SQLI = finding("src/db.py", 3, "high", "CWE-89", "SQL injection in query")
EVAL = finding("src/a.py", 1, "critical", "CWE-95", "eval of user input")
LOG = finding("src/b.py", 1, "low", "CWE-532", "token written to the log")


class RecordingAudit(SecurityAuditKind):
    """The real kind, remembering each collection it published so a test can replay one."""

    collections: list[Collection]

    def publish(self, collection: Collection) -> Published | None:
        self.collections = [*getattr(self, "collections", []), collection]
        return super().publish(collection)


Audit = Callable[..., tuple[Any, RecordingAudit]]


@pytest.fixture
def audited(checkout: Path) -> Path:
    commit_files(
        checkout,
        {
            "src/db.py": "from src import calc\n\n\ndef q(x):\n    return f'SELECT {x}'\n",
        },
        "db",
    )
    return checkout


@pytest.fixture
def audit(
    audited: Path, client: Any, claude: ClaudeEmulator, repository: Any, tmp_path: Path
) -> Iterator[Audit]:
    runs = iter(range(1, 100))

    def run(answers: dict[str, list[dict[str, Any]] | Reply], **job: Any) -> Any:
        for source, value in answers.items():
            reply = value if isinstance(value, Reply) else Reply.json({"findings": value})
            claude.enqueue(reply, when=about_audit(source))
        config = JobConfig(kind="security-audit", include=["src/**"], since="all", **job)
        publisher = IssuePublisher(repository, Redactor.of([SECRET]))
        kind = RecordingAudit("weekly-audit", config, audited, publisher, tmp_path / "a.sarif")
        job_run = JobRun(
            name="weekly-audit",
            job=config,
            model="claude-sonnet-5-5",
            kind=kind,
            workdir=audited,
            store=DirectoryStore(tmp_path / f"state-{next(runs)}"),
            api=BatchesAPI(client),
            now=claude.clock.now,
        )
        submit(job_run)
        return collect(job_run), kind

    yield run


def about_audit(source: str) -> Callable[[Any], bool]:
    return lambda body: f"Audit {source}." in json.dumps(body)


def issues(origin: GitHubEmulator) -> list[dict[str, Any]]:
    return list(origin.state.issues.values())


def test_one_issue_labelled_with_the_job_grouped_by_severity(
    audit: Audit, origin: GitHubEmulator, claude: ClaudeEmulator
) -> None:
    result, _ = audit(
        {"src/db.py": [SQLI], "src/a.py": [EVAL], "src/b.py": [LOG], "src/calc.py": []}
    )

    [issue] = issues(origin)
    assert [label["name"] for label in issue["labels"]] == ["weekly-audit"]
    assert "weekly-audit" in origin.state.labels
    body = issue["body"]
    assert body.index("### Critical (1)") < body.index("### High (1)") < body.index("### Low (1)")
    assert "`src/db.py:3` (CWE-89, high confidence)" in body
    assert body.count("<!-- ci-reviewer:fp:") == 3
    # Every audited file is named, those with nothing to report too.
    audited = body.split("### Audited files", 1)[1]
    for row in ("`src/a.py` | 1", "`src/b.py` | 1", "`src/calc.py` | none", "`src/db.py` | 1"):
        assert f"| {row} |" in audited
    assert "at batch prices" in body and result.collected[0] in body
    assert result.published.location.endswith(f"/issues/{issue['number']}")
    # The file's local imports went to the model with it.
    [batch_id] = result.collected
    params = dict(claude.batch(batch_id).requests)
    db_request = next(p for p in params.values() if "Audit src/db.py." in json.dumps(p))
    assert '<imported path=\\"src/calc.py\\">' in json.dumps(db_request)


def test_replaying_a_collection_edits_its_issue_instead_of_opening_another(
    audit: Audit, origin: GitHubEmulator
) -> None:
    _, kind = audit({"src/db.py": [SQLI]})
    [issue] = issues(origin)
    origin.state.issues[issue["number"]]["title"] = "renamed by a person"

    replay = kind.publish(kind.collections[0])

    assert len(issues(origin)) == 1
    assert replay is not None and "updated" in replay.detail
    assert issues(origin)[0]["title"].startswith("ci-reviewer weekly-audit")


def test_findings_open_in_an_earlier_issue_are_linked_not_repeated(
    audit: Audit, origin: GitHubEmulator, audited: Path
) -> None:
    audit({"src/db.py": [SQLI]})
    [first] = issues(origin)
    commit_files(audited, {"src/a.py": "print('changed')\n", "src/db.py": "# moved\n" + "x\n"})

    # The same finding, two lines lower now, and a new one.
    moved = {**SQLI, "line": 5}
    audit({"src/db.py": [moved], "src/a.py": [EVAL]})

    assert len(issues(origin)) == 2
    second = max(issues(origin), key=lambda i: i["number"])
    assert "eval of user input" in second["body"]
    linked = second["body"].split("### Still open from earlier audits", 1)[1]
    assert f"SQL injection in query `src/db.py`: see #{first['number']}" in linked
    assert second["body"].count("<!-- ci-reviewer:fp:") == 1


def test_no_new_issue_when_every_finding_is_already_open(
    audit: Audit, origin: GitHubEmulator
) -> None:
    audit({"src/db.py": [SQLI]})
    result, _ = audit({"src/db.py": [SQLI]})

    assert len(issues(origin)) == 1
    assert "all already open" in result.published.detail


def test_an_audit_with_nothing_found_opens_no_issue_and_says_so(
    audit: Audit, origin: GitHubEmulator
) -> None:
    result, _ = audit({"src/db.py": [], "src/a.py": []})

    assert issues(origin) == []
    assert result.published.detail == "no findings: no issue opened"


def test_a_finding_off_schema_is_dropped_alone_and_counted(
    audit: Audit, origin: GitHubEmulator
) -> None:
    repaired = {**SQLI, "cwe": "CWE 89", "severity": "High"}
    unusable = {**SQLI, "cwe": "SQL-INJECTION", "title": "second"}
    other = finding("src/db.py", 4, "medium", "cwe_20", "unchecked input")
    answers = {"src/db.py": [repaired, unusable, other], "src/a.py": Reply.text("nothing")}
    result, _ = audit(answers)

    reasons = {f.path: f.reason for f in result.failures}
    assert list(reasons) == ["src/a.py"] and "not the JSON" in reasons["src/a.py"]
    body = issues(origin)[0]["body"]
    assert "`src/db.py:3` (CWE-89, high confidence)" in body
    assert "`src/db.py:4` (CWE-20, high confidence)" in body
    assert "### High (1)" in body and "### Medium (1)" in body
    assert "**Dropped:** 1 finding(s) dropped" in body and "finding 2, cwe:" in body
    [warning] = [w for w in result.warnings if "dropped" in w]
    assert warning.startswith("1 finding(s) dropped") and "src/db.py: finding 2, cwe" in warning
    assert "### Not audited" in body and "`src/a.py`" in body


def test_files_to_audit_again_are_named_with_why(audit: Audit, origin: GitHubEmulator) -> None:
    result, _ = audit({"src/db.py": [SQLI], "src/a.py": Reply.error("overloaded_error")})

    assert result.retried == 1
    body = issues(origin)[0]["body"]
    again = body.split("### Audited again on the next run", 1)[1]
    assert "| `src/a.py` | 2 | errored (overloaded_error) |" in again


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(
    audit: Audit, origin: GitHubEmulator, tmp_path: Path
) -> None:
    result, _ = audit({"src/db.py": [SQLI], "src/a.py": [EVAL]}, output="sarif")

    log = json.loads(Path(result.published.location).read_text())
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["ci-reviewer/CWE-89"]["properties"]["tags"] == [
        "security",
        "external/cwe/cwe-89",
    ]
    levels = {r["ruleId"]: r["properties"]["security-severity"] for r in log["runs"][0]["results"]}
    assert float(levels["ci-reviewer/CWE-95"]) >= 9.0
    assert issues(origin) == []  # SARIF instead of an issue


def sarif_schema() -> dict[str, Any]:
    configured = os.environ.get("CI_REVIEWER_SARIF_SCHEMA")
    path = Path(configured) if configured else SARIF_SCHEMA
    if not path.is_file():
        pytest.fail(f"SARIF 2.1.0 schema not found at {path}: {FETCH_HINT}", False)
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def test_the_schema_check_can_fail() -> None:
    """A log missing its runs is rejected, so the validation above means something."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(sarif_schema()).validate({"version": "2.1.0"})


def test_no_results_publish_nothing(audited: Path, repository: Any, origin: GitHubEmulator) -> None:
    config = JobConfig(kind="security-audit")
    kind = SecurityAuditKind(
        "weekly-audit", config, audited, IssuePublisher(repository, Redactor())
    )

    assert kind.publish(Collection("weekly-audit", "c1", ("b",), (), (), ())) is None
    assert issues(origin) == []
    assert git(audited, "status", "--porcelain") == ""
