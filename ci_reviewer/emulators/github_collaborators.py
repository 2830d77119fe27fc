"""A user's permission on the repository (`GET /collaborators/{username}/permission`), which
decides whether a comment's author may have the reviewer answer.

GitHub's `permission` holds the legacy base roles `admin`, `write`, `read`, `none` (`maintain`
maps to `write`, `triage` to `read`; the OpenAPI description says so); `role_name` holds the
role itself. Everyone not made a collaborator with `set_collaborator` reads the emulated
repository as anyone reads a public one: `read`.
"""

from __future__ import annotations

from typing import Any

from ci_reviewer.emulators.github_routes import Context, Router
from ci_reviewer.emulators.server import Request, Response

router = Router()
_BASE = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
_PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
_RANK = {"read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}


@router.add("GET", r"/collaborators/(?P<username>[^/]+)/permission")
def collaborator_permission(ctx: Context, _request: Request, params: dict[str, str]) -> Response:
    login = params["username"]
    role = ctx.state.collaborators.get(login, "read")
    user: dict[str, Any] = ctx.links.user(login) | {"role_name": role}
    rank = _RANK.get(role, -1)
    user["permissions"] = {name: rank >= index for index, name in enumerate(_PERMISSIONS)}
    return Response(200, {"permission": _BASE.get(role, "none"), "role_name": role, "user": user})
