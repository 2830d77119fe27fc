"""The checkout's history against each job's `since`: a shallow checkout (actions/checkout's
one commit) lacks the commits a window or the last collected commit reaches back to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ci_reviewer.batch.collect import window
from ci_reviewer.config import JobConfig
from ci_reviewer.doctor.check import Check, ok, problem, warning
from ci_reviewer.git import run_git
from ci_reviewer.shallow import CHECKOUT_HINT, is_shallow, window_is_cut


def checkout_checks(
    workdir: Path, jobs: Sequence[tuple[str, JobConfig]], now: datetime
) -> list[Check]:
    looking_back = [(name, job) for name, job in jobs if job.since != "all"]
    if not looking_back:
        return []
    inside = run_git(workdir, ["rev-parse", "--is-inside-work-tree"], check=False)
    if inside.returncode != 0 or inside.text.strip() != "true":
        return [
            problem(
                "checkout",
                f"{workdir} is not a git checkout, so no job can tell what changed",
                "run doctor in the checkout (--workdir), after actions/checkout",
            )
        ]
    shallow = is_shallow(workdir)
    return [_job(workdir, name, job, now, shallow) for name, job in looking_back]


def _job(workdir: Path, name: str, job: JobConfig, now: datetime, shallow: bool) -> Check:
    check = f"checkout depth for {name}"
    span = window(job.since)
    if not shallow:
        return ok(check, f"the checkout has the whole history (since: {job.since})")
    if span is None:  # last-run: the first run takes every file, later ones need history
        return warning(
            check,
            f"the checkout is shallow; after its first run, job {name!r} (since: last-run) "
            "needs the history back to its last collected commit, which the run must fetch "
            "from origin (a private repository checked out without credentials refuses)",
            CHECKOUT_HINT,
        )
    after = now - span
    if window_is_cut(workdir, "HEAD", after):
        return problem(
            check,
            f"the checkout is shallow and lacks the commits of job {name!r}'s window "
            f"(since: {job.since}, from {after:%Y-%m-%d %H:%M} UTC): git would report every "
            "file as changed, or the run must fetch them",
            CHECKOUT_HINT,
        )
    return ok(check, f"the shallow checkout holds the whole window (since: {job.since})")
