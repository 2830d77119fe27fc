"""The batch commands' records as text, Markdown or JSON (pure functions; the CLI prints)."""

from __future__ import annotations

import json
from typing import Any

from ci_reviewer.batch.estimate import BatchEstimate, RequestCost
from ci_reviewer.batch.pipeline import StatusResult
from ci_reviewer.batch.results import CollectResult
from ci_reviewer.batch.sla import BatchAge
from ci_reviewer.batch.submit import SubmitResult
from ci_reviewer.sarif import to_sarif


def _usd(value: float | None) -> str:
    return "unknown (model not in the price table)" if value is None else f"${value:.4f}"


def estimate_json(estimate: BatchEstimate) -> dict[str, Any]:
    return {
        "requests": estimate.requests,
        "bytes": estimate.bytes,
        "input_tokens": estimate.input_tokens,
        "output_tokens": estimate.output_tokens,
        "api": estimate.api,
        "usd": estimate.usd,
        "sync_usd": estimate.sync_usd,
        "batch_usd": estimate.batch_usd,
        "cache_write_tokens": estimate.cache_write_tokens,
        "cache_read_tokens": estimate.cache_read_tokens,
        "uncached_usd": estimate.uncached_usd,
    }


def age_json(age: BatchAge) -> dict[str, Any]:
    return {
        "batch_id": age.batch_id,
        "status": age.status,
        "counts": age.counts,
        "age_hours": round(age.age_hours, 2),
        "sla_hours": age.sla_hours,
        "sla_remaining_hours": round(age.remaining_hours, 2),
        "at_risk": age.at_risk,
        "overdue": age.overdue,
    }


def age_line(age: BatchAge) -> str:
    total = sum(age.counts.values())
    state = "OVERDUE" if age.overdue else "at risk" if age.at_risk else "on time"
    return (
        f"  {age.batch_id}  {age.status}  {total} request(s)  age {age.age_hours:.1f} h  "
        f"SLA {age.sla_hours:g} h, {age.remaining_hours:.1f} h left ({state})"
    )


def submit_json(result: SubmitResult) -> dict[str, Any]:
    return {
        "job": result.job,
        "commit": result.commit,
        "dry_run": result.dry_run,
        "considered": result.considered,
        "skipped": result.skipped,
        "skipped_bytes": {r: result.skipped_bytes.get(r, 0) for r in result.skipped},
        "estimate": estimate_json(result.estimate),
        "largest_requests": [request_json(r) for r in result.estimate.largest],
        "batches": [
            {"batch_id": b.batch_id, "requests": b.requests, "bytes": b.bytes}
            for b in result.batches
        ],
        "adopted": list(result.adopted),
        "requeued": result.requeued,
        "notes": list(result.notes),
    }


def request_json(cost: RequestCost) -> dict[str, Any]:
    return {
        "custom_id": cost.custom_id,
        "path": cost.path,
        "bytes": cost.bytes,
        "input_tokens": cost.input_tokens,
        "output_tokens": cost.output_tokens,
        "usd": cost.usd,
    }


def _alternative(e: BatchEstimate) -> str:
    if e.api == "sync":
        return f"{_usd(e.batch_usd)} on the Message Batches API"
    return f"{_usd(e.sync_usd)} if sent synchronously"


def submit_text(result: SubmitResult) -> str:
    e = result.estimate
    verb = "would submit" if result.dry_run else "submitted"
    lines = [
        f"{result.job}: {verb} {e.requests} request(s), {e.bytes} bytes, ~{e.input_tokens} "
        f"input tokens; estimated {_usd(e.usd)} at {e.price_label} ({_alternative(e)})",
        f"  files considered: {result.considered} at {result.commit[:12]}",
    ]
    if e.cache_write_tokens or e.cache_read_tokens:
        lines.append(
            f"  prompt cache: ~{e.cache_write_tokens} tokens written (1 h), "
            f"~{e.cache_read_tokens} read; {_usd(e.uncached_usd)} with no cache hit"
        )
    lines += [
        f"  skipped {count}: {reason} ({result.skipped_bytes.get(reason, 0)} bytes)"
        for reason, count in sorted(result.skipped.items())
    ]
    if e.largest:
        lines.append(f"  largest requests ({len(e.largest)} of {e.requests}):")
        lines += [
            f"    {cost.path}  {cost.custom_id}  {cost.bytes} bytes, ~{cost.input_tokens} "
            f"input tokens, {_usd(cost.usd)}"
            for cost in e.largest
        ]
    lines += [f"  batch {b.batch_id}: {b.requests} request(s)" for b in result.batches]
    lines += [f"  recovered batch {batch_id} after a crash" for batch_id in result.adopted]
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)


def collect_json(result: CollectResult) -> dict[str, Any]:
    return {
        "job": result.job,
        "collected": list(result.collected),
        "counts": result.counts,
        "retried": result.retried,
        "failures": [f.model_dump() for f in result.failures],
        "pending": [age_json(age) for age in result.pending],
        "published": result.published.location if result.published else None,
        "warnings": list(result.warnings),
        "adopted": list(result.adopted),
        "withheld": result.withheld,
        "succeeded": result.accepted,
        "to_ask_again": [
            {"path": r.entry.path, "reason": r.reason, "attempt": r.entry.attempt}
            for r in result.retries
        ],
        "noise": result.noise,
        "fallbacks": [
            {"path": path, "model": model, "why": why} for path, model, why in result.fallbacks
        ],
    }


# How many files a summary line names before "and N more" (each is listed below it).
_NAMED = 3


def _named(files: list[tuple[str, str]]) -> str:
    if not files:
        return ""
    shown = "; ".join(f"{path}: {reason}" for path, reason in files[:_NAMED])
    more = f"; and {len(files) - _NAMED} more" if len(files) > _NAMED else ""
    return f" ({shown}{more})"


def outcome_line(result: CollectResult) -> str:
    """What happened to each file of the collected batches, in one line: the API's own
    "succeeded" is not the file's fate (its answer may still be refused), so the line
    counts files by what the job did with them."""
    failed = sorted((f.path, f.reason) for f in result.failures)
    again = sorted((r.entry.path, r.reason) for r in result.retries)
    files = result.accepted + len(failed) + len(again)
    if files == 0:
        return f"collected {len(result.collected)} batch(es): no file results"
    return (
        f"collected {len(result.collected)} batch(es), {files} file(s): "
        f"{result.accepted} succeeded, {len(failed)} failed for good{_named(failed)}, "
        f"{len(again)} to ask again on the next run{_named(again)}"
    )


def collect_text(result: CollectResult, markdown: bool = False) -> str:
    head = f"## ci-reviewer batch: {result.job}" if markdown else f"{result.job}:"
    lines = [head, outcome_line(result)]
    if result.published:
        lines.append(f"published: {result.published.location} {result.published.detail}".rstrip())
    if result.withheld:
        counts = ", ".join(f"{n} {reason}" for reason, n in sorted(result.withheld.items()))
        lines.append(f"not sent to the model (secret policy): {counts}")
    if result.noise:
        counts = ", ".join(f"{n} {reason}" for reason, n in sorted(result.noise.items()))
        lines.append(f"not paid for (noise): {counts}")
    # Results arrive in any order; files are listed by path.
    failures = sorted(result.failures, key=lambda f: f.path)
    retries = sorted(result.retries, key=lambda r: r.entry.path)
    lines += [f"  failed {f.path} (attempt {f.attempt}): {f.reason}" for f in failures]
    lines += [
        f"  asking again {r.entry.path} (attempt {r.entry.attempt} next): {r.reason}"
        for r in retries
    ]
    lines += [
        f"  answered by the fallback model {model}: {path} ({why})"
        for path, model, why in result.fallbacks
    ]
    if result.pending:
        lines.append(f"{len(result.pending)} batch(es) still pending:")
        lines += [age_line(age) for age in result.pending]
    return "\n".join(lines)


def status_json(result: StatusResult) -> dict[str, Any]:
    return {
        "job": result.job,
        "state": result.state,
        "last_commit": result.last_commit,
        "pending": [age_json(age) for age in result.pending],
        "intents_without_batch": result.intents_without_batch,
        "retry": result.retry,
    }


def status_text(result: StatusResult) -> str:
    lines = [
        f"{result.job}: {len(result.pending)} pending batch(es); {result.retry} request(s) "
        f"queued to retry; last collected commit {(result.last_commit or 'none')[:12]}",
        f"  state: {result.state}",
    ]
    lines += [age_line(age) for age in result.pending]
    if any(age.status == "not refreshed" for age in result.pending):
        lines.append(
            "  as the state recorded them: set ANTHROPIC_API_KEY to ask the Message Batches "
            "API for their progress"
        )
    if result.intents_without_batch:
        lines.append(
            f"  {result.intents_without_batch} submission(s) recorded without a batch id "
            "(recovered on the next run)"
        )
    return "\n".join(lines)


def dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, default=str)


def collect_sarif(result: CollectResult, kind: str) -> dict[str, Any]:
    """SARIF of what the collection found: a security audit's findings (with its CWE
    tags); for a kind that finds nothing of the sort, a valid run with no results."""
    if kind == "security-audit":
        from ci_reviewer.batch.jobs.security_audit import sarif_log

        return sarif_log(list(result.findings))  # type: ignore[arg-type]
    return to_sarif(result.findings, tool_name=f"ci-reviewer batch ({kind})")


def step_outputs(
    collected: CollectResult | None = None, submitted: SubmitResult | None = None
) -> dict[str, str]:
    """The step outputs of a batch command; every name is always set, so a workflow can
    read them whichever command ran (`cost-usd` is empty when the model has no price)."""
    batches = submitted.batches if submitted is not None and not submitted.dry_run else ()
    usd = submitted.estimate.usd if submitted is not None and batches else 0.0
    return {
        "batch-ids": ",".join(b.batch_id for b in batches),
        "cost-usd": "" if usd is None else f"{usd:.4f}",
        "submitted-count": str(sum(b.requests for b in batches)),
        "collected-count": str(collected.result_count if collected is not None else 0),
        "failed-count": str(len(collected.failures) if collected is not None else 0),
    }


def step_summary(
    collected: CollectResult | None = None, submitted: SubmitResult | None = None
) -> str:
    """The job summary (Markdown) of a batch command: what was collected, then what was
    submitted, one line each (a trailing double space is a Markdown line break)."""
    record = collected or submitted
    lines = [f"## ci-reviewer batch: {record.job if record else 'nothing to do'}", ""]
    if collected is not None:
        lines += [f"{line.strip()}  " for line in collect_text(collected).splitlines()[1:]]
        lines.append("")
    if submitted is not None:
        lines += [f"{line.strip()}  " for line in submit_text(submitted).splitlines()]
    return "\n".join(lines).rstrip() + "\n"
