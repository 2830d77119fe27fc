"""Text and JSON for the planning commands; formatting only, no decisions."""

from __future__ import annotations

import json
from typing import Any

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
