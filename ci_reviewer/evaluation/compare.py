"""Two runs side by side: per PR and in total, precision, recall, F1 and review cost of
each, and the difference (B minus A). Only PRs both runs judged are compared row by row;
the totals are over those PRs too, so the two columns measure the same work."""

from __future__ import annotations

from ci_reviewer.evaluation.metrics import Counts, total
from ci_reviewer.evaluation.render import dollars, pr_label, ratio
from ci_reviewer.evaluation.results import JUDGED, RunResults

_HEADER = (
    "| PR | A precision | A recall | A F1 | B precision | B recall | B F1 | ΔF1 "
    "| A review $ | B review $ | Δ$ |"
)
_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def _difference(a: float | None, b: float | None, digits: int) -> str:
    if a is None or b is None:
        return "n/a"
    return f"{b - a:+.{digits}f}"


def _cost(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _row(label: str, a: Counts, b: Counts, cost_a: float | None, cost_b: float | None) -> str:
    cells = [
        label,
        ratio(a.precision),
        ratio(a.recall),
        ratio(a.f1),
        ratio(b.precision),
        ratio(b.recall),
        ratio(b.f1),
        _difference(a.f1, b.f1, 3),
        dollars(cost_a),
        dollars(cost_b),
        _difference(cost_a, cost_b, 4),
    ]
    return "| " + " | ".join(cells) + " |"


def compare(a: RunResults, b: RunResults, name_a: str, name_b: str) -> str:
    lines = [
        f"A: {name_a} ({a.identity.review_model}, judge {a.identity.judge_model} "
        f"{a.identity.judge_prompt_version})",
        f"B: {name_b} ({b.identity.review_model}, judge {b.identity.judge_model} "
        f"{b.identity.judge_prompt_version})",
        "",
        _HEADER,
        _RULE,
    ]
    both = [
        url
        for url, record in a.records.items()
        if record.status == JUDGED and b.records.get(url) and b.records[url].status == JUDGED
    ]
    for url in both:
        ra, rb = a.records[url], b.records[url]
        lines.append(_row(pr_label(ra), ra.counts, rb.counts, ra.review_cost, rb.review_cost))
    lines.append(
        _row(
            "**total**",
            total(a.records[u].counts for u in both),
            total(b.records[u].counts for u in both),
            _cost([a.records[u].review_cost for u in both]),
            _cost([b.records[u].review_cost for u in both]),
        )
    )
    only = sorted(set(a.records) ^ set(b.records)) + [
        u for u in a.records if u in b.records and u not in both
    ]
    if only:
        lines += ["", f"not in both runs' judged PRs (left out above): {', '.join(only)}"]
    return "\n".join(lines)
