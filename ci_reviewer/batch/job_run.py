"""Everything one run of a job works with: the job, its kind, and the collaborators (state
store, Batches API, clock, checkpoint and progress callbacks) passed in from the edge."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ci_reviewer.batch.collect import Progress
from ci_reviewer.batch.jobs.base import BatchJobKind
from ci_reviewer.batch.state import StateStore
from ci_reviewer.config import JobConfig
from ci_reviewer.secret_policy import SecretPolicy

if TYPE_CHECKING:  # the SDK behind it is imported only where a client is made
    from ci_reviewer.batch.api import BatchesAPI

# The named points a test (or CI_REVIEWER_KILL_AT at the CLI edge) can stop a run at.
CHECKPOINTS = ("collected", "intent-recorded", "batch-created", "state-saved", "publishing")


def no_checkpoint(name: str) -> None:
    """The default checkpoint: carry on."""


@dataclass(frozen=True)
class JobRun:
    """One job's run. `orphan_grace` is how long an intent without a batch id may belong
    to a run still creating its batch before another run takes the work over."""

    name: str
    job: JobConfig
    model: str
    kind: BatchJobKind
    workdir: Path
    store: StateStore
    api: BatchesAPI
    now: Callable[[], datetime]
    checkpoint: Callable[[str], None] = no_checkpoint
    progress: Progress | None = None
    orphan_grace: timedelta = timedelta(minutes=30)
    # What never goes into a request (`ci_reviewer.secret_policy`), with the config's allow.
    policy: SecretPolicy = field(default_factory=SecretPolicy)
    # How a run waits (for the cache warm-up batch to end, `submit`).
    sleep: Callable[[float], None] = time.sleep
