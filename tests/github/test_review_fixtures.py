"""A pull request world for the GitHub review tests: a real git repository (the checkout and
the emulated GitHub's storage), the GitHub emulator, the Claude emulator, and ways to run
the review through the flow or through the CLI. Imported by the test_review_* modules."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.claude import build_client
from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.flows.review_pr import FlowOptions, FlowOutcome, run_github_review
from ci_reviewer.github.client import GitHubSettings, make_github
from ci_reviewer.github.review_source import PullRequestRef
from ci_reviewer.review.diff import ReviewSource
from ci_reviewer.review.engine import ReviewResult, run_review
from ci_reviewer.secrets import Redactor
from tests.emulators.github_fixtures import TOKEN, commit_files, git
from tests.github_output import read_github_output
from tests.review.conftest import answer, file_of, finding_json

MODEL = "claude-sonnet-5-5"
REPO = "octo/demo"
BASE_APP = "".join(f"line {i}\n" for i in range(1, 41))


def numbered(changes: Mapping[int, str]) -> str:
    """app.py with the given lines replaced."""
    return "".join(f"{changes.get(i, f'line {i}')}\n" for i in range(1, 41))


@dataclass
class World:
    repo: Path
    github: GitHubEmulator
    claude: ClaudeEmulator
    tmp: Path
    config: ReviewConfig = field(default_factory=ReviewConfig)

    def push(self, files: Mapping[str, str], message: str = "change") -> str:
        return commit_files(self.repo, dict(files), message)

    def open_pr(self, **options: Any) -> int:
        return self.github.open_pull("feature", "main", **options)

    def head(self) -> str:
        return git(self.repo, "rev-parse", "HEAD")

    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def findings(self, path: str, *findings: Mapping[str, Any]) -> None:
        """The model's answer for `path` from now on (other files: no findings). A finding
        without an `excerpt` quotes the line it names, as the checkout holds it when the
        model is asked (a model that quotes what it sees)."""
        self.answers[path] = [finding_json(path=path, **f) for f in findings]
        self.quoting[path] = [("excerpt" not in f) for f in findings]

    quoting: dict[str, list[bool]] = field(default_factory=dict)

    def _quoted(self, path: str) -> list[dict[str, Any]]:
        findings = self.answers[path]
        quoting = self.quoting.get(path, [False] * len(findings))
        out = []
        for finding, quote in zip(findings, quoting, strict=True):
            if not quote:
                out.append(finding)
                continue
            file = self.repo / str(finding["path"])
            lines = file.read_text(encoding="utf-8").splitlines() if file.is_file() else []
            line = int(finding["line"])
            out.append({**finding, "excerpt": lines[line - 1] if line <= len(lines) else ""})
        return out

    def answer(self, body: Mapping[str, Any]) -> Reply | None:
        path = file_of(body)
        return Reply.json(answer(*self._quoted(path))) if path in self.answers else None

    def event(self, number: int, head_sha: str | None = None, name: str = "pull_request") -> Path:
        payload = {
            "action": "synchronize",
            "number": number,
            "pull_request": {"number": number, "head": {"sha": head_sha or self.head()}},
            "repository": {"full_name": REPO},
        }
        path = self.tmp / f"event-{name}.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        return path

    def reviewer(self, fail_on: str) -> Any:
        def review(source: ReviewSource) -> ReviewResult:
            with build_client("sk-test-key", self.claude.url, max_retries=0) as client:
                return run_review(
                    client, source, self.config, model=MODEL, workdir=self.repo, fail_on=fail_on
                )

        return review

    def run(
        self,
        number: int,
        *,
        head_sha: str | None = None,
        full: bool = False,
        fail_on: str = "high",
        event: str = "pull_request",
        retries: int = 6,
    ) -> FlowOutcome:
        ref = PullRequestRef(REPO, number, event, head_sha or self.head())
        options = FlowOptions(self.config, MODEL, fail_on, self.repo, full=full)
        settings = GitHubSettings(self.github.url, TOKEN, total_retries=retries, backoff_factor=0)
        gh = make_github(settings)
        try:
            return run_github_review(gh, ref, options, self.reviewer(fail_on), Redactor())
        finally:
            gh.close()

    def env(self, number: int, event: str = "pull_request") -> dict[str, str]:
        return {
            "GITHUB_API_URL": self.github.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(self.event(number, name=event)),
            "GITHUB_OUTPUT": str(self.tmp / "output.txt"),
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "GITHUB_WORKSPACE": str(self.repo),
            "GITHUB_SHA": "0" * 40,  # a merge commit's SHA: must never be used
            "ANTHROPIC_BASE_URL": self.claude.url,
            "ANTHROPIC_API_KEY": "sk-ant-test-key-123456",
        }

    def outputs(self) -> dict[str, str]:
        path = self.tmp / "output.txt"
        return read_github_output(path.read_text(encoding="utf-8")) if path.exists() else {}

    def files_asked(self, since: int = 0) -> set[str]:
        """The files the model was asked to review, from its `since`-th request on."""
        return {file_of(call.body) for call in self.claude.requests[since:]}

    # -- what GitHub holds ---------------------------------------------------------------
    def reviews(self, number: int) -> list[dict[str, Any]]:
        return self.github.state.reviews.get(number, [])

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self.github.state.review_comments.get(number, [])

    def summaries(self, number: int) -> list[dict[str, Any]]:
        every = self.github.state.issue_comments.get(number, [])
        return [c for c in every if "<!-- ci-reviewer:summary -->" in c["body"]]

    def check_runs(self) -> list[dict[str, Any]]:
        return [run for run in self.github.state.check_runs if run["name"] == "ci-reviewer"]


@pytest.fixture
def world(git_repo: Path, emulator: GitHubEmulator, tmp_path: Path) -> Iterator[World]:
    """`main` holds app.py (40 lines) and README.md; `feature` is checked out."""
    git(git_repo, "checkout", "-q", "-b", "feature")
    claude = ClaudeEmulator().start()
    built = World(git_repo, emulator, claude, tmp_path)
    claude.responder = built.answer
    try:
        yield built
    finally:
        claude.stop()
