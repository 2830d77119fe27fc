"""Prompt caching for batch requests: shared-first order, and breakpoints only where they pay.

Every request of a job is laid out in the order the API caches a prompt (tools, system,
messages; https://platform.claude.com/docs/en/build-with-claude/prompt-caching): the system
block (the kind's prompt and the job's instructions, the same for every request), then the
group's shared context (the modules the files of one directory import, the same bytes for
every file of that directory), then the part that is the file's own. A breakpoint marks the
end of the system block and the end of the shared context, and only where it pays:

- the prefix it closes reaches the model's minimum cacheable length (`min_cacheable_tokens`
  in `data/models.json`): a shorter prefix is not cached at all ("Shorter prompts cannot be
  cached, even if marked with cache_control", the prompt-caching page). The prefix is counted
  the way the product estimates tokens elsewhere (ceil(characters / 4), `pricing`), over its
  text only (not the JSON around it, which the API counts too), and must clear the minimum by
  `MARGIN`: a tokenizer that packs more characters into a token than 4 would otherwise leave
  a breakpoint under the minimum, writing nothing while the request was planned as cached;
- the entry is read by enough requests to repay its write. Writes use the 1-hour TTL, billed
  at 2x the input price against 0.1x for a read (docs-pricing-multipliers in models.json):
  `n` requests sharing a prefix pay 2 + 0.1 (n - 1) times its uncached price once against n,
  so a prefix is marked only when at least `READERS` requests of the submission share it.
  Only the requests that read it count: a file of the directory that imports none of the
  shared modules is sent without them (`jobs/package_context.py`), and a file that is not
  sent (a retry skipped, `assemble`) is not in the submission's count.

Why the 1-hour TTL: batch requests "can be processed concurrently and in any order, cache
hits are provided on a best-effort basis", and "the 1-hour cache can help improve cache hits
in this scenario" (prompt-caching page, "Can I use prompt caching with the Batches API?");
the batch-processing page: "Because batches can take longer than 5 minutes to process,
consider using the 1-hour cache duration with prompt caching for better cache hit rates when
processing batches with shared context", and "Include identical cache_control blocks in every
Message request within your batch" (https://platform.claude.com/docs/en/build-with-claude/
batch-processing, "Using prompt caching with Message Batches"). Every breakpoint has the same
TTL, so none can break the API's rule that a 1-hour breakpoint must not follow a 5-minute one.

At most two breakpoints are placed, under the API's four.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ci_reviewer.batch.path_names import parent
from ci_reviewer.models import model_table
from ci_reviewer.pricing import estimate_tokens

CACHE_1H: dict[str, str] = {"type": "ephemeral", "ttl": "1h"}
MARGIN = 1.25
READERS = 3
# For a model the table has no cache figure for: the largest threshold any model has.
UNKNOWN_MINIMUM = 4096
SYSTEM_KEY = "system"


class MessageParts(NamedTuple):
    """What a kind asks about one file, split for caching: `shared` is the same text for
    every file of `group` (empty when there is none, or when the file does not read it),
    `own` is the file's alone; `may_read` tells which files of `group` may read the shared
    part (the same for every file of the group; None: every file)."""

    group: str
    shared: str
    own: str
    may_read: Callable[[str], bool] | None = None

    def joined(self) -> str:
        """The whole message as one text, for a request sent without caching."""
        return f"{self.shared}\n\n{self.own}" if self.shared else self.own


class Breakpoint(NamedTuple):
    """A cached prefix of one request: what identifies it (the system block, or a group's
    shared context) and its estimated tokens from the start of the prompt."""

    key: str
    tokens: int


def group_of(path: str) -> str:
    """The group a file's request belongs to: its directory (its package)."""
    return parent(path)


def cacheable_floor(model: str) -> int:
    """Estimated tokens a prefix must reach before it is marked: the model's minimum
    cacheable length, with `MARGIN`."""
    facts = model_table().facts(model)
    minimum = facts.min_cacheable_tokens if facts is not None else None
    return math.ceil((minimum or UNKNOWN_MINIMUM) * MARGIN)


@dataclass(frozen=True)
class CacheLayout:
    """Where one job's requests carry breakpoints. `members` holds the files of each group
    that this submission sends (`expect`); a group it does not name has one request."""

    floor: int
    system_tokens: int
    members: Mapping[str, Collection[str]]
    requests: int | None = None
    # group -> how many of its members read its shared part: counted once per group
    _readers: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, model: str, system: str) -> CacheLayout:
        return cls(cacheable_floor(model), estimate_tokens(system), {})

    def expect(self, members: Mapping[str, Collection[str]]) -> CacheLayout:
        total = sum(len(paths) for paths in members.values())
        return CacheLayout(self.floor, self.system_tokens, dict(members), total)

    def readers(self, parts: MessageParts) -> int:
        """The requests of this submission that read `parts.shared`: its group's members
        but those known not to."""
        found = self._readers.get(parts.group)
        if found is None:
            paths = self.members.get(parts.group)
            if paths is None:
                return 1
            may_read = parts.may_read
            found = len(paths) if may_read is None else sum(map(may_read, paths))
            self._readers[parts.group] = found
        return found

    @property
    def system_cached(self) -> bool:
        enough = self.requests is None or self.requests >= READERS
        return enough and self.system_tokens >= self.floor

    def system_blocks(self, system: str) -> list[dict[str, Any]]:
        block: dict[str, Any] = {"type": "text", "text": system}
        if self.system_cached:
            block["cache_control"] = CACHE_1H
        return [block]

    def content(
        self, parts: MessageParts
    ) -> tuple[str | list[dict[str, Any]], tuple[Breakpoint, ...]]:
        """The user message's content for `parts`, and the breakpoints of the request."""
        marks: tuple[Breakpoint, ...] = ()
        if self.system_cached:
            marks = (Breakpoint(SYSTEM_KEY, self.system_tokens),)
        if not parts.shared:
            return parts.own, marks
        shared: dict[str, Any] = {"type": "text", "text": parts.shared}
        prefix = self.system_tokens + estimate_tokens(parts.shared)
        if prefix >= self.floor and self.readers(parts) >= READERS:
            shared["cache_control"] = CACHE_1H
            marks += (Breakpoint(f"group:{parts.group}", prefix),)
        return [shared, {"type": "text", "text": parts.own}], marks


@dataclass
class CacheEstimate:
    """Cache writes and reads a submission is expected to be billed, as its requests stream
    by: the first request of a prefix writes it, every later one reads it (the best case,
    which a batch's best-effort caching may not reach; see the module docstring)."""

    written: int = 0
    read: int = 0
    _seen: set[str] | None = None

    def add(self, marks: tuple[Breakpoint, ...]) -> tuple[int, int]:
        """(written, read) tokens of one request with these breakpoints."""
        seen = self._seen if self._seen is not None else set()
        self._seen = seen
        hit = 0
        for mark in marks:
            if mark.key in seen:
                hit = max(hit, mark.tokens)
        last = max((mark.tokens for mark in marks), default=0)
        for mark in marks:
            seen.add(mark.key)
        write = max(0, last - hit)
        self.written += write
        self.read += hit
        return write, hit
