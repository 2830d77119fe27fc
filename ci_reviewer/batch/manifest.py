"""The batch manifest: what each custom_id stands for (path, content hash, attempt).

custom_ids are deterministic: the same file content at the same attempt always gets the same
id, so a resubmission after a crash is recognisable and two runs agree on what is pending.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PREFIX = re.compile(r"[^a-zA-Z0-9]")
# Ids of the runs of `api: sync` jobs, which stand where a Message Batch id would.
SYNC_PREFIX = "sync_"


def is_sync_batch(batch_id: str) -> bool:
    """Whether `batch_id` names a synchronous run rather than a Message Batch."""
    return batch_id.startswith(SYNC_PREFIX)


def lost_batch_id(intent_id: str) -> str:
    """The id given to a synchronous run whose process died before recording its id."""
    return f"{SYNC_PREFIX}lost_{hashlib.sha256(intent_id.encode()).hexdigest()[:20]}"


def _unset(value: object) -> bool:
    return value is None


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """What one request was about: the file, the git blob sha of its content, the attempt.

    A slotted dataclass, not a pydantic model: the state holds one per pending request (a
    large first run, 100,000 of them), and a model instance carries a dict and a set of its
    own. Pydantic still validates and writes it inside the state document, as the same
    JSON object."""

    path: str
    content_hash: str
    attempt: int = 1
    # Set on a request sent again on the job's fallback model: that model, and why the
    # job's own model did not answer (`ci_reviewer.batch.fallback`). None: the job's model,
    # and then not written, so a state reads as it was to any version (checked per field by
    # pydantic's serializer: the manifest of a large run is written at its own speed).
    model: Annotated[str | None, Field(exclude_if=_unset)] = None
    fallback: Annotated[str | None, Field(exclude_if=_unset)] = None


def custom_id(prefix: str, entry: ManifestEntry) -> str:
    """`{prefix}-{sha1(path)[:16]}-{content_hash[:8]}-a{attempt}`, always within 64 chars."""
    return custom_id_of(id_prefix(prefix), entry.path, entry.content_hash, entry.attempt)


def id_prefix(prefix: str) -> str:
    """The kind's prefix as it starts a custom_id: letters and digits, at most 12."""
    return _PREFIX.sub("", prefix)[:12] or "job"


def custom_id_of(kind: str, path: str, content_hash: str, attempt: int) -> str:
    """`custom_id` for an already cleaned prefix (`id_prefix`), without building an entry."""
    path_hash = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:16]
    # A blob sha's first 8 characters are letters and digits already: kept as they are.
    content = _PREFIX.sub("", content_hash)[:8]
    # Within CUSTOM_ID by construction: [a-zA-Z0-9] runs, hex, digits and dashes.
    return f"{kind}-{path_hash}-{content or '0'}-a{attempt}"
