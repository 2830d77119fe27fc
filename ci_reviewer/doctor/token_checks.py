"""What the GitHub token may do, judged from GitHub's answers and never by a write.

Access: GET /repos/{owner}/{repo} (a classic token also shows its scopes in
`x-oauth-scopes`). Reads: one read of each kind. Writes: a request GitHub refuses either
way, so nothing is created: with the permission, as invalid (422, an empty body) or as
naming nothing (404, pull request 0); without it, as not permitted (403 "Resource not
accessible by integration", whose `x-accepted-github-permissions` names the permission).
Decided on the status, never on the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_reviewer.doctor.check import Check, ok, problem, unreachable, warning
from ci_reviewer.doctor.needs import TokenNeed
from ci_reviewer.errors import GitHubAPIError
from ci_reviewer.github.probe import Answer, ask

if TYPE_CHECKING:
    import github

ACCESS_FIX = (
    "set GITHUB_TOKEN (the action's github-token input) to a token of an account or app "
    "with access to the repository"
)
# (scope, level) -> (method, path under /repos/{owner}/{repo}, body): a request that
# cannot succeed (nothing is written) and that GitHub checks the permission of first.
_PROBES: Mapping[tuple[str, str], tuple[str, str, Mapping[str, Any] | None]] = {
    ("contents", "write"): ("POST", "/git/refs", {}),
    ("pull-requests", "write"): ("POST", "/pulls/0/reviews", {}),
    ("checks", "write"): ("POST", "/check-runs", {}),
    ("issues", "write"): ("POST", "/issues", {}),
    ("pull-requests", "read"): ("GET", "/pulls", None),
}
# A write request refused for what it says, not for who sent it: the permission is there.
_PAST_THE_PERMISSION = frozenset({404, 422})
_REFUSED = frozenset({401, 403, 404})


@dataclass(frozen=True)
class Repository:
    """What GET /repos/{owner}/{repo} told of the repository and the token."""

    full_name: str
    default_branch: str
    private: bool
    push: bool | None  # the account's push permission (user tokens); None: not given
    oauth_scopes: tuple[str, ...] | None  # a classic token's scopes; None: not one


def repository_check(gh: github.Github, repo: str) -> tuple[Check, Repository | None]:
    """Whether the token can see `repo` at all, and what GitHub said of it."""
    name = "github repository"
    try:
        answer = ask(gh, "GET", f"/repos/{repo}")
    except GitHubAPIError as error:
        return unreachable(name, str(error)), None
    if answer.status == 401:
        return problem("github token", "GitHub rejected the token (401)", ACCESS_FIX), None
    if not answer.ok or not isinstance(answer.body, dict):
        return (
            problem(
                name,
                f"the token cannot see {repo} (GitHub answered {answer.status})",
                "check --repo / GITHUB_REPOSITORY, and that the token's repository access "
                "includes it",
            ),
            None,
        )
    return ok(name, f"the token can read {repo}"), _repository(repo, answer)


def _repository(repo: str, answer: Answer) -> Repository:
    body: dict[str, Any] = answer.body
    permissions = body.get("permissions")
    scopes = answer.headers.get("x-oauth-scopes")
    return Repository(
        full_name=str(body.get("full_name") or repo),
        default_branch=str(body.get("default_branch") or "main"),
        private=bool(body.get("private")),
        push=bool(permissions.get("push")) if isinstance(permissions, dict) else None,
        oauth_scopes=None if scopes is None else tuple(s.strip() for s in scopes.split(",")),
    )


def token_checks(gh: github.Github, repo: Repository, wanted: Sequence[TokenNeed]) -> list[Check]:
    """One check per permission the setup needs."""
    found = [_classic_scopes(repo)] if repo.oauth_scopes is not None else []
    return [*(c for c in found if c is not None), *(_need(gh, repo, need) for need in wanted)]


def _classic_scopes(repo: Repository) -> Check | None:
    scopes = set(repo.oauth_scopes or ())
    if "repo" in scopes or ("public_repo" in scopes and not repo.private):
        return None
    wanted = "repo" if repo.private else "public_repo (or repo)"
    return problem(
        "github token scopes",
        f"the classic token's scopes ({', '.join(sorted(scopes)) or 'none'}) do not "
        f"include {wanted}, which every write to {repo.full_name} needs",
        f"give the token the {wanted} scope, or use a fine-grained token",
    )


def _need(gh: github.Github, repo: Repository, need: TokenNeed) -> Check:
    name = f"github token {need.scope}: {need.level}"
    method, path, body = _probe(repo, need)
    try:
        answer = ask(gh, method, f"/repos/{repo.full_name}{path}", body=body)
    except GitHubAPIError as error:
        return unreachable(name, str(error))
    if method == "GET":
        granted = answer.ok
    elif answer.status in _PAST_THE_PERMISSION or answer.ok:
        granted = True
    elif answer.status in _REFUSED:
        granted = False
    else:
        return warning(
            name,
            f"GitHub answered {answer.status} to {method} {path}, which says neither way",
            f"make sure the token has `{need.scope}: {need.level}` ({need.why})",
        )
    if granted:
        return ok(name, f"granted ({need.why})")
    return problem(name, _refused(repo, need, method, path, answer), _fix(need, answer))


def _probe(repo: Repository, need: TokenNeed) -> tuple[str, str, Mapping[str, Any] | None]:
    if (need.scope, need.level) in _PROBES:
        return _PROBES[(need.scope, need.level)]
    # contents: read, and any other read: the default branch's head commit.
    return "GET", f"/commits/{repo.default_branch}", None


def _refused(repo: Repository, need: TokenNeed, method: str, path: str, answer: Answer) -> str:
    said = f"the token may not {'write' if need.level == 'write' else 'read'} {need.scope}, "
    said += f"needed for {need.why} (GitHub answered {answer.status} to {method} {path})"
    if repo.push is False and need.level == "write":
        said += f"; the token's account has no write access to {repo.full_name}"
    return said


def _fix(need: TokenNeed, answer: Answer) -> str:
    fix = (
        f"add `{need.scope}: {need.level}` to the workflow job's `permissions:` (or give a "
        "fine-grained token that permission)"
    )
    accepted = answer.accepted_permissions()
    if accepted:
        fix += f"; GitHub accepts {' or '.join(', '.join(s) for s in accepted)} for this call"
    return fix
