"""The words of a test-generation pull request: what was asked, at what cost, and a row for
every file the pull request is about (its test and how it verified, or why there is none).

The rows are recorded in the body (`publish_pr`): a pull request updated by a later run is
rendered from the rows it recorded merged with the new run's, so it describes every test
file it holds, not only the latest run's. A new row for a source replaces the rows recorded
for it, except that a source whose earlier test the branch still holds keeps that test's row
beside the news (a failed attempt to write it again removes no file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ci_reviewer.batch.jobs.account import table_cell
from ci_reviewer.batch.jobs.base import Collection
from ci_reviewer.batch.jobs.context import RunAccount, UsageLedger
from ci_reviewer.config import JobConfig

if TYPE_CHECKING:
    from ci_reviewer.batch.jobs.test_generation import TestPlan

ASKED = "a new unit-test file in the repository's own framework"
# GitHub docs, "Triggering a workflow from a workflow": events caused by GITHUB_TOKEN, but
# workflow_dispatch and repository_dispatch, create no workflow run.
NO_CHECKS_NOTE = (
    "**Checks:** opened or updated with a workflow's own `GITHUB_TOKEN` (author "
    "`github-actions[bot]`), this pull request starts no workflow: GitHub runs none for "
    "events that token causes. To run the checks, close and reopen it or push a commit to "
    "its branch, or give the job a GitHub App token (the action's `github-token` input)."
)
KEPT = ("passed", "not verified", "kept failing")
# Row: [source, test path (or proposed path), status, detail, notes]
Row = list[str]


def title(name: str, held: int) -> str:
    return f"ci-reviewer {name}: {held} generated test file(s)"


def rows_of(collection: Collection, plan: TestPlan) -> list[Row]:
    """One row per file this collection is about."""
    rows = [[o.source, o.path, o.status, o.detail, o.notes] for o in plan.outcomes]
    rows += [
        [f.path, "", "not generated", f"{f.reason} (attempt {f.attempt})", ""]
        for f in collection.failures
    ]
    rows += [
        [r.entry.path, "", "asked again", f"{r.reason} (next: attempt {r.entry.attempt})", ""]
        for r in collection.retried
    ]
    return rows


def merged(earlier: Sequence[Row], new: Sequence[Row]) -> list[Row]:
    """The rows of a pull request updated with a new run's (see the module docstring)."""
    fresh = {row[0] for row in new}
    kept_tests = {row[1] for row in new if row[2] in KEPT}
    out = [
        row
        for row in earlier
        if len(row) == 5
        and (row[0] not in fresh or row[2] in KEPT)
        and not (row[2] in KEPT and row[1] in kept_tests)
    ]
    return sorted([*out, *new], key=lambda row: (row[0], row[1]))


def held_tests(rows: Sequence[Row]) -> int:
    return len({row[1] for row in rows if row[2] in KEPT})


def render_body(
    name: str, job: JobConfig, collection: Collection, rows: Sequence[Row], ledger: UsageLedger
) -> str:
    lines = [f"## Generated tests: {name}", ""]
    lines += RunAccount(ASKED, job.instructions, collection, ledger).markdown()
    lines += ["", f"Files are under `{job.output_dir}`. Review them like any contribution.", ""]
    lines += [NO_CHECKS_NOTE, ""]
    kept = [r for r in rows if r[2] in KEPT]
    if kept:
        lines += ["### Tests", "", "| source | test | verification | notes |", "|---|---|---|---|"]
        lines += [
            f"| `{source}` | `{test}` | {status}{_detail(detail)} | {table_cell(notes)} |"
            for source, test, status, detail, notes in kept
        ]
        lines.append("")
    lines += _section(rows, "dropped", "### Dropped: failed verification", "test")
    lines += _section(rows, "refused", "### Refused paths", "proposed path")
    lines += _plain(rows, "not generated", "### Not generated")
    lines += _plain(rows, "asked again", "### Asked again on the next run")
    return "\n".join(lines).rstrip() + "\n"


def _detail(detail: str) -> str:
    return f": {table_cell(detail)}" if detail else ""


def _section(rows: Sequence[Row], status: str, heading: str, column: str) -> list[str]:
    chosen = [r for r in rows if r[2] == status]
    if not chosen:
        return []
    lines = [heading, "", f"| source | {column} | reason |", "|---|---|---|"]
    lines += [f"| `{r[0]}` | `{table_cell(r[1])}` | {table_cell(r[3])} |" for r in chosen]
    return [*lines, ""]


def _plain(rows: Sequence[Row], status: str, heading: str) -> list[str]:
    chosen = [r for r in rows if r[2] == status]
    if not chosen:
        return []
    lines = [heading, "", "| file | why |", "|---|---|"]
    lines += [f"| `{r[0]}` | {table_cell(r[3])} |" for r in chosen]
    return [*lines, ""]
