"""A user's permission on the repository (`GET /collaborators/{username}/permission`), which
decides whether a comment's author may have the reviewer answer.

GitHub's `permission` holds the legacy base roles `admin`, `write`, `read`, `none` (`maintain`
maps to `write`, `triage` to `read`; the OpenAPI description says so); `role_name` holds the
role itself. Everyone not made a collaborator with `set_collaborator` reads the emulated
repository as anyone reads a public one: `read`.

Who may ask: GitHub refuses the token of an account without push access to the repository
(403, recorded; `collaborator-permission-needs-push`). A workflow's GITHUB_TOKEN (the Actions
bot) reads it with the metadata permission every job's token has, so only a person's token
(the emulator's `actor` set to a login) is refused, when that person's own role is below
write.
"""

from __future__ import annotations

from typing import Any

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_routes import ACTIONS_BOT, Context, Router
from ci_reviewer.emulators.server import Request, Response

router = Router()
_BASE = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
_PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
_RANK = {"read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}


@router.add("GET", r"/collaborators/(?P<username>[^/]+)/permission")
def collaborator_permission(ctx: Context, _request: Request, params: dict[str, str]) -> Response:
    if not _may_read_permissions(ctx):
        return answer("collaborator-permission-needs-push")
    login = params["username"]
    role = ctx.state.collaborators.get(login, "read")
    user: dict[str, Any] = ctx.links.user(login) | {"role_name": role}
    rank = _RANK.get(role, -1)
    user["permissions"] = {name: rank >= index for index, name in enumerate(_PERMISSIONS)}
    return Response(200, {"permission": _BASE.get(role, "none"), "role_name": role, "user": user})


def _may_read_permissions(ctx: Context) -> bool:
    """The Actions bot's token, or a person's whose own role has push (module docstring)."""
    own = ctx.state.collaborators.get(ctx.actor, "read")
    return ctx.actor == ACTIONS_BOT or _RANK.get(own, -1) >= _RANK["write"]
