"""Repository settings the scheduled runs meet: whether GitHub Actions may open pull
requests, and whether the state branch can be written (its protection and its rulesets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ci_reviewer.doctor.check import Check, ok, problem, unreachable, warning
from ci_reviewer.doctor.needs import STATE_BRANCH
from ci_reviewer.errors import GitHubAPIError
from ci_reviewer.github.probe import ask

if TYPE_CHECKING:
    import github

ACTIONS_SETTING = (
    "Settings -> Actions -> General -> Workflow permissions -> 'Allow GitHub Actions to "
    "create and approve pull requests' (an organization can turn it off for all its "
    "repositories)"
)
# Ruleset rules that refuse the commits ci-reviewer makes to its state branch through the
# contents API (a fast-forward by the token's account, no pull request); `creation` only
# while the branch does not exist.
_BLOCKING_RULES = frozenset(
    {"update", "pull_request", "required_status_checks", "required_deployments", "merge_queue"}
)
# Branch protection settings that refuse those commits.
_BLOCKING_PROTECTION = (
    ("required_pull_request_reviews", "pull request reviews are required"),
    ("required_status_checks", "status checks are required"),
    ("restrictions", "pushes are restricted to listed people, teams or apps"),
)


def actions_pull_requests_check(gh: github.Github, repo: str, jobs: Sequence[str]) -> Check:
    """`can_approve_pull_request_reviews` of the repository, where the token can read it."""
    name = "actions may open pull requests"
    try:
        answer = ask(gh, "GET", f"/repos/{repo}/actions/permissions/workflow")
    except GitHubAPIError as error:
        return unreachable(name, str(error))
    listed = ", ".join(repr(job) for job in jobs)
    if not answer.ok or not isinstance(answer.body, dict):
        return warning(
            name,
            f"this token cannot read the setting (GitHub answered {answer.status}; reading it "
            "needs the Administration permission, which a workflow's GITHUB_TOKEN never has)",
            f"jobs {listed} open pull requests with GITHUB_TOKEN: make sure {ACTIONS_SETTING} "
            "is on, or run doctor once with a token of a repository administrator",
        )
    if answer.body.get("can_approve_pull_request_reviews") is True:
        return ok(name, "GitHub Actions may create pull requests in this repository")
    return problem(
        name,
        f"GitHub Actions may not create pull requests here, so jobs {listed} cannot open "
        "theirs (ci-reviewer then opens an issue instead)",
        f"turn on {ACTIONS_SETTING}",
    )


def state_branch_check(gh: github.Github, repo: str) -> Check:
    """The state branch exists or can be created, and nothing refuses ci-reviewer's commits."""
    name = f"state branch {STATE_BRANCH}"
    try:
        branch = ask(gh, "GET", f"/repos/{repo}/branches/{STATE_BRANCH}")
        if branch.status not in (200, 404):
            return warning(name, f"GitHub answered {branch.status} for the branch", "")
        exists = branch.status == 200
        rules = ask(gh, "GET", f"/repos/{repo}/rules/branches/{STATE_BRANCH}")
        blocked = _ruleset_blocks(rules.body if rules.ok else [], exists)
        protection = _protection(gh, repo, branch.body) if exists else None
    except GitHubAPIError as error:
        return unreachable(name, str(error))
    reasons = [*blocked, *(protection or [])]
    if reasons:
        return problem(
            name,
            f"ci-reviewer's commits to {STATE_BRANCH} would be refused: {'; '.join(reasons)}",
            f"exempt {STATE_BRANCH} from the branch protection and rulesets (or give the "
            "token's account a bypass), or keep the state elsewhere with --state-dir",
        )
    if exists:
        return ok(name, f"{STATE_BRANCH} exists and nothing protects it from ci-reviewer")
    return ok(name, f"{STATE_BRANCH} does not exist yet: the first run creates it")


def _ruleset_blocks(rules: Any, exists: bool) -> list[str]:
    found = []
    for rule in rules if isinstance(rules, list) else []:
        kind = rule.get("type") if isinstance(rule, dict) else None
        if kind in _BLOCKING_RULES or (kind == "creation" and not exists):
            source = rule.get("ruleset_source") or "a ruleset"
            found.append(f"a `{kind}` rule of ruleset {rule.get('ruleset_id')} ({source})")
    return found


def _protection(gh: github.Github, repo: str, branch: Any) -> list[str]:
    """What of the branch's protection refuses ci-reviewer's commits."""
    answer = ask(gh, "GET", f"/repos/{repo}/branches/{STATE_BRANCH}/protection")
    if answer.status == 404:
        return []
    if answer.ok and isinstance(answer.body, dict):
        return [why for key, why in _BLOCKING_PROTECTION if answer.body.get(key)]
    # Protection that this token may not read (it needs Administration): the branch says
    # whether there is any.
    if isinstance(branch, dict) and branch.get("protected"):
        return [
            f"it has branch protection whose rules this token cannot read (GitHub answered "
            f"{answer.status})"
        ]
    return []
