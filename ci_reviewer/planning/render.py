"""Text and JSON for the planning commands; formatting only, no decisions."""

from __future__ import annotations

import json
from typing import Any

from ci_reviewer.planning.plan import Plan, StepReport
from ci_reviewer.planning.sla import SubmissionPlan, hours


def sla_text(plan: SubmissionPlan) -> str:
    """The cadence for humans; the cron expression appears verbatim on its own line."""
    parts = plan.breakdown
    lines = [
        f"SLA: {hours(plan.terms.sla_hours)}",
        f"submit every: {hours(plan.interval_hours)}",
        f"cron (UTC): {plan.cron}",
        f"worst case: {hours(plan.worst_case_hours)}",
        "breakdown:",
        f"  wait for the next submission  {hours(parts['wait_for_submission_hours'])}",
        f"  batch processing (at most)    {hours(parts['batch_processing_hours'])}",
        f"  wait for the next poll        {hours(parts['wait_for_poll_hours'])}",
        f"  margin kept in reserve        {hours(parts['margin_hours'])}",
    ]
    return "\n".join(lines)


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False)


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "steps": [_step_json(report) for report in plan.steps],
        "findings": [finding.as_json() for finding in plan.findings],
        "errors": sum(1 for f in plan.findings if f.level == "error"),
    }


def _step_json(report: StepReport) -> dict[str, Any]:
    step = report.step
    monthly = report.monthly
    return {
        "where": step.where,
        "called_from": step.called_from or None,
        "workflow": step.workflow,
        "workflow_job": step.job_id,
        "step": step.label,
        "via": step.via,
        "command": step.command,
        "job": step.job_name,
        "triggers": list(step.triggers.events),
        "schedules": list(step.triggers.schedules),
        "blocking_events": list(report.blocking),
        "someone_waits": bool(report.blocking),
        "api": report.api,
        "tool_calling": report.tool_calling,
        "sla_hours": report.sla_hours,
        "required_interval_hours": report.interval_hours,
        "longest_gap_hours": report.longest_gap_hours,
        "monthly_requests": monthly.requests if monthly else None,
        "monthly_sync_usd": monthly.sync_usd if monthly else None,
        "monthly_batch_usd": monthly.batch_usd if monthly else None,
        "largest_run_usd": report.largest_run_usd,
        "budget_usd": report.budget_usd,
    }


_COLUMNS = (
    "step",
    "command",
    "triggers",
    "waits",
    "api",
    "SLA/needs/gap",
    "sync/mo",
    "batch/mo",
    "budget",
)


def plan_text(plan: Plan) -> str:
    rows = [_COLUMNS, *(_step_row(report) for report in plan.steps)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    if not plan.steps:
        lines.append("(no workflow step runs ci-reviewer)")
    lines.append("")
    for finding in plan.findings:
        lines.append(f"{finding.level}: {finding.where}: [{finding.code}] {finding.message}")
        lines.append(f"  fix: {finding.advice}")
    errors = sum(1 for f in plan.findings if f.level == "error")
    lines.append(f"{len(plan.steps)} step(s), {len(plan.findings)} finding(s), {errors} error(s)")
    return "\n".join(lines)


def _step_row(report: StepReport) -> tuple[str, ...]:
    step = report.step
    sla = "-"
    if report.sla_hours is not None:
        need = hours(report.interval_hours) if report.interval_hours else "unmeetable"
        gap = hours(round(report.longest_gap_hours, 2)) if report.longest_gap_hours else "-"
        sla = f"{hours(report.sla_hours)}/{need}/{gap}"
    monthly = report.monthly
    command = step.command + (f" --job {step.job_name}" if step.job_name else "")
    budget = _usd(report.budget_usd) if report.budget_usd else "-"
    if report.budget_usd and report.largest_run_usd is not None:
        budget += f" (largest run {_usd(report.largest_run_usd)})"
    return (
        f"{step.where} (called by {step.called_from})" if step.called_from else step.where,
        command or "?",
        ",".join(step.triggers.events) or "-",
        ",".join(report.blocking) or "no",
        report.api + ("+tools" if report.tool_calling else ""),
        sla,
        _usd(monthly.sync_usd) if monthly else "-",
        _usd(monthly.batch_usd) if monthly else "-",
        budget,
    )
