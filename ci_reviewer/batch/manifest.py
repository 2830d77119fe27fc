"""The batch manifest: what each custom_id stands for (path, content hash, attempt).

custom_ids are deterministic: the same file content at the same attempt always gets the same
id, so a resubmission after a crash is recognisable and two runs agree on what is pending.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PREFIX = re.compile(r"[^a-zA-Z0-9]")


class ManifestEntry(BaseModel):
    """What one request was about: the file, the git blob sha of its content, the attempt."""

    model_config = ConfigDict(frozen=True)

    path: str
    content_hash: str
    attempt: int = 1


def custom_id(prefix: str, entry: ManifestEntry) -> str:
    """`{prefix}-{sha1(path)[:16]}-{content_hash[:8]}-a{attempt}`, always within 64 chars."""
    kind = _PREFIX.sub("", prefix)[:12] or "job"
    path_hash = hashlib.sha1(entry.path.encode(), usedforsecurity=False).hexdigest()[:16]
    content = _PREFIX.sub("", entry.content_hash)[:8] or "0"
    value = f"{kind}-{path_hash}-{content}-a{entry.attempt}"
    assert CUSTOM_ID.match(value), value
    return value
