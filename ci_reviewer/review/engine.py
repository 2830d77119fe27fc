"""`run_review`: every reviewable file in its own conversation, `review.concurrency` at once,
sharing one client, one usage meter (and dollar budget) and one cached prompt prefix.

The first file's first call goes alone: once it has written the shared prefix (system, tools,
PR overview) to the prompt cache, the other conversations start and read it, instead of all
writing it at the same time. It streams, so that "once" is when its answer begins (the end of
its prefill, `agent.send`), not when it ends: that costs one time-to-first-token once per run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anthropic

from ci_reviewer.claude import UsageMeter, UsageReport
from ci_reviewer.config import ReviewConfig
from ci_reviewer.errors import ClaudeAPIError, UnknownModelError
from ci_reviewer.review import prompts
from ci_reviewer.review.agent import (
    Budgets,
    FileReview,
    ReviewContext,
    first_request,
    review_file,
)
from ci_reviewer.review.diff import ChangedFile, ReviewSource, SkippedFile
from ci_reviewer.review.fallback import review_with_fallback
from ci_reviewer.review.findings import (
    SEVERITIES,
    DroppedFinding,
    Finding,
    is_blocking,
    severity_rank,
)
from ci_reviewer.review.grounding import ground
from ci_reviewer.review.head_sandbox import HeadSandbox
from ci_reviewer.review.sandbox import Refusal, Sandbox
from ci_reviewer.review.suggestions import suggestion_note
from ci_reviewer.review.tools import RepoTools
from ci_reviewer.secret_policy import SecretPolicy


@dataclass(frozen=True)
class ReviewResult:
    """The outcome of a review run; `to_json()` is the `--format json` document."""

    model: str
    base_sha: str
    head_sha: str
    fail_on: str
    files: tuple[FileReview, ...]
    skipped: tuple[SkippedFile, ...]
    usage: UsageReport
    duration_s: float
    api_error: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding once: a conversation may report on another file than its own, so
        two can return the same finding (same fingerprint); the most severe report is kept,
        so it is counted, gated on and published once."""
        every = [finding for review in self.files for finding in review.findings]
        every.sort(key=lambda f: (-severity_rank(f.severity), f.path, f.line))
        unique: dict[str, Finding] = {}
        for finding in every:
            unique.setdefault(finding.fingerprint, finding)
        return tuple(unique.values())

    @property
    def dropped(self) -> tuple[DroppedFinding, ...]:
        """The findings not published because the code they quote is not in the file."""
        every = [dropped for review in self.files for dropped in review.dropped]
        unique = {(d.finding.path, d.finding.line, d.finding.title): d for d in every}
        return tuple(unique.values())

    @property
    def fallbacks(self) -> tuple[tuple[str, str], ...]:
        """(path, why) of the files reviewed again on the fallback model."""
        return tuple((r.path, r.fallback) for r in self.files if r.fallback is not None)

    @property
    def highest_severity(self) -> str | None:
        ranks = [severity_rank(finding.severity) for finding in self.findings]
        return SEVERITIES[max(ranks)] if ranks else None

    @property
    def blocking(self) -> bool:
        return any(is_blocking(finding.severity, self.fail_on) for finding in self.findings)

    @property
    def cost_usd(self) -> float | None:
        return self.usage.cost_usd

    @property
    def budgets_exhausted(self) -> tuple[str, ...]:
        hit = {review.budget_exhausted for review in self.files if review.budget_exhausted}
        return tuple(sorted(hit))

    @property
    def nothing_to_review(self) -> bool:
        return not self.files

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_sha": self.base_sha,
            "head_sha": self.head_sha,
            "fail_on": self.fail_on,
            "blocking": self.blocking,
            "highest_severity": self.highest_severity,
            "findings": [finding.to_json() for finding in self.findings],
            "dropped_findings": [dropped.to_json() for dropped in self.dropped],
            "files": [_file_json(review) for review in self.files],
            "skipped": [
                {"path": s.path, "reason": s.reason, "secret": s.secret} for s in self.skipped
            ],
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
            "duration_s": round(self.duration_s, 3),
            "budgets_exhausted": list(self.budgets_exhausted),
            "api_error": self.api_error,
            "warnings": list(self.warnings),
        }


def _file_json(review: FileReview) -> dict[str, Any]:
    return {
        "path": review.path,
        "status": review.status,
        "reason": review.reason,
        "summary": review.summary,
        "findings": len(review.findings),
        "dropped_findings": len(review.dropped),
        "turns": review.turns,
        "tool_calls": review.tool_calls,
        "bytes_fetched": review.bytes_fetched,
        "stop_reasons": list(review.stop_reasons),
        "budget_exhausted": review.budget_exhausted,
        "fallback": review.fallback,
    }


def make_context(
    client: anthropic.Anthropic | None,
    source: ReviewSource,
    config: ReviewConfig,
    *,
    model: str,
    workdir: Path,
    tool_pool: ThreadPoolExecutor,
    max_turns: int | None = None,
    structured_output: bool = True,
    prompt_caching: bool = True,
    policy: SecretPolicy | None = None,
) -> ReviewContext:
    """What every conversation of this run shares."""
    budgets = Budgets(
        max_turns=max_turns or config.max_turns,
        max_tool_calls=config.max_tool_calls,
        max_bytes_fetched=config.max_bytes_fetched,
        max_tokens=config.max_tokens,
    )
    return ReviewContext(
        client=client,
        model=model,
        tools=RepoTools(_sandbox(source, workdir, policy), source.base_sha),
        meter=UsageMeter(model, config.max_cost_usd),
        budgets=budgets,
        system=prompts.system_blocks(config.instructions),
        overview=prompts.overview(source),
        tool_pool=tool_pool,
        structured_output=structured_output,
        prompt_caching=prompt_caching,
        effort=config.effort,
        thinking=config.thinking,
        fallback_model=config.fallback_model,
    )


def _sandbox(source: ReviewSource, workdir: Path, policy: SecretPolicy | None) -> Sandbox:
    """The tools read the head: the checkout when it holds it, else its `head_files`."""
    if source.head_files is not None:
        return HeadSandbox(workdir, source.head_files, policy)
    return Sandbox(workdir, policy)


def run_review(
    client: anthropic.Anthropic,
    source: ReviewSource,
    config: ReviewConfig,
    *,
    model: str,
    workdir: Path,
    fail_on: str | None = None,
    max_turns: int | None = None,
    structured_output: bool = True,
    prompt_caching: bool = True,
    policy: SecretPolicy | None = None,
) -> ReviewResult:
    """Review every file of `source` (already filtered, the secret policy's files among the
    skipped) and gather the result; the tools refuse what `policy` withholds."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(4, 2 * config.concurrency)) as tool_pool:
        context = make_context(
            client,
            source,
            config,
            model=model,
            workdir=workdir,
            tool_pool=tool_pool,
            max_turns=max_turns,
            structured_output=structured_output,
            prompt_caching=prompt_caching,
            policy=policy,
        )
        reviews, api_error = _review_all(context, source.files, config.concurrency)
        reviews = _grounded(reviews, source, context.tools.sandbox)
    return ReviewResult(
        model=model,
        base_sha=source.base_sha,
        head_sha=source.head_sha,
        fail_on=fail_on or config.fail_on,
        files=tuple(reviews),
        skipped=source.skipped,
        usage=context.meter.report(),
        duration_s=time.monotonic() - started,
        api_error=api_error,
        warnings=_warnings(context, config),
    )


def _review_all(
    context: ReviewContext, files: tuple[ChangedFile, ...], concurrency: int
) -> tuple[list[FileReview], str | None]:
    errors: list[str] = []
    if concurrency <= 1:
        context.warmed.set()  # nobody waits: no call needs to stream

    def one(index: int, changed: ChangedFile) -> FileReview:
        if index > 0 and concurrency > 1:
            context.warmed.wait()
        try:
            return review_with_fallback(context, changed, review_file)
        except UnknownModelError:
            context.abort.set()  # every other file would ask for the same model
            raise
        except ClaudeAPIError as error:
            errors.append(str(error))
            context.abort.set()
            return FileReview(changed.path, "not-reviewed", reason=f"API error: {error.message}")
        finally:
            context.warmed.set()  # never leave the others waiting on a failed first call

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(one, index, changed) for index, changed in enumerate(files)]
        # One wake-up of this thread when every file is done, not one per file (pool.map).
        wait(futures)
    return [future.result() for future in futures], (errors[0] if errors else None)


def _grounded(
    reviews: list[FileReview], source: ReviewSource, sandbox: Sandbox
) -> list[FileReview]:
    """Each file's findings grounded in the code they quote (the others dropped), each
    suggestion checked for whether it applies as a ```suggestion block."""
    head: dict[str, Sequence[str] | None] = {}

    def lines(path: str) -> Sequence[str] | None:
        if path not in head:
            found = sandbox.read_text(path, 2_000_000)
            head[path] = None if isinstance(found, Refusal) else found.text.splitlines()
        return head[path]

    out: list[FileReview] = []
    for review in reviews:
        grounded = ground(review.findings, source.file, lines)
        kept = tuple(
            replace(f, suggestion_note=suggestion_note(f, source.file(f.path), lines(f.path)))
            for f in grounded.kept
        )
        out.append(replace(review, findings=kept, dropped=grounded.dropped))
    return out


def _warnings(context: ReviewContext, config: ReviewConfig) -> tuple[str, ...]:
    if context.meter.price_known:
        return ()
    warning = f"cost unknown: model {context.model!r} is not in the price table"
    if config.max_cost_usd is not None:
        warning += "; max_cost_usd cannot be enforced"
    return (warning,)


def nothing_to_review(source: ReviewSource, *, model: str, fail_on: str) -> ReviewResult:
    """The result of a run with no file in scope: no request is sent."""
    return ReviewResult(
        model=model,
        base_sha=source.base_sha,
        head_sha=source.head_sha,
        fail_on=fail_on,
        files=(),
        skipped=source.skipped,
        usage=UsageMeter(model).report(),
        duration_s=0.0,
    )


def first_requests(
    source: ReviewSource,
    config: ReviewConfig,
    *,
    model: str,
    workdir: Path,
    policy: SecretPolicy | None = None,
) -> list[dict[str, Any]]:
    """The first turn of every file's conversation, as it would be sent (for --dry-run)."""
    with ThreadPoolExecutor(max_workers=1) as unused_pool:
        context = make_context(
            None,
            source,
            config,
            model=model,
            workdir=workdir,
            tool_pool=unused_pool,
            policy=policy,
        )
        return [first_request(context, changed) for changed in source.files]
