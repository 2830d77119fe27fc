"""The state a job keeps between scheduled runs, and the store interface it lives behind.

One versioned JSON document per job (DESIGN.md section 6): the last collected commit, the
submissions (an intent recorded before a batch is created, its batch id right after), the
manifest `custom_id -> (path, content hash, attempt)` and the requests to retry.

Every save is a compare-and-swap on the version the document was loaded at; a store answers a
stale save with `StateConflict`, and the caller reloads and decides again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.errors import InputError

STATE_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def _unwritten_when_unset(data: dict[str, Any], *names: str) -> dict[str, Any]:
    # Fields added after version 1 are left out while unset: a state saved again reads as
    # it was, to any version.
    for name in names:
        if not data.get(name):
            data.pop(name, None)
    return data


def _empty(value: object) -> bool:
    return not value


class Submission(_Record):
    """Work handed (or about to be handed) to one batch. `batch_id` is None between the
    intent and the create; `adopted` marks a batch found again after a crash, whose
    custom_ids are confirmed when its results arrive. `api` is the API the intent was
    recorded for ("batch" or "sync"; None in states written before it was kept), so that
    an orphan is looked for where it may be even after the job switched APIs. `replays`
    names the synchronous runs whose lost answers this work asks for again: its collection
    is published as theirs would have been, so a publication made just before a crash is
    edited, not made twice. `withheld` counts what the secret policy kept out of the run."""

    intent_id: str
    intent_at: datetime
    custom_ids: tuple[str, ...]
    batch_id: str | None = None
    created_at: datetime | None = None
    adopted: bool = False
    api: Literal["batch", "sync"] | None = None
    replays: tuple[str, ...] = ()
    # Files of the submitting run that the secret policy kept out (reason -> count), on the
    # run's first submission only, for the account its collection publishes.
    withheld: dict[str, int] = Field(default_factory=dict)
    # The same for the noise (`ci_reviewer.batch.noise`) the run did not pay for.
    noise: dict[str, int] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _written(self, write: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _unwritten_when_unset(write(self), "api", "replays", "withheld", "noise")

    @property
    def collected_as(self) -> tuple[str, ...]:
        """The batch ids this submission's collection is published under."""
        return self.replays or ((self.batch_id,) if self.batch_id else ())


class RetryItem(_Record):
    """A request to send again (`entry.attempt` is the attempt it will be); `replays` as in
    `Submission`, for a request whose answer was lost with a synchronous run."""

    entry: ManifestEntry
    reason: str
    replays: tuple[str, ...] = ()

    @model_serializer(mode="wrap")
    def _written(self, write: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _unwritten_when_unset(write(self), "replays")


class Failure(_Record):
    """A request given up on: permanent, or out of attempts."""

    custom_id: str
    path: str
    attempt: int
    reason: str


def _review(value: object) -> bool:
    return value == "review"


class SpendEntry(_Record):
    """One review's (or thread answer's) cost in a month's spend record
    (`ci_reviewer.month_spend`); `key` is unique to the run, so a save that is applied again
    adds it once. `kind` is written only for an answer: a record of reviews alone reads as it
    did, to any version (an older one, ignoring the field, counts an answer as a review)."""

    key: str
    cost_usd: float
    at: datetime
    kind: Literal["review", "answer"] = Field("review", exclude_if=_review)


class StateDocument(_Record):
    version: int = STATE_VERSION
    job: str
    last_commit: str | None = None
    submissions: tuple[Submission, ...] = ()
    manifest: dict[str, ManifestEntry] = Field(default_factory=dict)
    retry: tuple[RetryItem, ...] = ()
    updated_at: datetime | None = None
    # Only in a month's spend record (its `job` is `_spend-YYYY-MM`, never a job's name);
    # not written when empty (a field check, not a serializer of the whole document, which
    # would take a large manifest through Python objects).
    spend: tuple[SpendEntry, ...] = Field((), exclude_if=_empty)

    @property
    def pending_ids(self) -> set[str]:
        return {cid for s in self.submissions for cid in s.custom_ids}

    def submission(self, intent_id: str) -> Submission | None:
        return next((s for s in self.submissions if s.intent_id == intent_id), None)


def parse_state(data: bytes, job: str, where: str) -> StateDocument:
    """Decode a stored document; a newer version or a damaged file is the user's to fix."""
    try:
        document = StateDocument.model_validate_json(data)
    except ValidationError as error:
        raise InputError(
            f"the batch state {where} is not a valid state document: "
            f"{error.errors(include_url=False)[0]['msg']}",
            hint="restore it from the state branch's history, or delete it to start over "
            "(pending batches would then be forgotten)",
        ) from None
    if document.version > STATE_VERSION:
        raise InputError(
            f"the batch state {where} has version {document.version}; this ci-reviewer "
            f"understands up to {STATE_VERSION}",
            hint="upgrade ci-reviewer",
        )
    if document.job != job:
        raise InputError(f"the batch state {where} belongs to job {document.job!r}, not {job!r}")
    return document


def dump_state(document: StateDocument) -> bytes:
    return document.model_dump_json(indent=1).encode()


@dataclass(frozen=True)
class Loaded:
    """A document and the version token a save must present (None: nothing stored yet)."""

    document: StateDocument
    version: str | None


class StateConflict(Exception):
    """Another run saved the document since it was loaded: reload and decide again."""


class StateStore(Protocol):
    """Where a job's state document lives (a directory, or a branch on GitHub)."""

    def load(self, job: str) -> Loaded:
        """The stored document, or an empty one with version None."""

    def save(self, document: StateDocument, version: str | None) -> str:
        """Write if the stored version is still `version`; return the new version, or raise
        StateConflict."""

    def describe(self, job: str) -> str:
        """Where the state is kept, for messages."""


class EmptyStore:
    """No state at all (a dry run with nowhere to read state from): every job looks like
    its first run. Saving is a bug: dry runs write nothing."""

    def load(self, job: str) -> Loaded:
        return Loaded(StateDocument(job=job), None)

    def save(self, document: StateDocument, version: str | None) -> str:
        raise RuntimeError("a dry run must not save state")

    def describe(self, job: str) -> str:
        return "nowhere (no --state-dir and no GitHub repository)"
