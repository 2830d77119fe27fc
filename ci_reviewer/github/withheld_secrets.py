"""Pull-request runs to which GitHub gives no secrets, and what `review` says instead of
failing on them.

On `pull_request`, GitHub passes a run for a pull request from a fork no secrets but a
read-only GITHUB_TOKEN, and a run Dependabot triggered gets the Dependabot secrets instead of
the Actions secrets (also on `pull_request_target` when Dependabot opened the PR). Without
ANTHROPIC_API_KEY nothing can be reviewed; failing would put a red check on every such pull
request, which its author cannot fix. So `review` passes and says why, and how to review
such pull requests safely.

Decided from the event payload's documented fields alone (no API call: the token may be
read-only, and the answer must not depend on what it can read):
- `pull_request.head.repo` is null when the fork was deleted;
- a head repository other than the base's (by `id`, else `full_name`) is a fork. Its
  `fork` flag alone is not: it is true for every pull request inside a repository that is
  itself a fork, whose runs do get that repository's secrets;
- `pull_request.user.login` or the run's actor (GITHUB_ACTOR) `dependabot[bot]`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEPENDABOT = "dependabot[bot]"
PWN_REQUESTS = (
    "GitHub Security Lab, “Keeping your GitHub Actions and workflows secure Part 1: "
    "Preventing pwn requests” (https://securitylab.github.com/resources/"
    "github-actions-preventing-pwn-requests/)"
)
SAFE_WAYS = (
    "Fork pull requests: a second workflow on `pull_request_target` with `types: [labeled]`, "
    "run only when a maintainer who has read the change adds a label "
    "(`if: github.event.label.name == 'ci-review'`; new commits need the label again, "
    "after someone has read them). Keep its checkout on the base branch "
    "(the default for `pull_request_target`): ci-reviewer reads the pull request's diff from "
    "GitHub, and refuses a checkout of the PR's head there unless the base branch's "
    "`.github/ci-reviewer.yml` sets `review.allow_pull_request_target_checkout: true`. "
    f"See {PWN_REQUESTS}.",
    "Dependabot pull requests: add `ANTHROPIC_API_KEY` as a Dependabot secret (Settings → "
    "Secrets and variables → Dependabot); runs Dependabot triggers read those.",
    "Any pull request: a maintainer runs `ci-reviewer review --pr N` (with `--repo`) from "
    "`workflow_dispatch` or a machine of their own, with their key.",
)


@dataclass(frozen=True)
class WithheldSecrets:
    """Why this run has no Claude key: the PR comes from a fork, or Dependabot."""

    number: int | None
    cause: str  # "fork", "deleted-fork" or "dependabot"
    event: str
    head_repo: str | None = None  # the fork, when it still exists

    @property
    def reason(self) -> str:
        """One sentence: which pull request, why it has no key, what the check does."""
        what = {
            "fork": f"comes from the fork {self.head_repo}",
            "deleted-fork": "comes from a fork that has since been deleted",
            "dependabot": "was opened by Dependabot",
        }[self.cause]
        given = (
            "the Dependabot secrets instead of the Actions secrets"
            if self.cause == "dependabot"
            else "no secrets"
        )
        return (
            f"Pull request {_number(self.number)} {what}: on `{self.event}` GitHub gives such "
            f"runs {given} and a read-only token, so ANTHROPIC_API_KEY is empty and no review "
            "ran; the check passes rather than fail on a secret the author cannot provide."
        )

    def notice(self) -> str:
        """The message of the `::notice` annotation."""
        return f"{self.reason} The job summary says how to review it safely."

    def job_summary(self) -> str:
        ways = "\n".join(f"- {way}" for way in SAFE_WAYS)
        return (
            f"## ci-reviewer: no review of pull request {_number(self.number)}\n\n"
            f"{self.reason}\n\nWays to review such pull requests safely:\n\n{ways}\n"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "reviewed": False,
            "skipped": "secrets-withheld",
            "cause": self.cause,
            "reason": self.reason,
            "pull_request": self.number,
            "event": self.event,
            "head_repository": self.head_repo,
            "safe_ways": list(SAFE_WAYS),
        }

    def formatted(self, output_format: str) -> str:
        """What stdout carries in the requested format."""
        if output_format == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        if output_format == "sarif":
            from ci_reviewer.sarif import to_sarif

            return json.dumps(to_sarif(()), indent=2)
        if output_format == "markdown":
            return self.job_summary()
        return self.reason


def withheld_secrets(
    event_name: str | None,
    payload: Mapping[str, Any],
    *,
    actor: str | None,
    has_key: bool,
) -> WithheldSecrets | None:
    """Why GitHub gave this run no secrets, or None when it did or would have (a run with a
    key, a pull request from a branch of the same repository, another event)."""
    pull = payload.get("pull_request")
    if has_key or not event_name or not isinstance(pull, Mapping):
        return None
    number = pull.get("number") if isinstance(pull.get("number"), int) else None
    by_dependabot = _login(pull.get("user")) == DEPENDABOT
    if event_name == "pull_request_target":
        # Docs: read-only and no secrets when Dependabot opened the pull request.
        return WithheldSecrets(number, "dependabot", event_name) if by_dependabot else None
    if event_name != "pull_request":
        return None
    if by_dependabot or actor == DEPENDABOT:
        return WithheldSecrets(number, "dependabot", event_name)
    fork = _fork_of(pull, payload.get("repository"))
    return None if fork is None else WithheldSecrets(number, fork[0], event_name, fork[1])


def _fork_of(pull: Mapping[str, Any], repository: Any) -> tuple[str, str | None] | None:
    """("deleted-fork", None), ("fork", its full name), or None for a same-repository PR."""
    head = _repo(pull.get("head"))
    if head is None:
        return "deleted-fork", None
    base = _repo(pull.get("base")) or repository
    if isinstance(base, Mapping) and _other_repository(head, base):
        return "fork", str(head.get("full_name"))
    return None


def _other_repository(head: Mapping[str, Any], base: Mapping[str, Any]) -> bool:
    if isinstance(head.get("id"), int) and isinstance(base.get("id"), int):
        return bool(head["id"] != base["id"])  # ids survive renames and transfers
    return bool(head.get("full_name") != base.get("full_name"))


def _repo(side: Any) -> Mapping[str, Any] | None:
    repo = side.get("repo") if isinstance(side, Mapping) else None
    return repo if isinstance(repo, Mapping) else None


def _login(user: Any) -> str | None:
    login = user.get("login") if isinstance(user, Mapping) else None
    return login if isinstance(login, str) else None


def _number(number: int | None) -> str:
    return f"#{number}" if number is not None else "(no number in the payload)"
