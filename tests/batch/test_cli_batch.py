"""`ci-reviewer batch ...` end to end: the real CLI, the Claude emulator, a state directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import BatchPolicy, ClaudeEmulator, Reply
from tests.batch.conftest import commit_files, git
from tests.batch.test_jobs_security_audit import sarif_schema
from tests.batch.test_pipeline import cid_of
from tests.github_output import read_github_output

CONFIG = """
jobs:
  digest:
    kind: report
    output: file
    sla_hours: 30
{extra}
"""


def configure(repo: Path, extra: str = "") -> None:
    (repo / ".github").mkdir(exist_ok=True)
    (repo / ".github/ci-reviewer.yml").write_text(CONFIG.format(extra=extra))


@pytest.fixture
def cli(repo: Path, claude: ClaudeEmulator, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-cli-secret-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    monkeypatch.chdir(tmp_path)
    configure(repo)

    def invoke(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as done:
            main(["--workdir", str(repo), "batch", *args])
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    return invoke


def test_run_submits_then_collects_and_status_reports_nothing_pending(cli, tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    code, out, _ = cli("run", "--job", "digest", "--state-dir", state, "--format", "json")
    first = json.loads(out)
    assert code == 0 and [b["requests"] for b in first["submitted"]["batches"]] == [2]
    code, out, _ = cli("run", "--job", "digest", "--state-dir", state, "--format", "json")
    second = json.loads(out)
    assert second["collected"]["counts"] == {"succeeded": 2}
    assert Path(second["collected"]["published"]).read_text().startswith("# Report: digest")
    code, out, _ = cli("status", "--job", "digest", "--state-dir", state, "--format", "json")
    assert json.loads(out)["pending"] == []


def test_status_shows_age_against_the_sla(cli, claude: ClaudeEmulator, tmp_path: Path) -> None:
    claude.batch_policy = BatchPolicy.until_expired()
    state = str(tmp_path / "state")
    assert cli("submit", "--job", "digest", "--state-dir", state)[0] == 0
    code, out, _ = cli("status", "--job", "digest", "--state-dir", state)
    assert code == 0
    assert "msgbatch_emu00000001  in_progress  2 request(s)" in out
    assert "SLA 30 h" in out


def test_status_without_a_key_shows_what_the_state_holds(
    cli, claude: ClaudeEmulator, tmp_path: Path, monkeypatch
) -> None:
    claude.batch_policy = BatchPolicy.until_expired()
    state = str(tmp_path / "state")
    assert cli("submit", "--job", "digest", "--state-dir", state)[0] == 0
    claude.clock.advance(hours=3)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    asked = len(claude.log)

    code, out, err = cli("status", "--job", "digest", "--state-dir", state)

    assert code == 0, err
    assert "msgbatch_emu00000001  not refreshed  2 request(s)" in out
    assert "set ANTHROPIC_API_KEY" in out
    assert len(claude.log) == asked  # the API was not asked
    code, out, _ = cli("status", "--job", "digest", "--state-dir", state, "--format", "json")
    (pending,) = json.loads(out)["pending"]
    assert pending["counts"] == {"recorded": 2} and pending["sla_hours"] == 30


def test_collect_without_a_key_does_not_suggest_an_option_it_lacks(cli, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    code, _, err = cli("collect", "--job", "digest", "--state-dir", "s")
    assert code == 2 and "ANTHROPIC_API_KEY is not set" in err
    assert "--dry-run" not in err  # collect has none
    code, _, err = cli("submit", "--job", "digest", "--state-dir", "s")
    assert code == 2 and "--dry-run" in err


def test_dry_run_writes_jsonl_prints_the_estimate_and_sends_nothing(
    cli, claude: ClaudeEmulator, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path / "runner-temp"))
    (tmp_path / "runner-temp").mkdir()
    code, out, err = cli("submit", "--job", "digest", "--dry-run")
    written = tmp_path / "runner-temp" / "ci-reviewer-digest-requests.jsonl"
    assert f"requests written to {written}" in err
    requests = written.read_text().splitlines()
    assert code == 0 and len(requests) == 2
    assert "would submit 2 request(s)" in out and "at batch prices" in out
    assert "nothing sent" in err
    assert not [r for r in claude.log if r.method == "POST"]


GITHUB_OUTPUTS = {
    "test-generation": "    output_dir: tests/generated",
    "security-audit": "    output: issue",
    "report": "    output: issue",
}


@pytest.mark.parametrize("kind", sorted(GITHUB_OUTPUTS))
@pytest.mark.parametrize("command", ["submit", "run"])
def test_a_dry_run_of_a_job_that_publishes_to_github_needs_no_credentials(
    cli, repo: Path, claude: ClaudeEmulator, monkeypatch, kind: str, command: str
) -> None:
    (repo / ".github/ci-reviewer.yml").write_text(
        f"jobs:\n  nightly:\n    kind: {kind}\n    include: ['src/**']\n{GITHUB_OUTPUTS[kind]}\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    for name in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/demo")
    monkeypatch.chdir(repo)  # as a user runs it: from the checkout

    code, out, err = cli(command, "--job", "nightly", "--dry-run")

    assert code == 0, err
    assert "would submit 2 request(s)" in out
    assert claude.log == []  # nothing sent, not even a look-up
    assert git(repo, "status", "--porcelain", "--ignored") == ""  # the tree is as it was


def test_a_dry_run_with_a_token_but_no_github_warns_and_plans_a_first_run(
    cli, repo: Path, monkeypatch
) -> None:
    (repo / ".github/ci-reviewer.yml").write_text(
        "jobs:\n  audit:\n    kind: security-audit\n    output: issue\n"
    )
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/demo")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_dryruntoken")  # GITHUB_API_URL: a closed port

    code, out, err = cli("submit", "--job", "audit", "--dry-run")

    assert code == 0, err
    assert "could not be read" in err and "as if this were the job's first run" in err
    assert "cannot reach GitHub" in err
    assert "would submit" in out


def test_errored_and_expired_requests_still_exit_zero(
    cli, claude: ClaudeEmulator, repo: Path, tmp_path: Path
) -> None:
    claude.batch_policy = BatchPolicy.until_expired()
    state = str(tmp_path / "state")
    cli("submit", "--job", "digest", "--state-dir", state)
    claude.clock.advance(hours=25)
    code, out, _ = cli("collect", "--job", "digest", "--state-dir", state)
    assert code == 0
    assert "0 succeeded, 0 failed for good, 2 to ask again on the next run" in out
    assert "(src/a.py: expired; src/b.py: expired)" in out


def test_a_tool_using_job_is_refused_with_exit_2(cli, repo: Path) -> None:
    configure(repo, "    tools: [{name: read_file}]")
    code, _, err = cli("submit", "--job", "digest", "--state-dir", "state")
    assert code == 2
    assert "multi-turn tool calling cannot run inside a batch" in err


def test_without_a_state_dir_or_github_it_says_what_to_pass(cli) -> None:
    code, _, err = cli("status", "--job", "digest")
    assert code == 2 and "--state-dir" in err


def test_the_api_key_never_appears_in_output(cli, tmp_path: Path) -> None:
    _, out, err = cli("run", "--job", "digest", "--state-dir", str(tmp_path / "s"))
    assert "sk-cli-secret-key" not in out + err


def test_killed_between_create_and_save_the_next_run_recovers(
    repo: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    configure(repo)
    env = {
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": claude.url,
        "CI_REVIEWER_KILL_AT": "batch-created",
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    command = [sys.executable, "-m", "ci_reviewer", "--workdir", str(repo), "batch", "run",
               "--job", "digest", "--state-dir", str(tmp_path / "state")]  # fmt: skip
    killed = subprocess.run(command, env=env, capture_output=True, cwd=tmp_path, check=False)
    assert killed.returncode == -9
    env["CI_REVIEWER_KILL_AT"] = ""
    again = subprocess.run(
        [*command, "--format", "json"], env=env, capture_output=True, cwd=tmp_path, check=False
    )
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["collected"]["adopted"] == ["msgbatch_emu00000001"]
    assert result["collected"]["counts"] == {"succeeded": 2}
    created = [r for r in claude.log if r.method == "POST" and r.path == "/v1/messages/batches"]
    assert len(created) == 1


def test_a_misspelt_kill_point_is_refused_instead_of_never_killing(
    cli, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CI_REVIEWER_KILL_AT", "batch-create")  # the point is "batch-created"
    code, _, err = cli("run", "--job", "digest", "--state-dir", str(tmp_path / "s"))
    assert code == 2
    assert "'batch-create' names no checkpoint" in err and "batch-created" in err
    assert not (tmp_path / "s").exists()


@pytest.fixture
def actions_files(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary.md"
    outputs.touch()
    summary.touch()
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return outputs, summary


def step_outputs(path: Path) -> dict[str, str]:
    values = read_github_output(path.read_text())
    path.write_text("")  # the next step starts with a fresh file, as on a runner
    return values


def test_run_writes_step_outputs_and_a_job_summary(
    cli, claude: ClaudeEmulator, repo: Path, tmp_path: Path, actions_files
) -> None:
    outputs, summary = actions_files
    state = str(tmp_path / "state")
    assert cli("run", "--job", "digest", "--state-dir", state)[0] == 0
    first = step_outputs(outputs)
    assert first["batch-ids"] == "msgbatch_emu00000001"
    assert first["submitted-count"] == "2"
    assert float(first["cost-usd"]) > 0
    assert (first["collected-count"], first["failed-count"]) == ("0", "0")

    commit_files(repo, {"src/c.py": "print('c')\n"})
    claude.set_outcome(cid_of(repo, "src/c.py"), "errored", "invalid_request_error")
    # collects 2; submits src/c.py and the config file, committed along with it
    cli("run", "--job", "digest", "--state-dir", state)
    assert step_outputs(outputs)["collected-count"] == "2"
    assert cli("collect", "--job", "digest", "--state-dir", state)[0] == 0
    third = step_outputs(outputs)
    assert third == {
        "batch-ids": "",
        "cost-usd": "0.0000",
        "submitted-count": "0",
        "collected-count": "2",
        "failed-count": "1",
    }
    text = summary.read_text()
    assert text.count("## ci-reviewer batch: digest") == 3
    assert "submitted 2 request(s)" in text and "batch msgbatch_emu00000001" in text
    assert "failed src/c.py (attempt 1): invalid request" in text
    assert "sk-cli-secret-key" not in text


def test_submit_alone_sets_every_output_and_without_the_files_writes_nothing(
    cli, tmp_path: Path, actions_files, monkeypatch
) -> None:
    outputs, summary = actions_files
    assert cli("submit", "--job", "digest", "--state-dir", str(tmp_path / "s"))[0] == 0
    assert step_outputs(outputs)["submitted-count"] == "2"
    assert "submitted 2 request(s)" in summary.read_text()
    monkeypatch.delenv("GITHUB_OUTPUT")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    summary.write_text("")
    assert cli("submit", "--job", "digest", "--state-dir", str(tmp_path / "s2"))[0] == 0
    assert outputs.read_text() == summary.read_text() == ""


def test_collect_as_sarif_is_an_empty_valid_run_for_a_report_job(cli, tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    cli("submit", "--job", "digest", "--state-dir", state)
    code, out, _ = cli("collect", "--job", "digest", "--state-dir", state, "--format", "sarif")
    log = json.loads(out)
    assert code == 0
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == []


AUDIT = """
jobs:
  audit:
    kind: security-audit
    output: sarif
"""


def test_collect_as_sarif_holds_the_audit_findings(
    cli, claude: ClaudeEmulator, repo: Path, tmp_path: Path
) -> None:
    (repo / ".github/ci-reviewer.yml").write_text(AUDIT)
    sqli = {
        "path": "src/a.py",
        "line": 1,
        "severity": "high",
        "cwe": "CWE-89",
        "title": "SQL injection",
        "description": "input reaches a query",
        "recommendation": "bind parameters",
        "confidence": "high",
    }
    claude.enqueue(Reply.json({"findings": [sqli]}), when=about("Audit src/a.py."))
    claude.enqueue(Reply.json({"findings": []}), when=about("Audit src/b.py."))
    state = str(tmp_path / "state")
    cli("submit", "--job", "audit", "--state-dir", state)
    code, out, err = cli("collect", "--job", "audit", "--state-dir", state, "--format", "sarif")
    assert code == 0, err
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "ci-reviewer/CWE-89"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/a.py"


def about(text: str):
    return lambda body: text in json.dumps(body)
