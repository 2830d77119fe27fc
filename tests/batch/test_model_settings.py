"""`ci-reviewer batch ...` with a job whose model or max_tokens cannot be served: exit 2 at
the setting's line before anything is sent when the model table knows (max_tokens above the
model's output limit), exit 2 at the model's line when the API answers 404 (api: sync), and a
permanent failure, not a retry loop, when a batch's results say the model is unknown."""

from __future__ import annotations

import json
from pathlib import Path

from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.batch.test_cli_batch import cli, configure

__all__ = ["cli"]  # the fixture, imported for its use below


def test_max_tokens_above_the_models_limit_is_refused_before_submitting(
    cli, repo: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    # CONFIG puts the job's own keys from line 7 on: model at 7, max_tokens at 8.
    configure(repo, "    model: claude-sonnet-4-5\n    max_tokens: 100000")
    config = repo / ".github/ci-reviewer.yml"

    code, _, err = cli("submit", "--job", "digest", "--state-dir", str(tmp_path / "state"))

    assert code == 2
    assert (
        "jobs.digest.max_tokens is 100000, above the 64000 output tokens claude-sonnet-4-5 "
        f"allows (set by `jobs.digest.max_tokens` at {config}:8:5; the model by "
        f"`jobs.digest.model` at {config}:7:5)"
    ) in err
    assert "hint: lower `jobs.digest.max_tokens` to at most 64000" in err
    assert claude.batches.all_newest_first() == [] and claude.requests == []


def test_a_sync_job_with_an_unknown_model_stops_at_the_models_line(
    cli, repo: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    configure(repo, "    api: sync\n    model: claude-sonnet-55")
    config = repo / ".github/ci-reviewer.yml"

    code, _, err = cli("run", "--job", "digest", "--state-dir", str(tmp_path / "state"))

    assert code == 2
    assert (
        f"error: {config}:8:5: jobs.digest.model: the Claude API does not serve the model "
        "'claude-sonnet-55' (404 not_found_error: model: claude-sonnet-55)"
    ) in err
    assert "hint: set `jobs.digest.model` to one of: claude-fable-5-2, " in err
    assert {call.status for call in claude.requests} == {404}


def test_a_batch_whose_model_is_unknown_fails_its_requests_without_retrying(
    cli, repo: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    """The Batches API reports each request's error in its result (errored, not_found_error):
    the run reports them and does not send them again."""
    configure(repo, "    model: claude-sonnet-55")
    state = str(tmp_path / "state")
    assert cli("submit", "--job", "digest", "--state-dir", state)[0] == 0

    code, out, _ = cli("run", "--job", "digest", "--state-dir", state, "--format", "json")

    document = json.loads(out)
    assert code == 0  # errored requests are reported, as the contract says
    assert document["collected"]["counts"] == {"errored": 2}
    reasons = {failure["reason"] for failure in document["collected"]["failures"]}
    assert reasons == {
        "the API does not serve the job's model (change `model`): model: claude-sonnet-55"
    }
    assert document["collected"]["retried"] == 0
