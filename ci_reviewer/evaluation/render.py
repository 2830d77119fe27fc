"""The Markdown table of a run: one row per PR and a total, review and judge costs apart."""

from __future__ import annotations

from ci_reviewer.evaluation.metrics import Counts, total
from ci_reviewer.evaluation.results import AWAITING, JUDGED, SKIPPED, PRRecord, RunResults

_HEADER = (
    "| PR | golden | findings | TP | FP | misses | precision | recall | F1 "
    "| review $ | review s | judge $ |"
)
_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def dollars(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.4f}"


def pr_label(record: PRRecord) -> str:
    title = " ".join(record.title.split())[:60].replace("|", "\\|")
    return f"[{title or record.url}]({record.url})"


def row(
    label: str, counts: Counts, review: float | None, seconds: float, judge: float | None
) -> str:
    cells = [
        label,
        str(counts.goldens),
        str(counts.candidates),
        str(counts.true_positives),
        str(counts.false_positives),
        str(counts.misses),
        ratio(counts.precision),
        ratio(counts.recall),
        ratio(counts.f1),
        dollars(review),
        f"{seconds:.1f}",
        dollars(judge),
    ]
    return "| " + " | ".join(cells) + " |"


def markdown(results: RunResults) -> str:
    identity = results.identity
    lines = [
        f"Review: {identity.review_model} (config {identity.config_digest[:12]}); judge: "
        f"{identity.judge_model}, prompt {identity.judge_prompt_version}, {results.judge_api}.",
        "",
        _HEADER,
        _RULE,
    ]
    judged = [r for r in results.records.values() if r.status == JUDGED]
    for record in judged:
        seconds = float(record.review.get("seconds") or 0)
        lines.append(
            row(pr_label(record), record.counts, record.review_cost, seconds, record.judge_cost)
        )
    document = results.to_json()["totals"]
    lines.append(
        row(
            "**total**",
            total(r.counts for r in judged),
            document["review_cost_usd"],
            float(document["review_seconds"]),
            document["judge_cost_usd"],
        )
    )
    lines += _not_judged(results)
    return "\n".join(lines)


def _not_judged(results: RunResults) -> list[str]:
    lines = []
    for record in results.records.values():
        if record.status == SKIPPED:
            lines.append(f"- skipped {record.url} ({record.where}): {record.reason}")
        elif record.status == AWAITING:
            why = record.judge.get("error") or "not judged yet"
            lines.append(f"- awaiting the judge: {record.url}: {why}")
    return ["", *lines] if lines else []
