"""The rules of the state document a user meets: what a saved state holds (fields added after
version 1 only when set, so an older ci-reviewer reads it as it was), which batch ids a
collection is published under, and the message and hint for a state file that cannot be used.
The expected JSON and texts are written out by hand from DESIGN.md section 6."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.state import (
    EmptyStore,
    RetryItem,
    StateDocument,
    Submission,
    dump_state,
    parse_state,
)
from ci_reviewer.errors import EXIT_USAGE, InputError

WHEN = datetime(2026, 12, 6, 19, 33, 34, tzinfo=timezone.utc)
ENTRY = ManifestEntry(path="src/app.py", content_hash="df9699b19b502ddecf9ce3620db796f56236644d")


def _written(document: StateDocument) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(dump_state(document))
    return loaded


def test_fields_added_after_version_1_are_written_when_set() -> None:
    submission = Submission(
        intent_id="i1",
        intent_at=WHEN,
        custom_ids=("tests-a",),
        batch_id="sync_1",
        api="sync",
        replays=("sync_0",),
        withheld={"secret-looking": 2},
        noise={"lockfile": 1},
    )
    retry = RetryItem(entry=ENTRY, reason="expired", replays=("sync_0",))
    written = _written(StateDocument(job="nightly", submissions=(submission,), retry=(retry,)))

    assert written["submissions"] == [
        {
            "intent_id": "i1",
            "intent_at": "2026-12-06T19:33:34Z",
            "custom_ids": ["tests-a"],
            "batch_id": "sync_1",
            "created_at": None,
            "adopted": False,
            "api": "sync",
            "replays": ["sync_0"],
            "withheld": {"secret-looking": 2},
            "noise": {"lockfile": 1},
        }
    ]
    assert written["retry"] == [
        {
            "entry": {"path": "src/app.py", "content_hash": ENTRY.content_hash, "attempt": 1},
            "reason": "expired",
            "replays": ["sync_0"],
        }
    ]


def test_fields_added_after_version_1_are_left_out_while_unset() -> None:
    submission = Submission(intent_id="i1", intent_at=WHEN, custom_ids=())
    retry = RetryItem(entry=ENTRY, reason="errored")
    written = _written(StateDocument(job="nightly", submissions=(submission,), retry=(retry,)))

    assert written["submissions"] == [
        {
            "intent_id": "i1",
            "intent_at": "2026-12-06T19:33:34Z",
            "custom_ids": [],
            "batch_id": None,
            "created_at": None,
            "adopted": False,
        }
    ]
    assert written["retry"] == [
        {
            "entry": {"path": "src/app.py", "content_hash": ENTRY.content_hash, "attempt": 1},
            "reason": "errored",
        }
    ]


def test_the_state_file_is_indented_one_space_per_level() -> None:
    # As the state branch's files have always looked (test_state_format.WRITTEN_BEFORE): a
    # re-indented save would rewrite every line of the file in the branch's history.
    lines = dump_state(StateDocument(job="nightly")).decode().splitlines()

    assert lines[:3] == ["{", ' "version": 1,', ' "job": "nightly",']


@pytest.mark.parametrize(
    ("replays", "batch_id", "published_as"),
    [
        (("sync_a", "sync_b"), "msgbatch_1", ("sync_a", "sync_b")),  # a replay: theirs
        ((), "msgbatch_1", ("msgbatch_1",)),
        ((), None, ()),  # an intent whose batch was never created
    ],
)
def test_a_collection_is_published_under_the_runs_it_replays_or_its_own_batch(
    replays: tuple[str, ...], batch_id: str | None, published_as: tuple[str, ...]
) -> None:
    submission = Submission(
        intent_id="i1", intent_at=WHEN, custom_ids=(), batch_id=batch_id, replays=replays
    )

    assert submission.collected_as == published_as


def test_pending_ids_and_submission_lookup() -> None:
    first = Submission(intent_id="i1", intent_at=WHEN, custom_ids=("a", "b"))
    second = Submission(intent_id="i2", intent_at=WHEN, custom_ids=("c",))
    document = StateDocument(job="nightly", submissions=(first, second))

    assert document.pending_ids == {"a", "b", "c"}
    assert document.submission("i2") == second
    assert document.submission("i3") is None


def _refusal(data: bytes, job: str = "nightly") -> InputError:
    with pytest.raises(InputError) as refused:
        parse_state(data, job, "state/nightly.json")
    assert refused.value.exit_code == EXIT_USAGE
    return refused.value


def test_a_damaged_state_file_names_the_file_the_problem_and_the_way_out() -> None:
    refusal = _refusal(b'{"version": 1, "job": "nightly", "submissions": "many"}')

    assert refusal.message == (
        "the batch state state/nightly.json is not a valid state document: "
        "Input should be a valid array"  # pydantic's message for a JSON non-array
    )
    assert refusal.hint == (
        "restore it from the state branch's history, or delete it to start over "
        "(pending batches would then be forgotten)"
    )


def test_a_state_from_a_newer_ci_reviewer_asks_for_an_upgrade() -> None:
    refusal = _refusal(b'{"version": 2, "job": "nightly"}')

    assert refusal.message == (
        "the batch state state/nightly.json has version 2; this ci-reviewer understands up to 1"
    )
    assert refusal.hint == "upgrade ci-reviewer"


def test_the_current_version_loads() -> None:
    assert parse_state(b'{"version": 1, "job": "nightly"}', "nightly", "x").job == "nightly"


def test_another_jobs_state_is_refused() -> None:
    refusal = _refusal(b'{"version": 1, "job": "weekly"}')

    assert (
        refusal.message
        == "the batch state state/nightly.json belongs to job 'weekly', not 'nightly'"
    )
    assert refusal.hint is None


def test_a_dry_run_without_state_sees_a_first_run_and_cannot_save() -> None:
    store = EmptyStore()
    loaded = store.load("nightly")

    assert loaded.document == StateDocument(job="nightly")
    assert loaded.version is None
    assert store.describe("nightly") == "nowhere (no --state-dir and no GitHub repository)"
    with pytest.raises(RuntimeError, match=r"^a dry run must not save state$"):
        store.save(loaded.document, None)
