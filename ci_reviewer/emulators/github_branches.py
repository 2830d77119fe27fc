"""What protects a branch: its branch protection and the rulesets whose rules apply to it.

GET /branches/{branch}/protection answers the protection (the shape of the recorded
octokit:branch-protection exchanges), 404 "Branch not protected" for a branch without one
(recorded: octokit:branch-protection#0, pygithub:Branch.testRemoveProtection.txt), and 403
to a token without the repository Administration permission, which a workflow's
GITHUB_TOKEN never has ("Permissions required for GitHub Apps": branch protection is under
Administration; `github_permissions.required_read_scope`). GET /rules/branches/{branch}
answers the rules of every active ruleset whose `ref_name` condition covers the branch
(docs: "Get rules for a branch", readable by anyone who can read the repository), each as a
`repository-rule-detailed` of GitHub's OpenAPI description: the rule's `type` and the
ruleset it comes from.
"""

from __future__ import annotations

from typing import Any

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_gitdata import ruleset_matches
from ci_reviewer.emulators.github_routes import Context, Router
from ci_reviewer.emulators.server import Request, Response

router = Router()
# The id the emulated repository's rulesets are numbered from (an ordinary ruleset id).
FIRST_RULESET_ID = 4200


def protection_body(
    api: str, branch: str, *, reviews: bool, checks: tuple[str, ...]
) -> dict[str, Any]:
    """A branch protection as GitHub answers it (recorded octokit:branch-protection#2)."""
    url = f"{api}/branches/{branch}/protection"
    body: dict[str, Any] = {
        "url": url,
        "required_signatures": {"url": f"{url}/required_signatures", "enabled": False},
        "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": False},
        "required_linear_history": {"enabled": False},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
        "block_creations": {"enabled": False},
        "required_conversation_resolution": {"enabled": False},
    }
    if reviews:
        body["required_pull_request_reviews"] = {
            "url": f"{url}/required_pull_request_reviews",
            "dismiss_stale_reviews": False,
            "require_code_owner_reviews": False,
            "require_last_push_approval": False,
            "required_approving_review_count": 1,
        }
    if checks:
        body["required_status_checks"] = {
            "url": f"{url}/required_status_checks",
            "strict": True,
            "contexts": list(checks),
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": name, "app_id": None} for name in checks],
        }
    return body


@router.add("GET", r"/branches/(?P<branch>.+)/protection")
def read_protection(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    branch = params["branch"]
    if ctx.git.refs(f"refs/heads/{branch}").get(f"refs/heads/{branch}") is None:
        return answer("branch-not-found")
    protection = ctx.state.branch_protections.get(branch)
    if protection is None:
        return answer("branch-not-protected")
    reviews, checks = protection
    return Response(200, protection_body(ctx.links.api, branch, reviews=reviews, checks=checks))


@router.add("GET", r"/rules/branches/(?P<branch>.+)")
def read_branch_rules(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    ref = f"refs/heads/{params['branch']}"
    rules = [(pattern, "creation") for pattern, _key in ctx.state.creation_rules]
    rules += ctx.state.branch_rules
    return Response(
        200,
        [
            {
                "type": rule_type,
                "ruleset_source_type": "Repository",
                "ruleset_source": ctx.links.full_name,
                "ruleset_id": FIRST_RULESET_ID + index,
            }
            for index, (pattern, rule_type) in enumerate(rules)
            if ruleset_matches(pattern, ref, ctx.links.default_branch)
        ],
    )
