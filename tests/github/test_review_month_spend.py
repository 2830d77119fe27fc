"""The repository's review spend for the month in the sticky summary, kept on the state branch
(`state/_spend-YYYY-MM.json`, a compare-and-swap through the contents API) when that branch
exists: reviews of a month add up, a new month starts at zero, two reviews saving at once
both count, and a state branch the review may not write leaves the review as it was: with
one warning for a fault (a protected branch, a 5xx), with one line and no warning for a
token that may not write contents (the review workflow `init` writes). Real PyGithub and
anthropic SDKs against the emulators; each review's cost priced by hand from the Claude
emulator's usage at Sonnet 5.5's list prices (`tests.list_prices`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import github
import pytest

from ci_reviewer.batch.state import Loaded, StateDocument, StateStore
from ci_reviewer.batch.store_github import STATE_BRANCH, GitHubStore
from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.server import Fault
from ci_reviewer.flows.review_pr import FlowOptions, FlowOutcome, run_github_review
from ci_reviewer.github.client import GitHubSettings, make_github
from ci_reviewer.github.review_source import PullRequestRef
from ci_reviewer.month_spend import SpendBook
from ci_reviewer.pricing import Usage
from ci_reviewer.review.thread_answer import SYSTEM
from ci_reviewer.secrets import Redactor
from tests.emulators.github_fixtures import TOKEN, git
from tests.github.test_answer_mentions import answers_with, mention_in_thread
from tests.github.test_review_fixtures import MODEL, REPO, World, numbered, world
from tests.github.test_review_threads import EVAL
from tests.list_prices import sonnet_5_5_dollars

__all__ = ["world"]
DECEMBER = datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc)


def _client(world: World) -> github.Github:
    return github.Github(
        base_url=world.github.url,
        auth=github.Auth.Token(TOKEN),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def _state_branch(world: World) -> None:
    """A batch job has run: the state branch exists, holding its state."""
    gh = _client(world)
    try:
        GitHubStore(gh.get_repo(REPO)).save(StateDocument(job="nightly"), None)
    finally:
        gh.close()


def _review(
    world: World, number: int, now: datetime, spend_state: Path | str | None = "branch"
) -> tuple[FlowOutcome, float]:
    """One review at `now`, and its cost priced by hand from what the model was billed."""
    asked = len(world.claude.requests)
    ref = PullRequestRef(REPO, number, "pull_request", world.head())
    options = FlowOptions(
        world.config, MODEL, "high", world.repo, spend_state=spend_state, now=lambda: now
    )
    gh = make_github(GitHubSettings(world.github.url, TOKEN, backoff_factor=0))
    try:
        outcome = run_github_review(gh, ref, options, world.reviewer("high"), Redactor())
    finally:
        gh.close()
    calls = world.claude.requests[asked:]
    assert calls, "the review asked the model nothing"
    cost = sum(sonnet_5_5_dollars(Usage.from_api(c.response["usage"])) for c in calls if c.response)
    return outcome, cost


def _summary(world: World, number: int) -> str:
    [comment] = world.summaries(number)
    body: str = comment["body"]
    return body


def _record(world: World, month: str) -> list[dict[str, Any]]:
    """The entries of a month's spend record, as the state branch holds them."""
    stored = git(world.repo, "show", f"{STATE_BRANCH}:state/_spend-{month}.json")
    entries: list[dict[str, Any]] = json.loads(stored)["spend"]
    return entries


def _months(world: World) -> list[str]:
    """The months the state branch holds a spend record for (the CLI's clock is the real
    one: the test does not assume which month it runs in)."""
    names = git(world.repo, "ls-tree", "--name-only", f"{STATE_BRANCH}:state").split()
    return sorted(n[len("_spend-") : -len(".json")] for n in names if n.startswith("_spend-"))


def _month_line(total: float, reviews: int, this: float) -> str:
    noun = "review" if reviews == 1 else "reviews"
    return f"This month: ${total:.4f} over {reviews} {noun} (this review ${this:.4f})"


def test_two_reviews_in_a_month_add_up_in_the_summary_and_the_check_run(world: World) -> None:
    _state_branch(world)
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "low"})

    first, first_cost = _review(world, number, DECEMBER)
    assert _month_line(first_cost, 1, first_cost) in _summary(world, number)

    world.push({"lib.py": "def helper():\n    return 1\n"}, "add lib")
    second, second_cost = _review(world, number, DECEMBER.replace(day=20))

    line = _month_line(first_cost + second_cost, 2, second_cost)
    assert line in _summary(world, number)
    assert line in second.job_summary
    assert line in world.check_runs()[-1]["output"]["summary"]
    assert second.exit_code == 0 and first.exit_code == 0
    entries = _record(world, "2026-12")
    assert [e["cost_usd"] for e in entries] == pytest.approx([first_cost, second_cost])
    assert [e["at"] for e in entries] == ["2026-12-08T09:30:00Z", "2026-12-20T09:30:00Z"]
    assert all(e["key"].startswith(f"pr{number}-") for e in entries)


def test_a_new_month_starts_at_zero(world: World) -> None:
    _state_branch(world)
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "low"})
    _, december = _review(world, number, datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc))

    world.push({"lib.py": "def helper():\n    return 1\n"}, "add lib")
    _, january = _review(world, number, datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))

    assert _month_line(january, 1, january) in _summary(world, number)
    assert [e["cost_usd"] for e in _record(world, "2026-12")] == pytest.approx([december])
    assert [e["cost_usd"] for e in _record(world, "2027-01")] == pytest.approx([january])


class _Overtaken:
    """A store whose first load is followed, before this review saves, by another review
    adding its own cost: this review's save meets a changed file (409), as two workflow
    runs finishing at the same moment would."""

    def __init__(self, store: StateStore, other: Callable[[], object]) -> None:
        self.store = store
        self.other: Callable[[], object] | None = other

    def load(self, job: str) -> Loaded:
        loaded = self.store.load(job)
        if self.other is not None:
            other, self.other = self.other, None
            other()
        return loaded

    def save(self, document: StateDocument, version: str | None) -> str:
        return self.store.save(document, version)

    def describe(self, job: str) -> str:
        return self.store.describe(job)


def test_a_concurrent_review_saving_first_loses_nothing(world: World) -> None:
    _state_branch(world)
    first, second = _client(world), _client(world)
    try:
        ours = GitHubStore(first.get_repo(REPO))
        theirs = SpendBook(GitHubStore(second.get_repo(REPO)), lambda: DECEMBER)
        SpendBook(ours, lambda: DECEMBER).add("earlier", 0.25)
        book = SpendBook(_Overtaken(ours, lambda: theirs.add("theirs", 0.125)), lambda: DECEMBER)

        total = book.add("ours", 0.5)
    finally:
        first.close()
        second.close()

    assert total is not None
    assert (total.usd, total.reviews, total.this_review) == (0.875, 3, 0.5)
    assert [(e["key"], e["cost_usd"]) for e in _record(world, "2026-12")] == [
        ("earlier", 0.25),
        ("theirs", 0.125),
        ("ours", 0.5),
    ]


FORBIDDEN = "Resource not accessible by integration"
PROTECTED = "Changes must be made through a pull request"
NOT_RECORDED = "month's review spend was not recorded"
READ_ONLY = {"contents": "read", "pull_requests": "write", "checks": "write", "issues": "write"}


def _refused_review(world: World) -> tuple[FlowOutcome, int]:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "low"})
    outcome, _ = _review(world, number, DECEMBER)
    # The review itself is as it would be without a month to record.
    assert outcome.exit_code == 0 and outcome.error is None
    assert [run["conclusion"] for run in world.check_runs()] == ["success"]
    assert len(world.reviews(number)) == 1
    assert "This month" not in _summary(world, number)
    assert "state/_spend-2026-12.json" not in git(world.repo, "ls-tree", "-r", STATE_BRANCH)
    return outcome, number


@pytest.mark.parametrize("fault", ["protected", "server error"])
def test_a_state_write_that_fails_leaves_the_review_green_with_one_warning(
    world: World, fault: str
) -> None:
    _state_branch(world)
    if fault == "protected":
        world.github.refuse_contents_writes(f"refs/heads/{STATE_BRANCH}")
        quoted = PROTECTED
    else:  # GitHub's 502 to every try, the client's retries included
        world.github.inject(Fault(r"/contents/state/_spend-", status=502, method="PUT", times=50))
        quoted = "502"

    outcome, number = _refused_review(world)

    warnings = [c for c in outcome.commands if c.startswith("::warning")]
    assert len(warnings) == 1 and quoted in warnings[0] and NOT_RECORDED in warnings[0]
    notes = [n for n in outcome.diagnostics if NOT_RECORDED in n]
    assert len(notes) == 1 and quoted in notes[0] and "this review is not affected" in notes[0]
    assert NOT_RECORDED in _summary(world, number)


def test_a_token_that_may_not_write_contents_gets_one_line_and_no_warning(world: World) -> None:
    # The review workflow `init` writes: `contents: read`, in a repository whose batch jobs
    # made the state branch. Met on every review, so no annotation: one line with the fix.
    _state_branch(world)
    world.github.token_scopes = READ_ONLY

    outcome, number = _refused_review(world)

    assert not [c for c in outcome.commands if c.startswith("::warning")]
    line = (
        "the month's review spend was not recorded: this workflow's token may not write the "
        "state branch (give the review job `contents: write`, or set "
        "`review.month_spend: false`)"
    )
    assert [n for n in outcome.diagnostics if NOT_RECORDED in n] == [line]
    assert _summary(world, number).count(NOT_RECORDED) == 1 and line in _summary(world, number)
    assert outcome.job_summary.count(NOT_RECORDED) == 1


def test_a_rate_limited_state_write_is_a_fault_not_the_tokens_permission(world: World) -> None:
    # A 403 that is GitHub's secondary rate limit says nothing of the token's permission.
    _state_branch(world)
    world.github.inject(
        Fault(
            r"/contents/state/_spend-",
            status=403,
            method="PUT",
            times=50,
            answer="secondary-rate-limit",
            retry_after=0,  # GitHub's own wait when it names one: this test waits out none
        )
    )

    outcome, _ = _refused_review(world)

    warnings = [c for c in outcome.commands if c.startswith("::warning")]
    assert len(warnings) == 1 and NOT_RECORDED in warnings[0]


def test_without_a_state_branch_nothing_is_kept_and_no_branch_is_made(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()

    outcome, _ = _review(world, number, DECEMBER)

    assert "This month" not in _summary(world, number)
    assert not any("month's review spend" in n for n in outcome.diagnostics)
    assert git(world.repo, "branch", "--list", STATE_BRANCH) == ""


def test_with_a_state_directory_the_month_is_kept_there(world: World, tmp_path: Path) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    state = tmp_path / "state"

    _, cost = _review(world, number, DECEMBER, spend_state=state)

    assert _month_line(cost, 1, cost) in _summary(world, number)
    stored = json.loads((state / "_spend-2026-12.json").read_text(encoding="utf-8"))
    assert [e["cost_usd"] for e in stored["spend"]] == pytest.approx([cost])


def _cli(world: World, monkeypatch: pytest.MonkeyPatch, number: int, args: list[str]) -> int:
    for name, value in world.env(number).items():
        monkeypatch.setenv(name, value)
    return run_guarded(
        lambda: cli.main(args=["review", *args], prog_name="ci-reviewer", standalone_mode=False)
    )


def test_the_cli_keeps_the_month_on_the_state_branch_unless_the_config_says_not_to(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _state_branch(world)
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    asked = len(world.claude.requests)

    assert _cli(world, monkeypatch, number, []) == 0

    cost = float(world.outputs()["cost-usd"])
    [month] = _months(world)
    [entry] = _record(world, month)
    assert f"{entry['cost_usd']:.4f}" == f"{cost:.4f}"
    line = f"This month: ${entry['cost_usd']:.4f} over 1 review"
    assert line in _summary(world, number)
    assert line in (world.tmp / "summary.md").read_text(encoding="utf-8")

    # With month_spend off, a new commit's review keeps no record.
    config = tmp_path / "off.yml"
    config.write_text("review:\n  month_spend: false\n", encoding="utf-8")
    world.push({"lib.py": "def helper():\n    return 1\n"}, "add lib")
    assert _cli(world, monkeypatch, number, ["--config", str(config)]) == 0
    assert len(world.claude.requests) > asked + 1  # the second review ran
    assert _months(world) == [month] and len(_record(world, month)) == 1
    assert "This month" not in _summary(world, number)


def test_the_cli_keeps_the_month_in_a_state_directory(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    state = tmp_path / "state"

    assert _cli(world, monkeypatch, number, ["--state-dir", str(state)]) == 0

    [document] = state.glob("_spend-*.json")
    [entry] = json.loads(document.read_text(encoding="utf-8"))["spend"]
    assert f"{entry['cost_usd']:.4f}" == world.outputs()["cost-usd"]
    assert git(world.repo, "branch", "--list", STATE_BRANCH) == ""  # nothing made on GitHub


def test_a_run_with_nothing_to_review_is_not_counted(world: World) -> None:
    _state_branch(world)
    world.config = ReviewConfig(exclude=["app.py"])
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    ref = PullRequestRef(REPO, number, "pull_request", world.head())
    options = FlowOptions(
        world.config, MODEL, "high", world.repo, spend_state="branch", now=lambda: DECEMBER
    )
    gh = make_github(GitHubSettings(world.github.url, TOKEN, backoff_factor=0))
    try:
        run_github_review(gh, ref, options, world.reviewer("high"), Redactor())
    finally:
        gh.close()

    assert world.claude.requests == []
    assert "This month" not in _summary(world, number)
    assert _months(world) == []


def _answer(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], number: int
) -> tuple[int, str, str, float]:
    """`ci-reviewer answer` to a write-access author's question under the PR's finding: its
    exit code, stdout, stderr and its cost priced by hand from what the model was billed."""
    [root] = world.comments(number)
    world.github.set_collaborator("octocat", "write")
    payload = mention_in_thread(world, number, root, "octocat")
    answers_with(world, "explain", "It is: `input()` reads whatever the caller pipes in.")
    asked = len(world.claude.requests)
    path = world.tmp / "mention.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    event = "pull_request_review_comment"
    env = world.env(number, event) | {"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": event}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = run_guarded(
        lambda: cli.main(args=["answer"], prog_name="ci-reviewer", standalone_mode=False)
    )
    out, err = capsys.readouterr()
    calls = [c for c in world.claude.requests[asked:] if c.body.get("system") == SYSTEM]
    assert calls and all(c.body["model"] == MODEL for c in calls)
    cost = sum(sonnet_5_5_dollars(Usage.from_api(c.response["usage"])) for c in calls if c.response)
    return code, out, err, cost


def test_an_answer_adds_its_cost_to_the_month_and_the_summary_counts_it_apart(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _state_branch(world)
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", EVAL)
    # The CLI's clock is the real one: the reviews keep to it, so all three share a month.
    now = datetime.now(timezone.utc)
    month = f"{now:%Y-%m}"
    _, review_cost = _review(world, number, now)

    code, out, err, answer_cost = _answer(world, monkeypatch, capsys, number)

    assert code == 0, err
    total = review_cost + answer_cost
    assert (
        f"This month: ${total:.4f} over 1 review and 1 answer (this answer ${answer_cost:.4f})"
        in err
    )
    assert "::warning" not in out
    entries = _record(world, month)
    assert [e["cost_usd"] for e in entries] == pytest.approx([review_cost, answer_cost])
    assert [e.get("kind") for e in entries] == [None, "answer"]  # a review's entry as before

    world.push({"lib.py": "def helper():\n    return 1\n"}, "add lib")
    _, second = _review(world, number, now)
    line = (
        f"This month: ${total + second:.4f} over 2 reviews and 1 answer (this review ${second:.4f})"
    )
    assert line in _summary(world, number)


def test_an_answer_whose_token_may_not_write_contents_says_so_once_without_a_warning(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _state_branch(world)
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", EVAL)
    now = datetime.now(timezone.utc)
    _review(world, number, now)
    world.github.token_scopes = READ_ONLY  # the answer workflow's token

    code, out, err, _ = _answer(world, monkeypatch, capsys, number)

    assert code == 0, err
    assert "::warning" not in out
    line = (
        "the month's review spend was not recorded: this workflow's token may not write the "
        "state branch (give the answer job `contents: write`, or set "
        "`review.month_spend: false`)"
    )
    assert err.count(NOT_RECORDED) == 1 and line in err
    [root] = [c for c in world.comments(number) if c.get("in_reply_to_id") is None]
    assert any(c.get("in_reply_to_id") == root["id"] for c in world.comments(number))
    assert [e.get("kind") for e in _record(world, f"{now:%Y-%m}")] == [None]  # the review's


def test_a_rerun_with_nothing_new_shows_the_month_as_it_is_now(world: World) -> None:
    _state_branch(world)
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "low"})
    _, cost = _review(world, number, DECEMBER)
    # Since then, another pull request's review and an answer spent too.
    gh = _client(world)
    try:
        book = SpendBook(GitHubStore(gh.get_repo(REPO)), lambda: DECEMBER)
        book.add("pr9-other", 0.125)
        book.add("pr9-answer1", 0.0625, "answer")
    finally:
        gh.close()
    asked = len(world.claude.requests)
    ref = PullRequestRef(REPO, number, "pull_request", world.head())
    options = FlowOptions(
        world.config, MODEL, "high", world.repo, spend_state="branch", now=lambda: DECEMBER
    )
    gh = make_github(GitHubSettings(world.github.url, TOKEN, backoff_factor=0))
    try:
        again = run_github_review(gh, ref, options, world.reviewer("high"), Redactor())
    finally:
        gh.close()

    assert len(world.claude.requests) == asked  # nothing reviewed again
    total = cost + 0.125 + 0.0625
    line = f"This month: ${total:.4f} over 2 reviews and 1 answer"
    body = _summary(world, number)
    assert line in body and body.count("This month: ") == 1
    assert f"{line} (this review" not in body  # the re-run spent nothing
    assert line in again.job_summary
    assert "nothing was reviewed again" in body
    assert len(_record(world, "2026-12")) == 3  # the re-run added nothing


def test_a_summary_of_an_earlier_version_gets_its_month_line_replaced_once() -> None:
    from ci_reviewer.github.summary import refresh_month

    old = (
        "## ci-reviewer\n\nfiles reviewed: 1 · skipped: 0 · cost: $0.0100\n\n"
        "This month: $0.0100 over 1 review (this review $0.0100)\n\n> a note"
    )
    new = "This month: $0.5000 over 3 reviews"
    marked = f"<!-- ci-reviewer:month -->{new}<!-- /ci-reviewer:month -->"

    refreshed = refresh_month(old, new)

    assert refreshed == (
        f"## ci-reviewer\n\nfiles reviewed: 1 · skipped: 0 · cost: $0.0100\n\n{marked}\n\n> a note"
    )
    assert refresh_month(refreshed, "This month: $0.7500 over 4 reviews").count("This month") == 1
