"""The state's compare-and-swap, which keeps two overlapping scheduled runs from both
submitting: a save on a version someone else replaced is refused, two processes saving the
same version have exactly one winner, and `save_until_applied` applies its change again to
the document the winner left (never to the stale one), giving up with exit 3 only when the
state keeps changing."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ci_reviewer.batch.state import (
    Loaded,
    StateConflict,
    StateDocument,
    Submission,
)
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.batch.store_retry import MAX_ATTEMPTS, StateBusyError, save_until_applied
from ci_reviewer.errors import EXIT_API, exit_code_for

JOB = "nightly"
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _with_intent(document: StateDocument, intent: str) -> StateDocument:
    """The change a submitting run makes: record its intent (idempotent)."""
    if document.submission(intent) is not None:
        return document
    submission = Submission(intent_id=intent, intent_at=WHEN, custom_ids=(f"{intent}-file",))
    return document.model_copy(update={"submissions": (*document.submissions, submission)})


def _intents(store: DirectoryStore) -> list[str]:
    return [s.intent_id for s in store.load(JOB).document.submissions]


def test_a_save_on_a_replaced_version_is_refused_and_the_winner_is_kept(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    first = store.load(JOB)
    store.save(_with_intent(first.document, "run-a"), first.version)

    with pytest.raises(StateConflict):
        store.save(_with_intent(first.document, "run-b"), first.version)
    assert _intents(store) == ["run-a"]


def test_creating_a_state_that_another_run_created_is_refused(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    nothing = store.load(JOB)
    assert nothing.version is None
    store.save(_with_intent(nothing.document, "run-a"), None)

    with pytest.raises(StateConflict):
        store.save(_with_intent(nothing.document, "run-b"), None)
    assert _intents(store) == ["run-a"]


def _save_after_barrier(directory: str, intent: str, barrier: object, results: object) -> None:
    store = DirectoryStore(Path(directory))
    loaded = store.load(JOB)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        store.save(_with_intent(loaded.document, intent), loaded.version)
    except StateConflict:
        results.put((intent, "conflict"))  # type: ignore[attr-defined]
    else:
        results.put((intent, "saved"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("existing", [False, True], ids=["first-save", "update"])
def test_two_processes_saving_the_same_version_have_one_winner(
    tmp_path: Path, existing: bool
) -> None:
    if existing:
        store = DirectoryStore(tmp_path)
        store.save(_with_intent(StateDocument(job=JOB), "earlier"), None)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_save_after_barrier, args=(str(tmp_path), name, barrier, results))
        for name in ("run-a", "run-b")
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = dict(results.get(timeout=60) for _ in workers)
    finally:
        for worker in workers:
            worker.join(timeout=60)
        results.close()
        results.join_thread()

    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "saved")
    expected = ["earlier", winner] if existing else [winner]
    assert _intents(DirectoryStore(tmp_path)) == expected


class _OvertakenStore:
    """A directory store where another run saves its own intent right after each of the
    first `overtakes` loads: the caller's save then meets a newer version."""

    def __init__(self, directory: Path, overtakes: int) -> None:
        self.inner = DirectoryStore(directory)
        self.other = DirectoryStore(directory)
        self.overtakes = overtakes
        self.loads = 0
        self.saves = 0

    def describe(self, job: str) -> str:
        return self.inner.describe(job)

    def load(self, job: str) -> Loaded:
        loaded = self.inner.load(job)
        self.loads += 1
        if self.loads <= self.overtakes:
            fresh = self.other.load(job)
            self.other.save(_with_intent(fresh.document, f"other-{self.loads}"), fresh.version)
        return loaded

    def save(self, document: StateDocument, version: str | None) -> str:
        self.saves += 1
        return self.inner.save(document, version)


def test_a_conflict_reloads_and_applies_the_change_to_what_the_other_run_saved(
    tmp_path: Path,
) -> None:
    store = _OvertakenStore(tmp_path, overtakes=2)

    saved = save_until_applied(store, JOB, lambda doc: _with_intent(doc, "mine"))

    # Both other runs' intents survive, and ours lands once, after them.
    assert _intents(store.inner) == ["other-1", "other-2", "mine"]
    assert store.loads == 3 and store.saves == 3
    # What it hands back is what was saved, for the run's next change to start from.
    assert saved == store.inner.load(JOB)


def test_a_stale_document_given_first_is_replaced_by_a_reload_after_a_conflict(
    tmp_path: Path,
) -> None:
    store = DirectoryStore(tmp_path)
    stale = store.load(JOB)
    store.save(_with_intent(stale.document, "other"), stale.version)

    save_until_applied(store, JOB, lambda doc: _with_intent(doc, "mine"), loaded=stale)

    assert _intents(store) == ["other", "mine"]


def test_a_state_that_changes_under_every_attempt_is_busy_exit_3(tmp_path: Path) -> None:
    store = _OvertakenStore(tmp_path, overtakes=MAX_ATTEMPTS)

    with pytest.raises(StateBusyError) as raised:
        save_until_applied(store, JOB, lambda doc: _with_intent(doc, "mine"))

    assert exit_code_for(raised.value) == EXIT_API
    assert raised.value.message == (
        "could not save the state of job 'nightly': it changed under 10 attempts"
    )
    # The hint says how to stop the overlap.
    assert raised.value.hint == (
        "another run is active on this job; use a workflow `concurrency:` group"
    )
    assert store.saves == MAX_ATTEMPTS
    assert "mine" not in _intents(store.inner)


def test_one_overtake_fewer_than_the_budget_still_lands(tmp_path: Path) -> None:
    store = _OvertakenStore(tmp_path, overtakes=MAX_ATTEMPTS - 1)

    save_until_applied(store, JOB, lambda doc: _with_intent(doc, "mine"))

    assert _intents(store.inner)[-1] == "mine"
    assert len(_intents(store.inner)) == MAX_ATTEMPTS
