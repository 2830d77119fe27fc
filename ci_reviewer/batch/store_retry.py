"""Saving a change that must land whatever other runs saved meanwhile (a batch id, the
outcome of a collection): reload, apply the same change again, save, until it sticks."""

from __future__ import annotations

from collections.abc import Callable

from ci_reviewer.batch.state import Loaded, StateConflict, StateDocument, StateStore
from ci_reviewer.errors import EXIT_API, CIReviewerError

MAX_ATTEMPTS = 10


class StateBusyError(CIReviewerError):
    """The state document changed under every attempt to save (exit 3)."""

    exit_code = EXIT_API


def save_until_applied(
    store: StateStore,
    job: str,
    change: Callable[[StateDocument], StateDocument],
    loaded: Loaded | None = None,
) -> Loaded:
    """Apply `change` to the freshest document and save it; `change` must be idempotent.
    `loaded`, when given, is tried first (saving a reload when nobody else wrote). Returns
    what was saved, with its new version, for the next change to start from."""
    for _ in range(MAX_ATTEMPTS):
        loaded = loaded or store.load(job)
        updated = change(loaded.document)
        try:
            version = store.save(updated, loaded.version)
        except StateConflict:
            loaded = None
            continue
        return Loaded(updated, version)
    raise StateBusyError(
        f"could not save the state of job {job!r}: it changed under {MAX_ATTEMPTS} attempts",
        hint="another run is active on this job; use a workflow `concurrency:` group",
    )
