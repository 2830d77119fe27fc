"""The review on GitHub, as one plain function: load the PR, decide what to review (all of
it, the files changed since the SHA the summary recorded, or nothing new), run the review,
publish (one review, the sticky summary, the check run), and say what to write to the runner
(step outputs, job summary, workflow commands) and which exit code the gate gives.

It prints nothing and reads no environment: the CLI builds the clients, passes the reviewer
in (a function from a `ReviewSource` to a `ReviewResult`) and writes the outcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ci_reviewer.config import DEFAULT_CONFIG_PATH
from ci_reviewer.errors import CIReviewerError, ClaudeAPIError
from ci_reviewer.flows import month_record
from ci_reviewer.github import checks, publish_review, summary
from ci_reviewer.github.client import github_errors
from ci_reviewer.github.fixed_findings import FixedFinding, settle_fixed
from ci_reviewer.github.publish_review import WriteForbidden, write
from ci_reviewer.github.review_scope import Scope, decide_scope
from ci_reviewer.github.review_source import (
    PullRequestInfo,
    PullRequestRef,
    guard_target_checkout,
    load_pull,
    pull_source,
)
from ci_reviewer.github.summary import ReviewedState, SummaryView, TrustedAuthors
from ci_reviewer.globs import PathFilter
from ci_reviewer.review.diff import ReviewSource, select_reviewable
from ci_reviewer.review.report import format_markdown, headline
from ci_reviewer.secret_policy import SecretPolicy

if TYPE_CHECKING:
    import github
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest
    from github.Repository import Repository

    from ci_reviewer.config import ReviewConfig
    from ci_reviewer.month_spend import MonthTotal
    from ci_reviewer.review.engine import ReviewResult

# The engine (and the SDK it loads) is imported only when a review runs: the pull request is
# read meanwhile.
Reviewer = Callable[[ReviewSource], "ReviewResult"]
Redact = Callable[[str], str]


@dataclass(frozen=True)
class FlowOptions:
    config: ReviewConfig
    model: str
    fail_on: str
    workdir: Path
    full: bool = False
    # The config's path in the checkout, read at the base commit under pull_request_target.
    config_file: str = DEFAULT_CONFIG_PATH
    policy: SecretPolicy = field(default_factory=SecretPolicy)
    # Where the month's review spend is kept (`ci_reviewer.month_spend`): "branch" (the
    # state branch, when it exists; what the CLI passes), a directory (`--state-dir`), or
    # None (not kept).
    spend_state: Path | str | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True)
class FlowOutcome:
    """What the edge writes: stdout lines (workflow commands), stderr lines, step outputs,
    the job summary, and the exit code (or the error to raise after writing the rest)."""

    exit_code: int
    result: ReviewResult | None = None
    commands: tuple[str, ...] = ()
    diagnostics: tuple[str, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)
    job_summary: str = ""
    error: CIReviewerError | None = None
    status: str = ""  # one line: what this run did (the summary's status line)


@dataclass
class _Publication:
    """What publishing achieved; filled as each write lands or is refused."""

    review_url: str = ""
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    """One run's GitHub handles and settings, passed between the steps."""

    repo: Repository
    pull: PullRequest
    info: PullRequestInfo
    options: FlowOptions
    redact: Redact
    existing: IssueComment | None
    previous: ReviewedState | None
    trusted: TrustedAuthors


def run_github_review(
    gh: github.Github, ref: PullRequestRef, options: FlowOptions, reviewer: Reviewer, redact: Redact
) -> FlowOutcome:
    """Review pull request `ref` and publish the result; see the module docstring."""
    repo, pull, info = load_pull(gh, ref)
    if not info.is_open:
        message = f"pull request #{info.number} is {info.closed_reason}: nothing to review"
        return FlowOutcome(0, diagnostics=(message,))
    guard_target_checkout(info, options.workdir, options.config_file)
    trusted = TrustedAuthors()
    with github_errors(f"reading the comments of pull request #{info.number}"):
        existing = summary.find_summary(pull, trusted)
    previous = ReviewedState.parse(existing.body) if existing is not None else None
    run = _Run(repo, pull, info, options, redact, existing, previous, trusted)
    scope = decide_scope(repo, previous, info.head_sha, full=options.full)
    if scope.unchanged and previous is not None:
        return _refresh(run, previous)
    source = _source(run, scope)
    result = reviewer(source) if source.files else _nothing(source, options)
    outcome = _api_failed(run, result) if result.api_error else _publish(run, scope, source, result)
    if source.head_files is not None:  # say which files the review read
        outcome = replace(outcome, diagnostics=(source.head_files.note, *outcome.diagnostics))
    return outcome


def _source(run: _Run, scope: Scope) -> ReviewSource:
    config = run.options.config
    source = pull_source(run.repo, run.pull, run.info, run.options.workdir)
    if scope.paths is not None:
        paths = scope.paths
        source = replace(
            source,
            files=tuple(f for f in source.files if f.path in paths),
            skipped=tuple(s for s in source.skipped if s.path in paths),
        )
    path_filter = PathFilter.build(config.include, config.exclude, config.skip_generated)
    return select_reviewable(
        source,
        path_filter,
        run.options.workdir,
        skip_generated=config.skip_generated,
        policy=run.options.policy,
    )


def _nothing(source: ReviewSource, options: FlowOptions) -> ReviewResult:
    from ci_reviewer.review.engine import nothing_to_review

    return nothing_to_review(source, model=options.model, fail_on=options.fail_on)


# -- the three endings ------------------------------------------------------------------------
def _publish(run: _Run, scope: Scope, source: ReviewSource, result: ReviewResult) -> FlowOutcome:
    done = _Publication()
    month = _month_spend(run, result, done)
    _post_review(run, source, result, done)
    fixed = _settle_fixed(run, result, done)
    state = _new_state(run, scope, result)
    # No new finding to post: the review that holds them is the earlier one.
    done.review_url = done.review_url or state.review_url
    state = replace(state, review_url=done.review_url)
    fail_on = run.options.fail_on
    status = f"reviewed {run.info.head_sha[:12]}: {headline(result)}"
    if scope.note:
        status += f" ({scope.note})"
    conclusion = _conclusion(state, result, fail_on)
    text = summary.render_summary(_view(run, status, state, result, done.notes, fixed, month))
    _write_check(
        run, checks.CheckReport.of(conclusion, headline(result), text, result.findings), done
    )
    view = _view(run, status, state, result, done.notes, fixed, month)
    _write_summary(run, summary.render_summary(view), done)
    outcome = _outcome(run, state, result, done, view, exit_code=int(state.blocking(fail_on)))
    # Said on stderr too (the summary has the links): what this commit settled.
    settled = tuple(
        f"fixed since the last review: {item.title} in {item.path}"
        + ("; its thread is resolved" if item.resolved else "; thread left open: someone replied")
        for item in fixed
    )
    return replace(outcome, diagnostics=(*outcome.diagnostics, *settled))


def _refresh(run: _Run, previous: ReviewedState) -> FlowOutcome:
    """No new commit since the reviewed SHA: no new review; refresh summary and check run."""
    done = _Publication(review_url=previous.review_url)
    status = f"no new changes since {previous.head_sha[:12]}; nothing was reviewed again"
    body = summary.refresh_status(run.existing.body if run.existing else "", status)
    where = run.options.spend_state
    # The month's total as it is now (other PRs' reviews since), read, adding nothing.
    month = None if where is None else month_record.read(run.repo, where, run.options.now)
    if month is not None:
        body = summary.refresh_month(body, month.line())
    fail_on = run.options.fail_on
    conclusion = "failure" if previous.blocking(fail_on) else "success"
    _write_check(run, checks.CheckReport.of(conclusion, status, body), done)
    _write_summary(run, body, done)
    view = SummaryView(status, previous, fail_on, cost_usd=0.0, notes=tuple(done.notes))
    outcome = _outcome(run, previous, None, done, view, exit_code=int(previous.blocking(fail_on)))
    return replace(outcome, job_summary=run.redact(summary.refresh_status(body, status)))


def _api_failed(run: _Run, result: ReviewResult) -> FlowOutcome:
    """Claude failed: no review is posted; the summary and check run say it did not run.
    Under on_api_error: neutral the gate passes (exit 0), else exit 3."""
    neutral = run.options.config.on_api_error == "neutral"
    done = _Publication()
    status = f"the review did not run: the Claude API failed ({result.api_error})"
    if neutral:
        status += "; on_api_error: neutral, so this check does not block"
    conclusion = "neutral" if neutral else "failure"
    _write_check(run, checks.CheckReport.of(conclusion, status, status), done)
    view = _view(run, status, run.previous, result, done.notes)
    _write_summary(run, summary.render_summary(view), done)
    error = None if neutral else ClaudeAPIError(str(result.api_error))
    outcome = _outcome(run, run.previous, result, done, view, exit_code=0)
    return replace(outcome, error=error, diagnostics=(*outcome.diagnostics, status))


# -- steps ------------------------------------------------------------------------------------
def _month_spend(run: _Run, result: ReviewResult, done: _Publication) -> MonthTotal | None:
    """Add this review's cost to the month's spend record, when there is state to keep it
    in (a run that had nothing to review spent nothing and is not counted); a store that
    fails or refuses never fails the review (`flows.month_record`)."""
    where = run.options.spend_state
    if where is None or result.cost_usd is None or result.nothing_to_review:
        return None
    key = f"pr{run.info.number}-{run.info.head_sha[:12]}-{secrets.token_hex(4)}"
    recorded = month_record.record(run.repo, where, run.options.now, key, result.cost_usd, "review")
    if recorded.note:
        done.notes.append(recorded.note)
    if recorded.command:
        done.commands.append(recorded.command)
    return recorded.total


def _new_state(run: _Run, scope: Scope, result: ReviewResult) -> ReviewedState:
    """The findings on the PR at this head: this run's, plus (incremental) the earlier
    findings on files that did not change since."""
    carried: tuple[tuple[str, str], ...] = ()
    if scope.paths is not None and run.previous is not None:
        carried = tuple(item for item in run.previous.findings if item[0] not in scope.paths)
    new = tuple((finding.path, finding.severity) for finding in result.findings)
    earlier = run.previous.review_url if run.previous else ""
    return ReviewedState(run.info.head_sha, carried + new, earlier, result.cost_usd)


def _conclusion(state: ReviewedState, result: ReviewResult, fail_on: str) -> str:
    if state.blocking(fail_on):
        return "failure"
    return "neutral" if result.nothing_to_review and not state.findings else "success"


def _post_review(run: _Run, source: ReviewSource, result: ReviewResult, done: _Publication) -> None:
    posted = publish_review.posted_fingerprints(run.pull, run.trusted)
    plan = publish_review.plan_review(result.findings, source, posted)
    if plan.already_posted:
        done.notes.append(f"{plan.already_posted} finding(s) were already posted and not repeated")
    if plan.empty:
        return
    event = "REQUEST_CHANGES" if result.blocking else "COMMENT"
    try:
        with github_errors(f"reading commit {run.info.head_sha[:12]}"):
            commit = run.repo.get_commit(run.info.head_sha)
        posted_review = publish_review.post_review(
            run.pull, commit, plan, event=event, headline=headline(result), redact=run.redact
        )
    except WriteForbidden as forbidden:
        done.notes.append(f"no review posted: {forbidden} (read-only token, e.g. a fork's PR)")
        return
    done.review_url = posted_review.html_url
    if posted_review.kept:
        done.notes.append(
            "GitHub refused the review (422) but kept its body; that review now holds every "
            "finding, rather than a second review"
        )
    elif posted_review.moved:
        count = len(posted_review.moved)
        done.notes.append(f"{count} inline comment(s) GitHub refused were moved to the review body")


def _settle_fixed(run: _Run, result: ReviewResult, done: _Publication) -> tuple[FixedFinding, ...]:
    """Resolve the threads of findings fixed since the last review; the account that wrote
    the summary is the product's."""
    user = getattr(run.existing, "user", None)
    reviewed = [r.path for r in result.files if r.status == "reviewed" and not r.budget_exhausted]
    found = [finding.fingerprint for finding in result.findings]
    login = str(getattr(user, "login", "") or "")
    report = settle_fixed(run.pull, run.repo.full_name, login, reviewed, found)
    if report.note:
        done.notes.append(report.note)
    return report.fixed


def _write_summary(run: _Run, body: str, done: _Publication) -> None:
    try:
        write(
            summary.WRITE_ACTION,
            lambda: summary.upsert_summary(run.pull, run.existing, run.redact(body), run.trusted),
        )
    except WriteForbidden as forbidden:
        done.notes.append(f"no summary comment: {forbidden}; see the job summary")


def _write_check(run: _Run, report: checks.CheckReport, done: _Publication) -> None:
    outcome = checks.publish_check_run(run.repo, run.info.head_sha, report, run.redact)
    done.commands += outcome.commands
    if outcome.note:
        # Every finding of this run is in the job summary (see `_outcome`).
        tail = "; the job summary lists every finding" if outcome.not_shown else ""
        done.notes.append(outcome.note + tail)


def _view(  # noqa: PLR0917 - one argument per part of the summary
    run: _Run,
    status: str,
    state: ReviewedState | None,
    result: ReviewResult,
    notes: list[str],
    fixed: tuple[FixedFinding, ...] = (),
    month: MonthTotal | None = None,
) -> SummaryView:
    return SummaryView(
        status=status,
        state=state,
        fail_on=run.options.fail_on,
        files_reviewed=tuple(review.path for review in result.files),
        skipped=tuple((s.path, s.reason) for s in result.skipped if not s.secret),
        withheld=tuple(
            (s.path, s.reason.removeprefix("not sent to the model: "))
            for s in result.skipped
            if s.secret
        ),
        cost_usd=result.cost_usd,
        duration_s=result.duration_s,
        model=result.model,
        notes=(*notes, *_fallback_notes(result)),
        fixed=fixed,
        dropped=tuple(
            (f"{d.finding.path}:{d.finding.line}", f"{d.finding.title} ({d.reason})")
            for d in result.dropped
        ),
        month=month.line() if month is not None else "",
    )


def _fallback_notes(result: ReviewResult) -> list[str]:
    """Which files the fallback model reviewed, and what each model's calls cost."""
    if not result.fallbacks:
        return []
    notes = [f"`{path}` {why}" for path, why in result.fallbacks]
    costs = ", ".join(
        f"{model} {calls} call(s) ${cost:.4f}" if cost is not None else f"{model} cost unknown"
        for model, calls, cost in result.usage.by_model
    )
    return [*notes, f"cost by model, each at its own prices: {costs}"]


def _outcome(
    run: _Run,
    state: ReviewedState | None,
    result: ReviewResult | None,
    done: _Publication,
    view: SummaryView,
    *,
    exit_code: int,
) -> FlowOutcome:
    highest = state.highest_severity if state else None
    cost = result.cost_usd if result is not None else view.cost_usd
    outputs = {
        "findings-count": str(len(state.findings) if state else 0),
        "highest-severity": highest or "none",
        "cost-usd": "" if cost is None else f"{cost:.4f}",
        "review-url": done.review_url,
        "findings-dropped": str(len(result.dropped) if result is not None else 0),
    }
    fallbacks = _fallback_notes(result) if result is not None else []
    job_summary = summary.render_summary(replace(view, notes=(*done.notes, *fallbacks)))
    if result is not None and result.findings:
        # The findings in full, under the summary (which already has the headline).
        details = format_markdown(result).replace("## ci-reviewer", "### Findings", 1)
        job_summary += "\n\n" + details
    return FlowOutcome(
        exit_code=exit_code,
        result=result,
        commands=tuple(done.commands),
        diagnostics=tuple(done.notes),
        outputs=outputs,
        job_summary=run.redact(job_summary),
        status=view.status,
    )
