"""The state document on disk is a contract: a state written by an earlier ci-reviewer
(pending batches, their manifest, retries) must load, and be written back unchanged."""

from __future__ import annotations

import json

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.state import dump_state, parse_state

# As ci-reviewer 0.1 wrote it (state version 1), for one pending batch and one retry.
WRITTEN_BEFORE = """{
 "version": 1,
 "job": "nightly-tests",
 "last_commit": "7f54fd5683c84b9a5d804e32a206cc2f274fb7e6",
 "submissions": [
  {
   "intent_id": "20261206T193334Z-0-470b0b30c74f-7687116c",
   "intent_at": "2026-12-06T19:33:34.022747Z",
   "custom_ids": [
    "tests-f6da0a4862d24783-df9699b1-a1",
    "tests-017293fd000ba00e-fd4f02eb-a2"
   ],
   "batch_id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
   "created_at": "2026-12-06T19:33:35.100000Z",
   "adopted": false
  }
 ],
 "manifest": {
  "tests-f6da0a4862d24783-df9699b1-a1": {
   "path": "src/app.py",
   "content_hash": "df9699b19b502ddecf9ce3620db796f56236644d",
   "attempt": 1
  },
  "tests-017293fd000ba00e-fd4f02eb-a2": {
   "path": "src/caf\\u00e9.py",
   "content_hash": "fd4f02eb0c7b3c8b1e1a0d3f5e6c7b8a9d0e1f2a",
   "attempt": 2
  }
 },
 "retry": [
  {
   "entry": {
    "path": "src/util.py",
    "content_hash": "0123456789abcdef0123456789abcdef01234567",
    "attempt": 3
   },
   "reason": "expired"
  }
 ],
 "updated_at": "2026-12-06T19:33:35.200000Z"
}"""


def test_a_state_written_before_loads_and_is_written_back_the_same() -> None:
    document = parse_state(WRITTEN_BEFORE.encode(), "nightly-tests", "state/nightly-tests.json")

    assert document.manifest["tests-017293fd000ba00e-fd4f02eb-a2"] == ManifestEntry(
        path="src/café.py",
        content_hash="fd4f02eb0c7b3c8b1e1a0d3f5e6c7b8a9d0e1f2a",
        attempt=2,
    )
    assert document.retry[0].entry.attempt == 3
    assert document.pending_ids == set(document.manifest)
    assert json.loads(dump_state(document)) == json.loads(WRITTEN_BEFORE)


# A month's spend record as `review` and `answer` write it: a review's entry has no `kind`
# (so a record of reviews alone reads the same to an older ci-reviewer); an answer's says so.
SPEND_RECORD = """{
 "version": 1,
 "job": "_spend-2026-12",
 "last_commit": null,
 "submissions": [],
 "manifest": {},
 "retry": [],
 "updated_at": "2026-12-08T04:00:00Z",
 "spend": [
  {
   "key": "pr7-38cc98a66013-0a1b2c3d",
   "cost_usd": 0.4213,
   "at": "2026-12-08T03:00:00Z"
  },
  {
   "key": "answer-9001-4e5f6a7b",
   "cost_usd": 0.0312,
   "at": "2026-12-08T04:00:00Z",
   "kind": "answer"
  }
 ]
}"""


def test_a_spend_record_keeps_reviews_and_answers_apart_and_is_written_back_the_same() -> None:
    document = parse_state(SPEND_RECORD.encode(), "_spend-2026-12", "state/_spend-2026-12.json")

    assert [(entry.key, entry.kind) for entry in document.spend] == [
        ("pr7-38cc98a66013-0a1b2c3d", "review"),
        ("answer-9001-4e5f6a7b", "answer"),
    ]
    assert json.loads(dump_state(document)) == json.loads(SPEND_RECORD)
