"""The interface a job kind plugs into the batch pipeline.

The pipeline owns collection, requests, batches, state and retries; a kind owns only what is
asked (system prompt, per-file message, output schema), what a succeeded result means
(`accept`), and what lands when a collection run ends (`publish`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.state import Failure, RetryItem
from ci_reviewer.config import JobConfig

AnswerModel = TypeVar("AnswerModel", bound=BaseModel)


@dataclass(frozen=True)
class Accepted:
    """A succeeded result the kind will publish; `payload` is the kind's own record."""

    custom_id: str
    entry: ManifestEntry
    payload: Any


@dataclass(frozen=True)
class Rejected:
    """A succeeded result the kind cannot use (refusal, truncated, malformed output)."""

    reason: str


@dataclass(frozen=True)
class Collection:
    """What one collection run gathered, handed to `publish`. `collection_id` is the same
    when the same batches are collected again (a replay after a crash), so a publisher can
    edit what it published before instead of publishing twice."""

    job: str
    collection_id: str
    batch_ids: tuple[str, ...]
    accepted: Sequence[Accepted]
    failures: Sequence[Failure]
    retried: Sequence[RetryItem]
    # What the secret policy kept out of the runs that submitted this work (reason -> files).
    withheld: Mapping[str, int] = field(default_factory=dict)
    # The noise (lockfiles, snapshots, generated code...) those runs did not pay for.
    noise: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """Where a collection landed (a file, an issue URL, ...), for the run's report, and
    what the user must be told about it (the run's warnings and annotations)."""

    location: str
    detail: str = ""
    warnings: tuple[str, ...] = ()


class BatchJobKind(Protocol):
    """One kind of scheduled job (report, security audit, test generation...)."""

    @property
    def prefix(self) -> str:
        """Starts every custom_id of this kind (letters and digits, up to 12)."""

    def system_prompt(self, job: JobConfig) -> str:
        """The shared prefix of every request (cached for an hour): role and instructions."""

    def output_schema(self) -> Mapping[str, Any]:
        """The JSON schema every answer must follow (structured output)."""

    def skip_reason(self, source: SourceFile) -> str | None:
        """Why nothing is asked about `source` (counted with the run's skipped files), or
        None to ask."""

    def user_message(self, source: SourceFile) -> str:
        """What is asked about one file."""

    def withheld_context(self) -> tuple[tuple[str, str], ...]:
        """(path, reason) of the context files (imports) that the secret policy kept out
        of the messages built since the last call; () for a kind that attaches none."""

    def accept(
        self, custom_id: str, entry: ManifestEntry, message: Mapping[str, Any]
    ) -> Accepted | Rejected:
        """Judge one succeeded result (`message` is the Message as JSON)."""

    def publish(self, collection: Collection) -> Published | None:
        """Deliver a collection run's results; None when there was nothing to deliver."""


def structured_output(message: Mapping[str, Any]) -> dict[str, Any] | Rejected:
    """The JSON object a structured-output answer holds, or why there is none.

    Every stop_reason is handled: only `end_turn` (and `stop_sequence`) carry a complete
    answer; the others say why the answer is missing or cut short. The answer is read from
    the text blocks: a thinking model's message leads with thinking blocks, never the answer.
    """
    blocks = message.get("content") or ()
    unanswered = _why_no_answer(message.get("stop_reason"), blocks, message.get("usage"))
    if unanswered is not None:
        return unanswered
    texts = [
        block.get("text") or ""
        for block in blocks
        if isinstance(block, dict) and block.get("type") == "text"  # decoded JSON objects
    ]
    try:
        # orjson: this runs once per result, 100,000 times for a large batch.
        value = orjson.loads(texts[0] if len(texts) == 1 else "".join(map(str, texts)))
    except orjson.JSONDecodeError:
        return Rejected("the answer is not the JSON the output schema asks for")
    if not isinstance(value, dict):
        return Rejected("the answer is not a JSON object")
    return value


def _why_no_answer(stop: Any, blocks: Any, usage: Any) -> Rejected | None:
    """Why a message with this stop_reason holds no complete answer (None: it may hold one)."""
    if stop == "refusal":
        return Rejected("the model declined to answer (refusal)")
    if stop == "max_tokens" and _only_thinking(blocks):
        spent = usage.get("output_tokens") if isinstance(usage, dict) else None
        return Rejected(
            f"the model's thinking used all {spent} output tokens (max_tokens) before it "
            "wrote an answer; raise the job's max_tokens"
        )
    if stop in ("max_tokens", "model_context_window_exceeded"):
        return Rejected(f"the answer was cut short ({stop}); raise max_tokens or split the file")
    if stop in ("tool_use", "pause_turn"):
        return Rejected(f"unexpected stop_reason {stop} in a single-shot batch request")
    return None


def _only_thinking(blocks: Any) -> bool:
    kinds = {block.get("type") for block in blocks if isinstance(block, dict)}
    return bool(kinds) and kinds <= {"thinking", "redacted_thinking"}


def validated(value: Mapping[str, Any], model: type[AnswerModel]) -> AnswerModel | Rejected:
    """A decoded answer (`structured_output`) validated as `model`, or why it cannot be
    used: an answer that breaks the schema is a reported failure for its file, never a
    crash."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "answer"
        return Rejected(f"the answer does not match the output schema ({where}: {problem['msg']})")


def with_instructions(system: str, job: JobConfig) -> str:
    """`system`, followed by the maintainers' instructions from the job's config."""
    if job.instructions.strip():
        return f"{system}\n\nInstructions from the maintainers:\n{job.instructions.strip()}"
    return system
