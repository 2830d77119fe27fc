"""Which action the workflows `init` writes run: `OWNER/REPO@REF`, chosen by the user.

Without a choice `init` writes a placeholder, git's null object id, and says so: this
package cannot know which commit of a release the user has reviewed (nor reach GitHub to
look one up), a tag can move to code nobody reviewed, and a made-up SHA would pass for a
pin. The placeholder lints clean, never resolves on a runner, and `plan` reports it as an
error until it is replaced.
"""

from __future__ import annotations

import re

from ci_reviewer.errors import InputError

ACTION_REPOSITORY = "claude-ci-reviewer/claude-ci-reviewer"
PLACEHOLDER_SHA = "0" * 40
_NAME = "claude-ci-reviewer"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_USES = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/(?P<name>[A-Za-z0-9_.-]+))@(?P<ref>[^\s@#]+)$")
_REF = re.compile(r"^[^\s@#]+$")


def is_commit_sha(ref: str) -> bool:
    return bool(_SHA.match(ref))


def action_uses(choice: str | None) -> str:
    """The `uses:` value for `--action-ref` (OWNER/REPO@REF, or REF of this project's
    repository); the commented placeholder when nothing was chosen."""
    if choice is None:
        return f"{ACTION_REPOSITORY}@{PLACEHOLDER_SHA} # placeholder: pin the commit of a release"
    choice = choice.strip()
    if _REF.match(choice) and "/" not in choice:
        choice = f"{ACTION_REPOSITORY}@{choice}"
    match = _USES.match(choice)
    if match is None:
        raise InputError(
            f"--action-ref {choice!r} is not OWNER/REPO@REF",
            hint=f"pass e.g. {ACTION_REPOSITORY}@<40-hex commit sha>, or only the sha",
        )
    if match["name"] != _NAME:
        raise InputError(
            f"--action-ref {choice!r} names the repository {match['repo']!r}",
            hint=f"the action's repository must be named {_NAME} (a fork keeps the name): "
            "`ci-reviewer plan` finds the workflow steps that run it by that name",
        )
    return choice


def pin_note(uses: str) -> str | None:
    """What `init` tells the user about the reference it wrote, or None when it is pinned."""
    ref = uses.split(" ", 1)[0].rsplit("@", 1)[1]
    if ref == PLACEHOLDER_SHA:
        return (
            f"the workflows run the action at a placeholder commit ({PLACEHOLDER_SHA[:7]}...): "
            "replace it in each `uses:` line with the commit SHA of the release you trust "
            "(`init --action-ref OWNER/REPO@SHA` writes it for you); `ci-reviewer plan` "
            "reports it until then"
        )
    if not is_commit_sha(ref):
        return (
            f"the action ref {ref!r} is a branch or tag, which can move: pin its full commit "
            "SHA (zizmor reports unpinned-uses)"
        )
    return None
