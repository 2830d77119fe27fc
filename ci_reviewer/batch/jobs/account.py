"""The words of a published account that several kinds share: what was withheld, what was
not paid for, which files failed or wait for another attempt, each with why."""

from __future__ import annotations

from collections.abc import Mapping

from ci_reviewer.batch.jobs.base import Collection
from ci_reviewer.batch.noise import PREFIX as NOISE_PREFIX

__all__ = ["failures_table", "noise_line", "retried_table", "table_cell", "withheld_line"]


def withheld_line(withheld: Mapping[str, int]) -> str:
    """What the secret policy kept from the model, counted by reason (never the secret)."""
    counts = ", ".join(f"{reason} ({count})" for reason, count in sorted(withheld.items()))
    total = sum(withheld.values())
    return f"**Not sent to the model (secret policy):** {total} file(s): {counts}."


def noise_line(noise: Mapping[str, int]) -> str:
    """The noise the run did not pay for, counted by kind."""
    counts = ", ".join(
        f"{reason.removeprefix(NOISE_PREFIX)} ({count})" for reason, count in sorted(noise.items())
    )
    total = sum(noise.values())
    return f"**Not sent to the model (noise, not worth paying for):** {total} file(s): {counts}."


def retried_table(collection: Collection, heading: str) -> list[str]:
    """The files to be asked again on the next run, each with why (none: no lines)."""
    if not collection.retried:
        return []
    lines = [heading, "", "| file | next attempt | why |", "|---|---|---|"]
    lines += [
        f"| `{item.entry.path}` | {item.entry.attempt} | {table_cell(_retry_reason(item.reason))} |"
        for item in sorted(collection.retried, key=lambda i: i.entry.path)
    ]
    return [*lines, ""]


def _retry_reason(reason: str) -> str:
    # The kinds of result a retry stands for, as a maintainer reads them.
    return _RETRY_WORDS.get(reason, reason)


_RETRY_WORDS = {
    "expired": "the batch expired before this request ran",
    "canceled": "the batch was canceled before this request ran",
}


def failures_table(collection: Collection, heading: str) -> list[str]:
    """The files a collection could not use, as a Markdown section (none: no lines)."""
    if not collection.failures:
        return []
    lines = [heading, "", "| file | attempt | reason |", "|---|---|---|"]
    lines += [
        f"| `{f.path}` | {f.attempt} | {table_cell(f.reason)} |"
        for f in sorted(collection.failures, key=lambda f: f.path)
    ]
    return [*lines, ""]


def table_cell(text: str, limit: int = 300) -> str:
    """`text` as one Markdown table cell: one line, pipes escaped, bounded."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
