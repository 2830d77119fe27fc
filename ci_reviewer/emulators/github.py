"""A GitHub REST API emulator backed by a real git repository (section 7 of DESIGN.md).

Tests and `ci-reviewer emulate` point PyGithub at `emu.url`; the endpoints live in the
`github_*` modules, each with its own router. This module holds what every request goes
through: authentication, write permission, routing, and the record of unknown routes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ci_reviewer.emulators import (
    github_actions_settings,
    github_archives,
    github_branches,
    github_checks,
    github_collaborators,
    github_contents,
    github_control,
    github_gitdata,
    github_graphql,
    github_issues,
    github_page,
    github_pulls,
    github_reviews,
)
from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_git import GitError, GitStore
from ci_reviewer.emulators.github_payloads import DOCS, Links, error
from ci_reviewer.emulators.github_permissions import required_read_scope, required_scope
from ci_reviewer.emulators.github_routes import (
    ACTIONS_BOT,
    Context,
    EmulatorState,
    Quirks,
    Router,
)
from ci_reviewer.emulators.server import EmulatorServer, Fault, Request, Response

ROUTERS: tuple[Router, ...] = (
    github_pulls.router,
    github_reviews.router,
    github_issues.router,
    github_checks.router,
    github_gitdata.router,
    github_branches.router,  # before contents: its /branches/{b} would take /protection
    github_contents.router,
    github_actions_settings.router,
    github_archives.router,
    github_graphql.router,
    github_collaborators.router,
)
# Called with every answered request, from the server's threads. The test suite's
# OpenAPI check registers here, so every emulator a test starts is validated.
ResponseObserver = Callable[[Request, Response], None]
RESPONSE_OBSERVERS: list[ResponseObserver] = []
_RATE = {"limit": 5000, "remaining": 4999, "reset": 1_900_000_000, "used": 1}
# The GitHub App installation behind the emulated GITHUB_TOKEN, as rate-limit messages name it.
INSTALLATION_ID = "48151623"


class GitHubEmulator(EmulatorServer):
    """GitHub's REST API for one repository, over the git repository at `repo_dir`."""

    def __init__(
        self,
        repo_dir: Path,
        full_name: str = "octo/demo",
        token: str | None = "emulator-token",  # noqa: S107 - a fixed test token, not a secret
        default_branch: str = "main",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.git = GitStore(Path(repo_dir))
        self.full_name = full_name
        self.token = token
        self.default_branch = default_branch
        self.actor = ACTIONS_BOT
        self.can_write = True
        self.can_write_checks = True
        self.quirks = Quirks()
        # scope -> none|read|write of the token, as a workflow job's `permissions:` sets it;
        # None: every scope (a token whose permissions are not modelled).
        self.token_scopes: dict[str, str] | None = None
        # A classic personal access token's scopes, which GitHub sends back on every answer
        # in `x-oauth-scopes` (recorded: octokit fixtures, e.g. "repo, user, workflow");
        # None: not a classic token. The scopes are reported, not enforced.
        self.oauth_scopes: str | None = None
        self.state = EmulatorState()
        self.unknown_routes: list[tuple[str, str]] = []
        self._state_lock = threading.RLock()
        # More repositories served on this address (GitHub serves many): full_name -> one.
        self.repositories: dict[str, GitHubEmulator] = {}
        self._served_by: GitHubEmulator | None = None

    def start(self) -> GitHubEmulator:
        super().start()
        return self

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    # -- test helpers (not HTTP) -----------------------------------------------------------
    def add_repository(
        self, repo_dir: Path, full_name: str, default_branch: str = "main"
    ) -> GitHubEmulator:
        """Serve another repository, over the git repository at `repo_dir`, on this
        emulator's address and token; returns it, for its own helpers (`open_pull`...)."""
        other = GitHubEmulator(repo_dir, full_name, self.token, default_branch)
        other._served_by = self
        self.repositories[full_name] = other
        return other

    def set_permissions(self, write: bool = True, checks: bool | None = None) -> None:
        """write=False: the token is read-only, like a fork PR's GITHUB_TOKEN. checks=False:
        it may write all but check runs (a workflow whose `permissions:` leave out
        `checks: write`)."""
        self.can_write = write
        self.can_write_checks = write if checks is None else checks

    def set_workflow_permissions(
        self,
        *,
        can_approve_pull_request_reviews: bool | None = None,
        default_workflow_permissions: str | None = None,
    ) -> None:
        """The repository's Actions workflow permissions. `can_approve_pull_request_reviews`
        is the setting "Allow GitHub Actions to create and approve pull requests": off, a
        pull request opened by the Actions bot is refused with GitHub's 403."""
        with self._state_lock:
            if can_approve_pull_request_reviews is not None:
                self.state.can_approve_pull_request_reviews = can_approve_pull_request_reviews
            if default_workflow_permissions is not None:
                if default_workflow_permissions not in ("read", "write"):
                    raise ValueError("default_workflow_permissions is 'read' or 'write'")
                self.state.default_workflow_permissions = default_workflow_permissions

    def restrict_ref_creation(
        self, pattern: str = "~ALL", answer_key: str = "ref-creation-restricted"
    ) -> None:
        """A ruleset whose "Restrict creations" rule covers refs matching `pattern` (GitHub's
        `ref_name` syntax: `refs/heads/release-*`, `~ALL`); POST /git/refs for such a ref is
        refused with the answer `answer_key` (GitHub has been seen answering
        "ref-creation-restricted" and "ref-update-failed")."""
        with self._state_lock:
            self.state.creation_rules.append((pattern, answer_key))

    def protect_branch(
        self, branch: str, *, reviews: bool = True, checks: tuple[str, ...] = ()
    ) -> None:
        """Branch protection on `branch`: pull request reviews required (`reviews`) and the
        status checks `checks` required; GET /branches/{branch} then says `protected`."""
        with self._state_lock:
            self.state.branch_protections[branch] = (reviews, tuple(checks))

    def add_branch_rule(self, pattern: str, rule_type: str) -> None:
        """A ruleset rule (`update`, `pull_request`, `required_status_checks`...) on refs
        matching `pattern`, as GET /rules/branches/{branch} reports it. Only creation rules
        (`restrict_ref_creation`) are enforced on writes."""
        with self._state_lock:
            self.state.branch_rules.append((pattern, rule_type))

    def refuse_contents_writes(
        self, pattern: str = "~ALL", answer_key: str = "contents-branch-protected"
    ) -> None:
        """Branch protection (or a ruleset) requiring pull requests or status checks on refs
        matching `pattern`: a contents PUT or DELETE there is refused with `answer_key`."""
        with self._state_lock:
            self.state.protected_branches.append((pattern, answer_key))

    def set_collaborator(self, login: str, role: str) -> None:
        """`login`'s role on the repository: admin, maintain, write, triage or read."""
        with self._state_lock:
            self.state.collaborators[login] = role

    def set_token_scopes(self, scopes: Mapping[str, str] | None) -> None:
        """The token's permissions, e.g. {"contents": "write", "pull-requests": "write"}
        (a job's `permissions:`); every scope it does not name is `none`."""
        self.token_scopes = (
            None if scopes is None else {k.replace("-", "_"): v for k, v in scopes.items()}
        )

    def open_pull(  # noqa: PLR0917 - the documented helper signature others call
        self,
        head: str,
        base: str = "main",
        title: str = "Emulated pull request",
        body: str = "",
        user: str = "octocat",
        fork: bool = False,
    ) -> int:
        """Open a PR from branch `head` onto `base` as `user`; returns its number."""
        with self._state_lock:
            pull = github_pulls.new_pull(
                self._context(), head, base, title=title, body=body, user=user, fork=fork
            )
        return int(pull["number"])

    def close_pull(self, number: int, merged: bool = False) -> None:
        with self._state_lock:
            ctx = self._context()
            pull = self.state.pulls[number]
            github_pulls.head_sha(ctx, pull)
            pull["state"] = "closed"
            pull["closed_at"] = ctx.now()
            pull["merged"] = merged
            pull["merged_at"] = pull["closed_at"] if merged else None

    # -- HTTP ------------------------------------------------------------------------------
    def _context(self) -> Context:
        server = self._served_by or self
        base = server.url if server._httpd is not None else "http://127.0.0.1:0"
        links = Links(base, self.full_name, self.default_branch)
        return Context(
            links, self.git, self.state, self.actor, self._state_lock, self.quirks, self._grants
        )

    def _grants(self, scope: str) -> bool:
        if not self.can_write:
            return False
        return self.token_scopes is None or self.token_scopes.get(scope) == "write"

    def fault_response(self, fault: Fault) -> Response:
        response = super().fault_response(fault)
        if fault.answer is not None:
            real = answer(fault.answer, response.headers, installation=INSTALLATION_ID)
            real.body["status"] = str(fault.status)
            return Response(fault.status, real.body, real.headers)
        if fault.body is None:
            response.body = error("Injected fault", DOCS, status=str(fault.status))
        return response

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and github_page.is_page(request.path, self.full_name):
            # The page for a browser, not the API: no token, and no API observers.
            with self._state_lock:
                return github_page.answer(self._context(), request.path)
        if github_control.is_control(request.method, request.path):
            # A person's action from a shell (`emulate`), not the workflow's token.
            with self._state_lock:
                return github_control.handle(self._context(), request)
        download = github_archives.download_target(unquote(request.path))
        if request.method == "GET" and download is not None:
            # The download host, not the API: no token asked, and no API observers.
            full_name, ref = download
            serving = self if full_name == self.full_name else self.repositories.get(full_name)
            if serving is None:
                return Response(404, b"404: Not Found", {"Content-Type": "text/plain"})
            with serving._state_lock:
                return github_archives.download(serving._context(), ref)
        response = self._answer(request)
        if self.oauth_scopes is not None:
            response.headers["x-oauth-scopes"] = self.oauth_scopes
        for observer in list(RESPONSE_OBSERVERS):
            observer(request, response)
        return response

    def _answer(self, request: Request) -> Response:
        path = unquote(request.path).rstrip("/") or "/"
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        other = self._other_repository(path)
        if other is not None:
            return other._answer(request)
        if request.method != "GET" and path != "/graphql" and not self._may_write(path):
            return answer("not-accessible-by-integration")
        try:
            with self._state_lock:
                refused = self._missing_scope(request.method, path)
                if refused is not None:
                    return refused
                return self._route(request, path)
        except GitError as exc:
            return Response(422, error(f"Git error: {exc}", DOCS, status="422"))

    def _other_repository(self, path: str) -> GitHubEmulator | None:
        for full_name, other in self.repositories.items():
            prefix = f"/repos/{full_name}"
            if path == prefix or path.startswith(prefix + "/"):
                return other
        return None

    def _may_write(self, path: str) -> bool:
        if "/check-runs" in path:
            return self.can_write_checks
        return self.can_write

    def _missing_scope(self, method: str, path: str) -> Response | None:
        prefix = f"/repos/{self.full_name}"
        if not path.startswith(prefix + "/"):
            return None
        if method == "GET":
            return self._missing_read_scope(path[len(prefix) :])
        if self.token_scopes is None:
            return None
        scope = required_scope(method, path[len(prefix) :], self.state)
        if scope is None or self.token_scopes.get(scope) == "write":
            return None
        return answer(
            "missing-token-permission", {"x-accepted-github-permissions": f"{scope}=write"}
        )

    def _missing_read_scope(self, path: str) -> Response | None:
        """A read that needs more than access to the repository: refused to the Actions bot
        (no workflow `permissions:` key grants it) and to a token whose scopes lack it."""
        rule = required_read_scope(path)
        if rule is None:
            return None
        scope, refusal = rule
        granted = self.token_scopes is None or self.token_scopes.get(scope) in ("read", "write")
        if self.actor != ACTIONS_BOT and granted:
            return None
        return answer(refusal, {"x-accepted-github-permissions": f"{scope}=read"})

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return answer("requires-authentication")
        if scheme.lower() not in ("token", "bearer") or (
            self.token is not None and token != self.token
        ):
            return answer("bad-credentials")
        return None

    def _route(self, request: Request, path: str) -> Response:
        ctx = self._context()
        prefix = f"/repos/{self.full_name}"
        global_answer = self._global(ctx, request, path)
        if global_answer is not None:
            return global_answer
        scoped = path.startswith(prefix + "/") or path == prefix
        if scoped:
            for router in ROUTERS:
                found = router.match(request.method, path[len(prefix) :], repo_scoped=True)
                if found is not None:
                    handler, params = found
                    return handler(ctx, request, params)
        elif path.startswith("/repos/") and self._known_repo_route(request.method, path):
            return answer("not-found")
        self.unknown_routes.append((request.method, path))
        return answer("not-found")

    def _known_repo_route(self, method: str, path: str) -> bool:
        """A route we implement, asked of another repository: a plain 404, not a gap."""
        parts = path.split("/", 4)
        rest = "/" + parts[4] if len(parts) > 4 else ""
        return any(r.match(method, rest, repo_scoped=True) for r in ROUTERS)

    def _global(self, ctx: Context, request: Request, path: str) -> Response | None:
        for router in ROUTERS:
            found = router.match(request.method, path, repo_scoped=False)
            if found is not None:
                handler, params = found
                return handler(ctx, request, params)
        if request.method == "GET" and path == "/user":
            return Response(200, _user(ctx))
        if request.method == "GET" and path == "/rate_limit":
            resources = {name: dict(_RATE) for name in ("core", "search", "graphql")}
            return Response(200, {"resources": resources, "rate": dict(_RATE)})
        return None


def _user(ctx: Context) -> dict[str, Any]:
    body = ctx.links.user(ctx.actor)
    body |= {
        "name": None,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 1,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        # GET /user answers public-user or private-user, told apart by this discriminator.
        "user_view_type": "public",
    }
    return body
