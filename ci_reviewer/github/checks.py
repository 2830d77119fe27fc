"""The `ci-reviewer` check run on the PR head, with the findings as annotations.

GitHub takes at most 50 annotations per request: the run is created with the first 50 and
the rest arrive in further edits (GitHub appends them). Without `checks: write` (403) the
findings become workflow-command annotations on the job instead, and the caller says so. Of
those GitHub shows only 10 of each level per step (and 50 per job): the most important are
printed, within those limits, and the note says how many were left out.

A write GitHub may have carried out without saying so (a 5xx, a dropped connection) is looked
for before it is sent again: the run by name and head SHA, an edit's annotations by the run's
count of them (a resent edit would append them twice).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_reviewer.github.actions import annotation
from ci_reviewer.github.client import send_again, write_once
from ci_reviewer.github.publish_review import WriteForbidden, write
from ci_reviewer.review.findings import Finding, severity_rank

if TYPE_CHECKING:
    from github.CheckRun import CheckRun
    from github.Repository import Repository

CHECK_NAME = "ci-reviewer"
ANNOTATIONS_PER_REQUEST = 50
# GitHub's limits: annotation message 64 KB, title 255 characters, output summary 65,535.
_MAX_MESSAGE, _MAX_TITLE, _MAX_SUMMARY = 60_000, 255, 65_000
_CHECK_LEVEL = {"critical": "failure", "high": "failure", "medium": "warning"}
_COMMAND_LEVEL = {"failure": "error", "warning": "warning", "notice": "notice"}
# What GitHub shows of a step's workflow-command annotations: "10 warning annotations, 10 error
# annotations, and 10 notice annotations per step; 50 annotations per job" (actions/toolkit,
# docs/problem-matchers.md, "Limitations"; community discussions #26680, #68471). The rest are
# dropped without a word, so the fallback prints no more than GitHub will show.
COMMAND_ANNOTATIONS_PER_LEVEL = 10
COMMAND_ANNOTATIONS_PER_JOB = 50
Redact = Callable[[str], str]


@dataclass(frozen=True)
class CheckAnnotation:
    path: str
    start_line: int
    end_line: int
    level: str  # notice | warning | failure
    title: str
    message: str
    severity: str = "info"
    confidence: float = 1.0

    @classmethod
    def of(cls, finding: Finding) -> CheckAnnotation:
        return cls(
            path=finding.path,
            start_line=finding.line,
            end_line=finding.end_line or finding.line,
            level=_CHECK_LEVEL.get(finding.severity, "notice"),
            title=f"{finding.severity}: {finding.title}"[:_MAX_TITLE],
            message=(finding.body or finding.title)[:_MAX_MESSAGE],
            severity=finding.severity,
            confidence=finding.confidence,
        )

    @property
    def importance(self) -> tuple[int, float]:
        return severity_rank(self.severity), self.confidence

    def payload(self, redact: Redact) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "annotation_level": self.level,
            "title": redact(self.title),
            "message": redact(self.message),
        }

    def command(self, redact: Redact) -> str:
        """The same annotation as a workflow command (`::error file=...::message`)."""
        return annotation(
            _COMMAND_LEVEL[self.level],
            redact(self.message),
            file=self.path,
            line=self.start_line,
            end_line=self.end_line,
            title=redact(self.title),
        )


@dataclass(frozen=True)
class CheckReport:
    """What the check run shows: conclusion success | failure | neutral, and its output."""

    conclusion: str
    title: str
    summary: str
    annotations: tuple[CheckAnnotation, ...] = ()

    @classmethod
    def of(
        cls, conclusion: str, title: str, summary: str, findings: Iterable[Finding] = ()
    ) -> CheckReport:
        notes = tuple(CheckAnnotation.of(finding) for finding in findings)
        return cls(conclusion, title, summary[:_MAX_SUMMARY], notes)


@dataclass(frozen=True)
class CheckOutcome:
    """Where the check run is, or (without permission) the annotations to print instead."""

    html_url: str | None
    commands: tuple[str, ...] = ()
    note: str | None = None
    not_shown: int = 0  # findings left out of `commands` (GitHub would not show them)


def publish_check_run(
    repo: Repository, head_sha: str, report: CheckReport, redact: Redact
) -> CheckOutcome:
    """The completed check run of `head_sha`, with every annotation, 50 per request.

    A head has one such run: a re-run (after a failed write, `--full`, no new commits) edits
    the run an earlier attempt made instead of adding a second. GitHub can only append
    annotations, so a run that already holds some keeps them and gets none again.
    """
    try:
        existing = _existing(repo, head_sha)
        if existing is not None and existing.output.annotations_count:
            _edit(repo, existing, report, (), redact)
            return CheckOutcome(existing.html_url)
        chunks = _chunks(report.annotations)
        if existing is None:
            run = _create(repo, head_sha, report, _output(report, chunks[0], redact))
        else:
            run = _edit(repo, existing, report, chunks[0], redact)
        for chunk in chunks[1:]:
            run = _append(repo, run, _output(report, chunk, redact))
    except WriteForbidden as forbidden:
        return _fallback(report.annotations, forbidden, redact)
    return CheckOutcome(run.html_url)


def _create(repo: Repository, head_sha: str, report: CheckReport, output: Any) -> CheckRun:
    action = f"creating the {CHECK_NAME} check run"

    def send() -> CheckRun:
        return repo.create_check_run(
            name=CHECK_NAME,
            head_sha=head_sha,
            status="completed",
            conclusion=report.conclusion,
            output=output,
        )

    return write(action, lambda: write_once(action, repo, send, lambda: _existing(repo, head_sha)))


def _edit(
    repo: Repository,
    run: CheckRun,
    report: CheckReport,
    notes: Sequence[CheckAnnotation],
    redact: Redact,
) -> CheckRun:
    """Set the conclusion and output; `notes` (on a run that holds none yet) are appended."""
    output = _output(report, notes, redact)
    if notes:
        return _append(repo, run, output, status="completed", conclusion=report.conclusion)
    action = f"updating the {CHECK_NAME} check run"

    def send() -> CheckRun:
        run.edit(status="completed", conclusion=report.conclusion, output=output)
        return run

    return write(action, lambda: write_once(action, run, send, send_again))


def _append(repo: Repository, run: CheckRun, output: dict[str, Any], **fields: Any) -> CheckRun:
    """An edit carrying annotations, which GitHub appends: resent only if its annotations
    are not on the run yet."""
    action = f"adding annotations to the {CHECK_NAME} check run"
    expected = run.output.annotations_count + len(output["annotations"])

    def send() -> CheckRun:
        run.edit(output=output, **fields)
        return run

    def landed() -> CheckRun | None:
        fresh = repo.get_check_run(run.id)
        return fresh if fresh.output.annotations_count >= expected else None

    return write(action, lambda: write_once(action, run, send, landed))


def _existing(repo: Repository, head_sha: str) -> CheckRun | None:
    from ci_reviewer.github.client import github_errors

    with github_errors(f"listing the check runs of {head_sha[:12]}"):
        runs = repo.get_commit(head_sha).get_check_runs(check_name=CHECK_NAME)
        return next(iter(runs), None)


def _chunks(notes: Sequence[CheckAnnotation]) -> list[Sequence[CheckAnnotation]]:
    size = ANNOTATIONS_PER_REQUEST
    return [notes[start : start + size] for start in range(0, len(notes), size)] or [()]


def _output(
    report: CheckReport, notes: Sequence[CheckAnnotation], redact: Redact
) -> dict[str, Any]:
    return {
        "title": redact(report.title)[:_MAX_TITLE],
        "summary": redact(report.summary),
        "annotations": [note.payload(redact) for note in notes],
    }


def _fallback(
    notes: Sequence[CheckAnnotation], forbidden: WriteForbidden, redact: Redact
) -> CheckOutcome:
    shown = shown_as_commands(notes)
    note = (
        f"no check run: {forbidden} (the token lacks `checks: write`, e.g. on a fork's pull "
        f"request); {len(shown)} finding(s) written as workflow-command annotations instead"
    )
    left_out = len(notes) - len(shown)
    if left_out:
        note += (
            f"; {left_out} more not written there (GitHub shows at most "
            f"{COMMAND_ANNOTATIONS_PER_LEVEL} error, {COMMAND_ANNOTATIONS_PER_LEVEL} warning "
            f"and {COMMAND_ANNOTATIONS_PER_LEVEL} notice annotations per step)"
        )
    return CheckOutcome(None, tuple(item.command(redact) for item in shown), note, left_out)


def shown_as_commands(notes: Sequence[CheckAnnotation]) -> list[CheckAnnotation]:
    """The annotations GitHub will show as workflow commands of one step, most important
    first (severity, then confidence): at most 10 per level and 50 in all."""
    ranked = sorted(notes, key=lambda note: note.importance, reverse=True)
    shown: list[CheckAnnotation] = []
    per_level: Counter[str] = Counter()
    for note in ranked:
        if per_level[note.level] < COMMAND_ANNOTATIONS_PER_LEVEL:
            per_level[note.level] += 1
            shown.append(note)
    return shown[:COMMAND_ANNOTATIONS_PER_JOB]
