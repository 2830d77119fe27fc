"""The batch commands as plain functions: run (collect, then submit), status and cancel.
`submit` and `collect` live in their own modules; each returns a record, prints nothing.

A job with `api: sync` runs on a `SyncBatchesAPI`: its submission gets its answers at once,
held only by this process, so `run` (and `submit_now`) collect them before returning; the
published account then says the work ran at full price.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.results import CollectResult, collect
from ci_reviewer.batch.sla import BatchAge, batch_age, recorded_age
from ci_reviewer.batch.submit import SubmitResult, submit

__all__ = [
    "RunResult",
    "StatusResult",
    "cancel",
    "collect",
    "run",
    "status",
    "submit",
    "submit_now",
]


@dataclass(frozen=True)
class RunResult:
    collected: CollectResult
    submitted: SubmitResult


@dataclass(frozen=True)
class StatusResult:
    job: str
    state: str
    last_commit: str | None
    pending: tuple[BatchAge, ...]
    intents_without_batch: int
    retry: int


def run(job_run: JobRun) -> RunResult:
    """What a scheduled workflow calls every time: collect what ended, then submit (and for
    a synchronous job, collect what the submission was answered in the same run)."""
    collected = collect(job_run)
    if not synchronous(job_run):
        return RunResult(collected, submit(job_run))
    now = submit_now(job_run)
    return RunResult(_merged(collected, now.collected), now.submitted)


def synchronous(job_run: JobRun) -> bool:
    """Whether the job's requests go to the synchronous Messages API."""
    return job_run.api.synchronous


def submit_now(job_run: JobRun) -> RunResult:
    """Submit a synchronous job's work and collect its answers before they are lost with
    this process (`submit` checks the budget at the full price the job pays)."""
    submitted = submit(job_run)
    return RunResult(collect(job_run), submitted)


def _merged(first: CollectResult, second: CollectResult) -> CollectResult:
    """One record for a run's two collections (leftovers, then this run's answers). The
    retries of the first were sent again in between, so only the second's still wait."""
    counts = dict(first.counts)
    for kind, count in second.counts.items():
        counts[kind] = counts.get(kind, 0) + count
    return replace(
        second,
        collected=(*first.collected, *second.collected),
        counts=counts,
        failures=(*first.failures, *second.failures),
        warnings=(*first.warnings, *second.warnings),
        published=second.published or first.published,
        adopted=(*first.adopted, *second.adopted),
        findings=(*first.findings, *second.findings),
        withheld=_summed(first.withheld, second.withheld),
        noise=_summed(first.noise, second.noise),
        fallbacks=tuple(sorted({*first.fallbacks, *second.fallbacks})),
    )


def _summed(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    total = dict(first)
    for reason, count in second.items():
        total[reason] = total.get(reason, 0) + count
    return total


def status(job_run: JobRun, *, refresh: bool = True) -> StatusResult:
    """Pending batches with their counts and age against the SLA; changes nothing. With
    `refresh` off (no API key) each batch is shown as the state recorded it: its request
    count and its age since creation, its status "not refreshed"."""
    document = job_run.store.load(job_run.name).document
    now, sla = job_run.now(), job_run.job.sla_hours
    ages = tuple(
        batch_age(job_run.api.retrieve(s.batch_id), sla, now)
        if refresh
        else recorded_age(s, sla, now)
        for s in document.submissions
        if s.batch_id is not None
    )
    return StatusResult(
        job=job_run.name,
        state=job_run.store.describe(job_run.name),
        last_commit=document.last_commit,
        pending=ages,
        intents_without_batch=sum(1 for s in document.submissions if s.batch_id is None),
        retry=len(document.retry),
    )


def cancel(job_run: JobRun) -> tuple[str, ...]:
    """Ask the API to cancel every pending batch of the job. The state keeps them: the next
    collect finds them ended and requeues their canceled requests like any other."""
    document = job_run.store.load(job_run.name).document
    canceled = []
    for submission in document.submissions:
        if submission.batch_id is None:
            continue
        info = job_run.api.retrieve(submission.batch_id)
        if info.status == "in_progress":
            job_run.api.cancel(submission.batch_id)
            canceled.append(submission.batch_id)
    return tuple(canceled)
