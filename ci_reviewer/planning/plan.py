"""`plan`: for every step that runs ci-reviewer, which API fits it, whether its schedule meets
its job's SLA, what a month of it costs both ways, and what is wrong with it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ci_reviewer.batch.noise import noise_policy
from ci_reviewer.config import Config, JobConfig
from ci_reviewer.globs import PathFilter
from ci_reviewer.planning import verdicts
from ci_reviewer.planning.costs import CostBothWays, job_run_shape, price_run, review_run_shape
from ci_reviewer.planning.cron import (
    CronError,
    firings_between,
    longest_gap_together,
    parse_schedule,
)
from ci_reviewer.planning.first_run import first_run_findings
from ci_reviewer.planning.history import HISTORY_DAYS, Commit, Scope, files_per_run
from ci_reviewer.planning.sla import SlaTerms, cron_for_interval, largest_interval
from ci_reviewer.planning.verdicts import Finding
from ci_reviewer.planning.workflows import ReviewerStep, Workflow
from ci_reviewer.pricing import estimate_tokens


@dataclass(frozen=True)
class Repository:
    """What the plan reads from the checkout, gathered by the caller."""

    config: Config
    config_where: str
    workflows: Sequence[Workflow]
    commits: Sequence[Commit]
    tracked: Sequence[str]
    tokens_of: Callable[[str], int]
    now: datetime


@dataclass(frozen=True)
class PlanOptions:
    protected_branches: tuple[str, ...]
    poll_hours: float
    margin_hours: float


@dataclass(frozen=True)
class StepReport:
    step: ReviewerStep
    blocking: tuple[str, ...]
    api: str
    tool_calling: bool
    sla_hours: float | None = None
    interval_hours: int | None = None
    longest_gap_hours: float | None = None
    monthly: CostBothWays | None = None
    largest_run_usd: float | None = None
    budget_usd: float | None = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[StepReport, ...]
    findings: tuple[Finding, ...]

    @property
    def has_errors(self) -> bool:
        return any(finding.level == "error" for finding in self.findings)


@dataclass(frozen=True)
class JobSchedules:
    """Every schedule that submits one job, judged together: the job runs on all of them."""

    where: str  # the first step that runs the job on a schedule
    crons: tuple[str, ...]  # the valid ones, in the order the workflows give them
    longest_gap_hours: float | None


@dataclass
class _Collector:
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if finding not in self.findings:
            self.findings.append(finding)


def build_plan(repo: Repository, options: PlanOptions, early: Sequence[Finding] = ()) -> Plan:
    found = _Collector(list(early))
    steps = [step for workflow in repo.workflows for step in workflow.steps]
    together = schedules_by_job(steps)
    reports = [_report(step, repo, options, found, together) for step in steps]
    _config_checks(repo, options, reports, found)
    order = {"error": 0, "warning": 1, "info": 2}
    findings = sorted(found.findings, key=lambda finding: order[finding.level])
    return Plan(tuple(reports), tuple(findings))


def schedules_by_job(steps: Sequence[ReviewerStep]) -> dict[str, JobSchedules]:
    """Per job, the valid crons of every step that submits it, and their longest gap."""
    wheres: dict[str, str] = {}
    crons: dict[str, list[str]] = {}
    for step in steps:
        if not (step.submits_batches and step.job_name and step.triggers.schedules):
            continue
        wheres.setdefault(step.job_name, step.where)
        known = crons.setdefault(step.job_name, [])
        known.extend(c for c in step.triggers.schedules if _valid(c) and c not in known)
    return {
        name: JobSchedules(
            wheres[name],
            tuple(valid),
            longest_gap_together(tuple(valid)).total_seconds() / 3600 if valid else None,
        )
        for name, valid in crons.items()
    }


def _report(
    step: ReviewerStep,
    repo: Repository,
    options: PlanOptions,
    found: _Collector,
    together: dict[str, JobSchedules],
) -> StepReport:
    blocking = step.triggers.blocking_events(options.protected_branches)
    for finding in first_run_findings(step, repo.config.jobs.get(step.job_name or "")):
        found.add(finding)
    if step.command == "review":
        return StepReport(step, blocking, "sync", True, monthly=_review_month(repo))
    if step.command == "answer":
        found.add(verdicts.interactive_answer(step.where))
        return StepReport(step, blocking, "sync", True)
    if not step.submits_batches:
        return StepReport(step, blocking, "-", False)
    job = repo.config.jobs.get(step.job_name or "")
    if job is None:
        found.add(verdicts.unknown_job(step.where, step.job_name, sorted(repo.config.jobs)))
        return StepReport(step, blocking, "batch", False)
    if blocking and job.api == "batch":
        found.add(verdicts.batch_on_blocking(step.where, f"ci-reviewer {step.command}", blocking))
    name = str(step.job_name)
    shared = together.get(name)
    return _job_report(
        step, name, job, blocking, repo=repo, options=options, found=found, shared=shared
    )


def _job_report(
    step: ReviewerStep,
    name: str,
    job: JobConfig,
    blocking: tuple[str, ...],
    *,
    repo: Repository,
    options: PlanOptions,
    found: _Collector,
    shared: JobSchedules | None,
) -> StepReport:
    terms = SlaTerms(job.sla_hours, options.poll_hours, options.margin_hours)
    interval = largest_interval(terms)
    for cron in step.triggers.schedules:
        try:
            schedule = parse_schedule(cron)
        except CronError as error:
            found.add(verdicts.invalid_schedule(step.where, str(error)))
            continue
        if schedule.too_frequent:
            found.add(verdicts.schedule_too_frequent(step.where, cron))
    gap = shared.longest_gap_hours if shared and step.triggers.schedules else None
    # The real gap of all the job's schedules together, not the rounded step: any gap up to
    # what the SLA leaves will do.
    room = job.sla_hours - terms.fixed_hours
    if shared and gap is not None and gap > room and job.api == "batch" and interval is not None:
        found.add(verdicts.schedule_too_sparse(shared.where, name, shared.crons, gap, terms))
    monthly, largest = _job_month(job, step.triggers.schedules, interval, repo)
    if job.api == "sync" and step.triggers.schedules and not blocking:
        found.add(verdicts.sync_on_schedule(step.where, name, monthly.sync_usd, monthly.batch_usd))
    if job.max_cost_usd is not None and largest is not None and largest > job.max_cost_usd:
        found.add(verdicts.over_budget(step.where, name, largest, job.max_cost_usd))
    return StepReport(
        step,
        blocking,
        job.api,
        False,
        sla_hours=job.sla_hours,
        interval_hours=interval,
        longest_gap_hours=gap,
        monthly=monthly,
        largest_run_usd=largest,
        budget_usd=job.max_cost_usd,
    )


def _job_month(
    job: JobConfig, schedules: Sequence[str], interval: int | None, repo: Repository
) -> tuple[CostBothWays, float | None]:
    """A month of the job, replayed over history; and the dearest run, at the job's API."""
    crons = [cron for cron in schedules if _valid(cron)] or [cron_for_interval(interval or 24)]
    start = repo.now - timedelta(days=HISTORY_DAYS)
    # One firing before the window, so the first run in it knows when the one before ran.
    lead = max(parse_schedule(cron).longest_gap for cron in crons)
    firings = sorted({f for cron in crons for f in firings_between(cron, start - lead, repo.now)})
    scope = Scope(PathFilter.build(job.include, job.exclude, job.skip_generated), job.since)
    noise = noise_policy(job)  # what collection skips by name is not priced either
    runs = [
        [p for p in paths if noise.name_reason(p) is None]
        for paths in files_per_run(scope, repo.commits, firings, repo.tracked)
    ]
    model = job.model or repo.config.model
    instructions = estimate_tokens(job.instructions)
    total = CostBothWays(0, 0.0, 0.0)
    largest: float | None = None
    for firing, paths in zip(firings, runs, strict=True):
        if firing <= start or not paths:
            continue
        shape = job_run_shape([repo.tokens_of(p) for p in paths], instructions, job.max_tokens)
        cost = price_run(shape, model)
        total = total + cost
        run_usd = cost.batch_usd if job.api == "batch" else cost.sync_usd
        if run_usd is not None:
            largest = max(largest or 0.0, run_usd)
    return total, largest


def _review_month(repo: Repository) -> CostBothWays:
    """Each commit of the month reviewed once, synchronously; batch cannot run a tool loop."""
    review = repo.config.review
    paths = PathFilter.build(review.include, review.exclude, review.skip_generated)
    model = review.model or repo.config.model
    instructions = estimate_tokens(review.instructions)
    total = CostBothWays(0, 0.0, None)
    for commit in repo.commits:
        scoped = [p for p in commit.paths if paths.reason_to_skip(p) is None]
        if scoped:
            shape = review_run_shape([repo.tokens_of(p) for p in scoped], instructions)
            total = total + CostBothWays(shape.requests, price_run(shape, model).sync_usd, None)
    return total


def _config_checks(
    repo: Repository, options: PlanOptions, reports: Sequence[StepReport], found: _Collector
) -> None:
    scheduled = {
        r.step.job_name for r in reports if r.step.submits_batches and r.step.triggers.schedules
    }
    run = {r.step.job_name for r in reports if r.step.submits_batches}
    for name, job in sorted(repo.config.jobs.items()):
        terms = SlaTerms(job.sla_hours, options.poll_hours, options.margin_hours)
        interval = largest_interval(terms)
        where = f"{repo.config_where} (jobs.{name})"
        if job.api == "batch" and interval is None:
            found.add(verdicts.sla_unmeetable(where, name, terms))
        if name not in scheduled:
            cron = cron_for_interval(interval) if job.api == "batch" and interval else None
            found.add(verdicts.job_not_scheduled(where, name, cron, terms, run=name in run))


def _valid(cron: str) -> bool:
    try:
        parse_schedule(cron)
    except CronError:
        return False
    return True
