"""The checks `plan` runs, each with an explanation a team lead can act on.

The decision they enforce (DESIGN.md 1): synchronous for work someone waits on, batch for
work that can wait up to 24 hours, never batch for multi-turn tool calling, and don't batch
everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ci_reviewer.config import BATCH_TOOLS_REASON
from ci_reviewer.errors import ConfigError
from ci_reviewer.planning.sla import SYNC_ALTERNATIVE, SlaTerms, hours, unmeetable_reason

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str
    where: str
    message: str
    advice: str

    def as_json(self) -> dict[str, str]:
        return {
            "level": self.level,
            "code": self.code,
            "where": self.where,
            "message": self.message,
            "advice": self.advice,
        }


BATCHING_EVERYTHING = (
    "Batching everything is an anti-pattern: a batch may take up to 24 h, and a pre-merge "
    "check that waits that long blocks developers, which costs far more than the 50% saved."
)


def batch_on_blocking(where: str, command: str, events: tuple[str, ...]) -> Finding:
    return Finding(
        "error",
        "batch-on-blocking",
        where,
        f"`{command}` runs on {', '.join(events)}, where someone waits for the result.",
        f"{BATCHING_EVERYTHING} Run `ci-reviewer review` (synchronous) on these events and "
        "move the batch step to a workflow triggered by `schedule:`.",
    )


def interactive_answer(where: str) -> Finding:
    return Finding(
        "info",
        "interactive-answer",
        where,
        "`ci-reviewer answer` is interactive work: someone who mentioned the reviewer waits "
        "for the reply in the thread, and the answer is a multi-turn tool-calling "
        "conversation, so it runs on the synchronous Messages API and never on the Batches "
        "API.",
        "Nothing to change; its cost is bounded by the review's budgets (max_turns, "
        "max_tool_calls, max_cost_usd) per answer.",
    )


def tool_loop_in_batch(where: str, what: str) -> Finding:
    return Finding(
        "error",
        "tool-loop-in-batch",
        where,
        f"{what} would run multi-turn tool calling on the Batches API.",
        f"Refused: {BATCH_TOOLS_REASON}. Keep the review on `api: sync` "
        "(`ci-reviewer review` on pull_request) and give batch jobs no tools.",
    )


def schedule_too_sparse(
    where: str, job: str, crons: tuple[str, ...], gap_hours: float, terms: SlaTerms
) -> Finding:
    """The longest gap between the job's submissions, all its schedules together, plus what
    no schedule shortens (batch processing, polling, margin) exceeds its SLA."""
    room = terms.sla_hours - terms.fixed_hours
    worst = gap_hours + terms.processing_hours + terms.poll_hours
    listed = ", ".join(f"`{cron}`" for cron in crons)
    what = f"{listed} leaves" if len(crons) == 1 else f"its schedules {listed} together leave"
    return Finding(
        "error",
        "schedule-too-sparse",
        where,
        f"job {job!r}: {what} gaps of up to {hours(gap_hours)} between runs, so a change can "
        f"wait {hours(worst)} for its results ({hours(gap_hours)} to the next submission, up "
        f"to {hours(terms.processing_hours)} of batch processing, {hours(terms.poll_hours)} "
        f"to the next poll); an SLA of {hours(terms.sla_hours)} allows at most "
        f"{hours(room)} between submissions ({hours(terms.margin_hours)} is kept as margin).",
        f"Change the schedule (`ci-reviewer sla --hours {terms.sla_hours:g}` prints one), or "
        "raise the job's sla_hours to what the team really needs.",
    )


def sla_unmeetable(where: str, job: str, terms: SlaTerms) -> Finding:
    return Finding(
        "error",
        "sla-unmeetable",
        where,
        f"job {job!r}: {unmeetable_reason(terms)}.",
        f"{SYNC_ALTERNATIVE[0].upper()}{SYNC_ALTERNATIVE[1:]}.",
    )


def sync_on_schedule(
    where: str, job: str, sync_usd: float | None, batch_usd: float | None
) -> Finding:
    saving = ""
    if sync_usd is not None and batch_usd is not None:
        saving = f" (about ${sync_usd:.2f}/month now, ${batch_usd:.2f}/month as batch)"
    return Finding(
        "warning",
        "sync-on-schedule",
        where,
        f"job {job!r} runs on a schedule with api: sync: nobody waits on it, yet it pays full "
        f"price, twice the batch price{saving}.",
        "Set `api: batch` on the job (the default); keep `sync` only if results are needed "
        "within the batch SLA minimum.",
    )


def invalid_schedule(where: str, reason: str) -> Finding:
    return Finding(
        "error", "invalid-schedule", where, reason, "Write a 5-field UTC cron expression."
    )


def schedule_too_frequent(where: str, cron: str) -> Finding:
    return Finding(
        "warning",
        "schedule-too-frequent",
        where,
        f"`{cron}` fires more often than every 5 minutes; GitHub runs scheduled workflows "
        "at most every 5 minutes and drops the rest.",
        "Use a step of at least 5 minutes; for batch jobs, `ci-reviewer sla` gives the cadence.",
    )


def over_budget(where: str, job: str, per_run_usd: float, budget_usd: float) -> Finding:
    return Finding(
        "warning",
        "over-budget",
        where,
        f"job {job!r}: a typical run is estimated at ${per_run_usd:.2f}, above its "
        f"max_cost_usd of ${budget_usd:.2f}; such a submission would be refused.",
        f"Raise `jobs.{job}.max_cost_usd`, narrow `include`, or run it more often so each "
        "run sends fewer files.",
    )


def unknown_job(where: str, job: str | None, known: list[str]) -> Finding:
    what = f"job {job!r} is not in the config" if job else "the step names no --job"
    return Finding(
        "error",
        "unknown-job",
        where,
        f"{what} (jobs: {', '.join(known) or 'none'}).",
        "Add the job under `jobs:` in the config, or pass one of the configured names.",
    )


def unreadable_workflow(error: ConfigError) -> Finding:
    """A workflow file plan cannot read; the other files are planned without it."""
    where = str(error.location) if error.location else "?"
    reason = error.message.removeprefix(f"{where}: ")
    advice = f"{error.hint[0].upper()}{error.hint[1:]}." if error.hint else "Fix the file."
    return Finding(
        "error",
        "unreadable-workflow",
        where,
        f"{reason}; this workflow is left out of the plan.",
        f"{advice} GitHub does not run a workflow file it cannot read either.",
    )


def job_not_scheduled(
    where: str, job: str, cron: str | None, terms: SlaTerms, *, run: bool
) -> Finding:
    """A configured job no schedule submits; with the cron its SLA needs, when batch can
    meet it (the cadence `ci-reviewer sla` computes)."""
    what = (
        "is run by a workflow, but not on a schedule"
        if run
        else "is configured but no workflow runs it"
    )
    advice = "Add a scheduled workflow (`ci-reviewer init` writes examples) or remove the job."
    if cron is not None:
        advice = (
            f"Run it on `schedule: - cron: '{cron}'` (what an SLA of {hours(terms.sla_hours)} "
            f"needs: `ci-reviewer sla --hours {terms.sla_hours:g}`), in a workflow with "
            f"`ci-reviewer batch run --job {job}` (`ci-reviewer init` writes an example), or "
            "remove the job."
        )
    return Finding(
        "info",
        "job-not-scheduled",
        where,
        f"job {job!r} {what}.",
        advice,
    )


def shallow_history(where: str) -> Finding:
    return Finding(
        "warning",
        "shallow-history",
        where,
        "this checkout is shallow: the costs are replayed over the commits it has, which may "
        "be fewer than the last 30 days.",
        "Run plan in a full clone (actions/checkout with `fetch-depth: 0`, or "
        "`git fetch --unshallow`).",
    )
