"""What the batch kinds share. Context given to the model beyond the file itself: files
read as context (an example test, a conftest.py: `context_text`), and the local modules a
file imports (per request).
And the account every published body opens with: what was asked, of how many files, on which
API (a job with `api: sync` pays full price), the cost beside what the other API would have
charged, and the batch ids.

A batch request is single-shot, so the model cannot ask for these mid-request the way the
synchronous review's tools can: they are gathered here, bounded in size, before submission.
Everything gathered passes the secret policy first, like the files themselves: an imported
module or an example test that the policy withholds is left out (and an import so left out
is reported, through `take_withheld`, to be counted with the run's skipped files).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ci_reviewer.batch import path_names
from ci_reviewer.batch.jobs.account import noise_line, withheld_line
from ci_reviewer.batch.jobs.base import Collection
from ci_reviewer.batch.jobs.imports import TrackedIndex
from ci_reviewer.batch.manifest import is_sync_batch
from ci_reviewer.git import run_git
from ci_reviewer.pricing import Usage, price_table
from ci_reviewer.secret_policy import SecretPolicy

IMPORT_CHARS = 6000  # bytes of one imported module sent, at most
IMPORTS_TOTAL_CHARS = 20000  # characters of all the imports of one file, at most
CONTEXT_FILE_BYTES = 2_000_000  # a context file read for the secret scan, at most
EXCERPTS_KEPT = 2048  # imported modules' excerpts kept per run: at most ~12 MB


@dataclass(frozen=True)
class Withheld:
    """A context file the secret policy keeps out of requests, and why."""

    reason: str


_UNSEEN = Withheld("not read yet")


@dataclass(frozen=True)
class ImportedFile:
    path: str
    text: str
    truncated: bool


class RepositoryContext:
    """What a checkout tells about its tests and modules (read lazily, once)."""

    def __init__(self, workdir: Path, policy: SecretPolicy | None = None) -> None:
        self.workdir = workdir
        self.policy = policy or SecretPolicy()
        self._withheld: list[tuple[str, str]] = []
        self._verdicts: dict[str, Withheld | None] = {}
        self._root = os.path.join(workdir, "")
        # (path, limit) -> the excerpt sent: a module imported by many files is read and
        # decoded once while it is in use (most recently used last; bounded, see EXCERPTS_KEPT)
        self._excerpts: OrderedDict[tuple[str, int], tuple[str, bool]] = OrderedDict()
        self._last_imports: tuple[str, str, list[str]] | None = None

    @cached_property
    def tracked(self) -> tuple[str, ...]:
        out = run_git(self.workdir, ["ls-files", "-z"]).stdout.decode("utf-8", "replace")
        return tuple(p for p in out.split("\0") if p)

    @cached_property
    def index(self) -> TrackedIndex:
        """Built once per run: every per-file lookup below is a set or dict lookup."""
        return TrackedIndex.of(self.tracked)

    def existing_tests_for(self, source_path: str) -> tuple[str, ...]:
        """Tracked test files whose name points at `source_path`'s module."""
        stem = path_names.stem(source_path)
        names = [f"test_{stem}.py", f"{stem}_test.py", f"{stem}_test.go"]
        names += [f"{stem}.{kind}.{ext}" for kind in ("test", "spec") for ext in ("js", "ts")]
        return self.index.tests_named(names)

    def imports_of(
        self, path: str, text: str, skip: frozenset[str] = frozenset()
    ) -> tuple[ImportedFile, ...]:
        """The repository files `path` imports (Python and JS/TS), bounded in total size;
        those in `skip` (sent already, as context its directory shares) left out."""
        wanted = [p for p in self.imported_paths(path, text) if p not in skip]
        return self.attached(wanted, IMPORTS_TOTAL_CHARS)

    def imported_paths(self, path: str, text: str) -> list[str]:
        """The tracked files `path` (whose content is `text`) imports. The last answer is
        kept: a file's imports are asked twice in a row (whether it reads its directory's
        shared modules, then which to attach), and parsing them is per-file work."""
        last = self._last_imports
        if last is not None and last[0] == path and last[1] is text:
            return last[2]
        found = self.index.imports_of(path, text)
        self._last_imports = (path, text, found)
        return found

    def attached(self, paths: list[str], total: int) -> tuple[ImportedFile, ...]:
        """`paths` as context to send, bounded to `total` characters in all; a file the
        secret policy withholds is left out (and reported by `take_withheld`)."""
        found: list[ImportedFile] = []
        budget = total
        for candidate in paths:
            if budget <= 0:
                break
            body, truncated = self._imported(candidate, min(IMPORT_CHARS, budget))
            if not isinstance(body, str):
                self._withheld.append((candidate, body.reason))
                continue
            budget -= len(body)
            found.append(ImportedFile(candidate, body, truncated))
        return tuple(found)

    def _imported(self, path: str, limit: int) -> tuple[str | Withheld, bool]:
        """Up to `limit` bytes of an imported module (cut at a character boundary), or why
        the secret policy withholds it. Many files import the same modules: the policy
        reads a module whole once per run, and later asks read only the part sent."""
        verdict = self._verdicts.get(path, _UNSEEN)
        if isinstance(verdict, Withheld) and verdict is not _UNSEEN:
            return verdict, False
        key = (path, limit)
        kept = self._excerpts.get(key)
        if kept is not None:
            self._excerpts.move_to_end(key)
            return kept
        wanted = CONTEXT_FILE_BYTES if verdict is _UNSEEN else limit + 1
        data = _read_head(self._root + path, wanted)
        if data is None:
            return "", False
        if verdict is _UNSEEN:
            reason = self.policy.reason(path, data)
            self._verdicts[path] = None if reason is None else Withheld(reason)
            if reason is not None:
                return Withheld(reason), False
        excerpt = _prefix(data, limit), len(data) > limit
        self._excerpts[key] = excerpt
        if len(self._excerpts) > EXCERPTS_KEPT:
            self._excerpts.popitem(last=False)
        return excerpt

    def take_withheld(self) -> tuple[tuple[str, str], ...]:
        """(path, reason) of the imports left out under the secret policy since the last
        call."""
        taken, self._withheld = tuple(self._withheld), []
        return taken

    def context_text(self, path: str, limit: int) -> str | None:
        """Up to `limit` characters of a file sent as context (a test shown as an
        example, a conftest.py), or None when it cannot be read or the secret policy
        withholds it."""
        text = self._context(path, limit)[0]
        return text if isinstance(text, str) and text else None

    def _context(self, path: str, limit: int) -> tuple[str | Withheld, bool]:
        """Up to `limit` characters of a file that is sent as context, or why the secret
        policy withholds it (the whole file is scanned, not only the part sent)."""
        try:
            with (self.workdir / path).open("rb") as handle:
                data = handle.read(CONTEXT_FILE_BYTES)
        except OSError:
            return "", False
        reason = self.policy.reason(path, data)
        if reason is not None:
            return Withheld(reason), False
        text = data.decode("utf-8", errors="replace")
        return text[:limit], len(text) > limit


def _read_head(path: str, limit: int) -> bytes | None:
    """Up to `limit` bytes from the start of `path` (None if it cannot be read): as many as
    the file holds are asked for, not `limit` (a buffered read allocates `limit` bytes
    first, 2 MB for the secret scan's read of every imported module)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        wanted = min(os.fstat(descriptor).st_size, limit)
        parts: list[bytes] = []
        got = 0
        while got < wanted:  # a read may return less than asked
            part = os.read(descriptor, wanted - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _prefix(data: bytes, limit: int) -> str:
    """The text of the first `limit` bytes of `data`, a character cut in two left out."""
    if len(data) > limit:
        while limit > 0 and data[limit] & 0xC0 == 0x80:  # a UTF-8 continuation byte
            limit -= 1
        data = data[:limit]
    return data.decode("utf-8", errors="replace")


# -- the run's account, which every published body opens with --------------------------------


@dataclass
class UsageLedger:
    """Tokens billed per model across the succeeded results of one collection run (every
    succeeded result is billed, including those the kind then rejects)."""

    # model -> [input, output, cache write, cache read, cache write 1 h, results]: plain
    # counters, since this runs once per result (100,000 times for a large batch).
    _counts: dict[str, list[int]] = field(default_factory=dict)

    def record(self, message: Mapping[str, Any]) -> None:
        usage = message.get("usage")
        if not isinstance(usage, dict):  # decoded JSON; a dict check is cheaper than Mapping
            return
        model = str(message.get("model") or "unknown model")
        counts = self._counts.get(model)
        if counts is None:
            counts = self._counts[model] = [0, 0, 0, 0, 0, 0]
        counts[0] += usage.get("input_tokens") or 0
        counts[1] += usage.get("output_tokens") or 0
        counts[2] += usage.get("cache_creation_input_tokens") or 0
        counts[3] += usage.get("cache_read_input_tokens") or 0
        breakdown = usage.get("cache_creation")
        if isinstance(breakdown, dict):
            counts[4] += breakdown.get("ephemeral_1h_input_tokens") or 0
        counts[5] += 1

    @property
    def by_model(self) -> dict[str, Usage]:
        return {model: Usage(*counts[:5]) for model, counts in self._counts.items()}

    def cost(self, *, batch: bool) -> float | None:
        """Dollars; None when a model is missing from the price table. A long-context tier
        is judged on the average prompt of the model's results."""
        costs = list(self.cost_by_model(batch=batch).values())
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    def cost_by_model(self, *, batch: bool) -> dict[str, float | None]:
        """Dollars per model (a fallback model's results at its own prices), by model."""
        table = price_table()
        return {
            model: table.cost(model, Usage(*counts[:5]), batch=batch, requests=counts[5])
            for model, counts in sorted(self._counts.items())
        }


@dataclass(frozen=True)
class RunAccount:
    """What was asked, of how many files, at what cost, in which batches."""

    asked: str
    instructions: str
    collection: Collection
    ledger: UsageLedger

    def markdown(self) -> list[str]:
        c = self.collection
        files = len(c.accepted) + len(c.failures) + len(c.retried)
        models = ", ".join(sorted(self.ledger.by_model)) or "no billed result"
        batches = [f"`{b}`" for b in c.batch_ids if not is_sync_batch(b)]
        runs = [f"`{b}`" for b in c.batch_ids if is_sync_batch(b)]
        lines = [
            f"**Asked:** {self.asked}, for each of {files} file(s) "
            f"({self._api_name(batches, runs)}; {models}).",
            f"**Results:** {len(c.accepted)} answered, {len(c.failures)} failed, "
            f"{len(c.retried)} to be retried on the next run.",
            f"**Cost:** {self._cost_sentence(batches, runs)}",
            "**Batches:** " + (", ".join(batches) or "none"),
        ]
        if runs:
            lines.append("**Synchronous runs:** " + ", ".join(runs))
        lines += self._fallback_lines(batch=not runs)
        if c.withheld:
            lines.append(withheld_line(c.withheld))
        if c.noise:
            lines.append(noise_line(c.noise))
        if self.instructions.strip():
            quoted = " ".join(self.instructions.split())
            lines.append(f"**Instructions from the maintainers:** {quoted}")
        return [line + "  " for line in lines]

    def _fallback_lines(self, *, batch: bool) -> list[str]:
        """Which files the job's fallback model answered, and why; and, when more than one
        model answered, what each cost at its own prices."""
        answered = sorted(
            (item.entry.path, item.entry.model, item.entry.fallback or "")
            for item in self.collection.accepted
            if item.entry.model is not None
        )
        if not answered:
            return []
        files = "; ".join(f"`{path}` by {model} ({why})" for path, model, why in answered)
        lines = [f"**Answered by the fallback model:** {files}."]
        costs = self.ledger.cost_by_model(batch=batch)
        if len(costs) > 1:
            prices = "batch" if batch else "synchronous"
            each = ", ".join(
                f"{model} ${cost:.4f}" if cost is not None else f"{model} unknown"
                for model, cost in costs.items()
            )
            lines.append(f"**Cost by model, each at its own {prices} prices:** {each}.")
        return lines

    @staticmethod
    def _api_name(batches: list[str], runs: list[str]) -> str:
        if runs and batches:
            return "Message Batches API, and the synchronous Messages API for the rest"
        if runs:
            return "synchronous Messages API, full price (the job has api: sync)"
        return "Message Batches API"

    def _cost_sentence(self, batches: list[str], runs: list[str]) -> str:
        batch, sync = self.ledger.cost(batch=True), self.ledger.cost(batch=False)
        if batch is None or sync is None:
            return "unknown (a model is missing from the price table)."
        if runs and batches:
            return (
                f"between ${batch:.4f} and ${sync:.4f}: the batches' part at batch prices, "
                "the synchronous runs' part at full price."
            )
        if runs:
            return (
                f"${sync:.4f} at synchronous (full) prices; the same work on the Message "
                f"Batches API would have cost ${batch:.4f}, with results within 24 h."
            )
        return (
            f"${batch:.4f} at batch prices; the same work on the synchronous Messages API "
            f"would have cost ${sync:.4f}."
        )
