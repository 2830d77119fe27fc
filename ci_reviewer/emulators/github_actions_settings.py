"""A repository's GitHub Actions settings that change what the Actions bot may do.

Only the workflow permissions: the default GITHUB_TOKEN access and "Allow GitHub Actions to
create and approve pull requests" (`can_approve_pull_request_reviews`), which the pull
request endpoints consult. Reading them needs the repository Administration permission,
which a workflow's GITHUB_TOKEN never has, so the Actions bot is refused as on GitHub (the
refusal is `github_permissions`' read rule).
"""

from __future__ import annotations

from ci_reviewer.emulators.github_routes import ACTIONS_BOT, Context, Router
from ci_reviewer.emulators.server import Request, Response

router = Router()


def actions_may_open_pull_requests(ctx: Context) -> bool:
    """Whether the caller may open a pull request under the repository's Actions settings:
    the setting binds only the Actions bot (a person's token is not concerned)."""
    return ctx.actor != ACTIONS_BOT or ctx.state.can_approve_pull_request_reviews


@router.add("GET", r"/actions/permissions/workflow")
def read_workflow_permissions(ctx: Context, _: Request, __: dict[str, str]) -> Response:
    # The Actions bot is refused before this (github_permissions.required_read_scope).
    return Response(
        200,
        {
            "default_workflow_permissions": ctx.state.default_workflow_permissions,
            "can_approve_pull_request_reviews": ctx.state.can_approve_pull_request_reviews,
        },
    )
