"""What a workflow job's GITHUB_TOKEN may do, computed as GitHub computes it.

A job's `permissions:` replaces the workflow's; naming any scope sets every other scope to
`none`; `write` includes `read`; `read-all`/`write-all` set every scope; `{}` sets none. With
no block at either level the token gets the repository's default, which is read-only
(contents and packages) for repositories and organizations created since February 2023 and
read/write on older ones: a workflow cannot know which, so `plan` asks for a block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SCOPES = (
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
)
_RANK = {"none": 0, "read": 1, "write": 2}


@dataclass(frozen=True)
class TokenPermissions:
    """The token of one workflow job; `declared` is False when neither the job nor the
    workflow has a `permissions:` block (the repository's default applies)."""

    declared: bool
    scopes: tuple[tuple[str, str], ...]
    where: str

    def level(self, scope: str) -> str:
        return dict(self.scopes).get(scope, "none")

    def allows(self, scope: str, level: str) -> bool:
        return _RANK[self.level(scope)] >= _RANK[level]


def parse_permissions(value: Any) -> dict[str, str] | None:
    """A `permissions:` value as scope -> none|read|write; None when it cannot be read
    (an expression, a typo), so that no verdict rests on a guess."""
    if value == "read-all":
        return dict.fromkeys(SCOPES, "read")
    if value == "write-all":
        return dict.fromkeys(SCOPES, "write")
    if not isinstance(value, Mapping):
        return None
    scopes: dict[str, str] = {}
    for scope, level in value.items():
        if not isinstance(scope, str) or level not in _RANK:
            return None
        scopes[scope] = str(level)
    return scopes


def job_token(
    workflow_block: Any, job_block: Any, *, workflow_where: str, job_where: str
) -> TokenPermissions | None:
    """The job's token, or None when its block cannot be read."""
    block, where = (job_block, job_where) if job_block is not None else (workflow_block, "")
    if block is None:
        return TokenPermissions(False, (), "")
    scopes = parse_permissions(block)
    if scopes is None:
        return None
    return TokenPermissions(True, tuple(sorted(scopes.items())), where or workflow_where)
