"""Pull requests: list, create, get, edit, files (with patches) and commits.

A PR's head follows its branch in the backing repository while it is open, so commits the
product pushes through the git data API show up in the PR as they do on GitHub; its files
are the 3-dot diff base...head computed by git.

`base.sha` is what GitHub reports: the base branch's tip when the PR was opened, moved to the
tip of that moment each time the head is pushed (a `synchronize`) or the base is changed (the
new base's tip: assumed, no recording); not the merge base, and not the live tip
(github/docs#431: "latest commit of the base branch at the time the PR got created";
Mergifyio/mergify#3480; omacom/omarchy-pkgs#554: "a snapshot taken at the PR's last push").
The emulator notices a push when it next reads the PR, so the snapshot is the base's tip at
that read.
"""

from __future__ import annotations

from typing import Any

from ci_reviewer.emulators.github_actions_settings import actions_may_open_pull_requests
from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_git import FileChange
from ci_reviewer.emulators.github_payloads import error, stable_id
from ci_reviewer.emulators.github_routes import (
    Context,
    Router,
    invalid_field,
    json_body,
    not_found,
    paginate,
    unprocessable,
)
from ci_reviewer.emulators.server import Request, Response

router = Router()
MAX_FILES = 3000
MAX_COMMITS = 250


def head_sha(ctx: Context, pull: dict[str, Any]) -> str:
    """The PR's head: its branch tip while open (pushes update the PR), else frozen. A push
    synchronizes the PR, which takes a new snapshot of the base branch's tip."""
    if pull["state"] == "open" and not pull.get("fork"):
        live = ctx.git.resolve(pull["head"])
        if live and live != pull["head_sha"]:
            pull["head_sha"] = live
            pull["base_sha"] = ctx.git.resolve(pull["base"]) or pull["base_sha"]
    return str(pull["head_sha"])


def pull_files(ctx: Context, pull: dict[str, Any], commit: str | None = None) -> list[FileChange]:
    return ctx.git.diff(pull["base_sha"], commit or head_sha(ctx, pull))


def _branch(ctx: Context, ref: str, sha: str, user: str) -> dict[str, Any]:
    return {
        "label": f"{user}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": ctx.links.user(user),
        "repo": ctx.links.repo(),
    }


def render_pull(ctx: Context, pull: dict[str, Any], simple: bool = False) -> dict[str, Any]:
    number = pull["number"]
    url = f"{ctx.links.api}/pulls/{number}"
    html = f"{ctx.links.html}/pull/{number}"
    issue_url = f"{ctx.links.api}/issues/{number}"
    head = head_sha(ctx, pull)
    head_owner = pull["user"] if pull.get("fork") else ctx.links.owner
    body: dict[str, Any] = {
        "url": url,
        "id": stable_id("pull", number),
        "node_id": f"PR_{number}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_url,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{ctx.links.api}/pulls/comments{{/number}}",
        "comments_url": f"{issue_url}/comments",
        "statuses_url": f"{ctx.links.api}/statuses/{head}",
        "number": number,
        "state": pull["state"],
        "locked": False,
        "title": pull["title"],
        "user": ctx.links.user(pull["user"]),
        "body": pull["body"],
        "labels": pull["labels"],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pull["created_at"],
        "updated_at": pull["updated_at"],
        "closed_at": pull["closed_at"],
        "merged_at": pull["merged_at"],
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch(ctx, pull["head"], head, head_owner),
        "base": _branch(ctx, pull["base"], pull["base_sha"], ctx.links.owner),
        "_links": {
            name: {"href": href}
            for name, href in {
                "self": url,
                "html": html,
                "issue": issue_url,
                "comments": f"{issue_url}/comments",
                "review_comments": f"{url}/comments",
                "review_comment": f"{ctx.links.api}/pulls/comments{{/number}}",
                "commits": f"{url}/commits",
                "statuses": f"{ctx.links.api}/statuses/{head}",
            }.items()
        },
        "author_association": "CONTRIBUTOR" if pull.get("fork") else "MEMBER",
        "auto_merge": None,
        "draft": pull.get("draft", False),
    }
    if not simple:
        body |= _pull_counts(ctx, pull)
    return body


def _pull_counts(ctx: Context, pull: dict[str, Any]) -> dict[str, Any]:
    files = pull_files(ctx, pull)
    number = pull["number"]
    return {
        "merged": pull["merged"],
        "mergeable": None if pull["merged"] else True,
        "rebaseable": None,
        "mergeable_state": "clean",
        "merged_by": ctx.links.user(ctx.actor) if pull["merged"] else None,
        "comments": len(ctx.state.issue_comments.get(number, [])),
        "review_comments": len(ctx.state.review_comments.get(number, [])),
        "maintainer_can_modify": False,
        "commits": len(ctx.git.commits_between(pull["base_sha"], head_sha(ctx, pull))),
        "additions": sum(f.additions for f in files),
        "deletions": sum(f.deletions for f in files),
        "changed_files": len(files),
    }


def new_pull(
    ctx: Context, head: str, base: str, *, title: str, body: str | None, user: str, fork: bool
) -> dict[str, Any]:
    head_commit = ctx.git.resolve(head)
    base_commit = ctx.git.resolve(base)
    assert head_commit and base_commit, (head, base)
    now = ctx.now()
    number = ctx.state.new_number()
    pull = {
        "number": number,
        "title": title,
        "body": body,
        "state": "open",
        "head": head,
        "base": base,
        "head_sha": head_commit,
        "base_sha": base_commit,
        "user": user,
        "fork": fork,
        "merged": False,
        "merged_at": None,
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
        "labels": [],
    }
    ctx.state.pulls[number] = pull
    return pull


def get_pull(ctx: Context, number: str) -> dict[str, Any] | None:
    return ctx.state.pulls.get(int(number))


@router.add("GET", r"/pulls")
def list_pulls(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    state = request.param("state", "open")
    head = request.param("head")
    base = request.param("base")
    found = []
    for pull in sorted(ctx.state.pulls.values(), key=lambda p: -p["number"]):
        owner = pull["user"] if pull.get("fork") else ctx.links.owner
        if state != "all" and pull["state"] != state:
            continue
        if head and head not in (f"{owner}:{pull['head']}", pull["head"]):
            continue
        if base and pull["base"] != base:
            continue
        found.append(render_pull(ctx, pull, simple=True))
    return paginate(ctx, request, found)


@router.add("POST", r"/pulls")
def create_pull(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    if not actions_may_open_pull_requests(ctx):
        return answer("actions-cannot-create-pull-requests")
    data = json_body(request)
    head = str(data.get("head") or "").split(":")[-1]
    base = str(data.get("base") or "")
    if not data.get("title") or not head or not base:
        missing = "title" if not data.get("title") else ("head" if not head else "base")
        return invalid_field("PullRequest", missing)
    head_commit, base_commit = ctx.git.resolve(head), ctx.git.resolve(base)
    if head_commit is None or base_commit is None:
        return invalid_field("PullRequest", "head" if head_commit is None else "base", "invalid")
    for pull in ctx.state.pulls.values():
        if pull["state"] == "open" and pull["head"] == head and pull["base"] == base:
            return unprocessable(
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {ctx.links.owner}:{head}.",
                    }
                ],
            )
    if not ctx.git.commits_between(base_commit, head_commit):
        return unprocessable(
            "Validation Failed",
            [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {head}",
                }
            ],
        )
    pull = new_pull(
        ctx,
        head,
        base,
        title=str(data["title"]),
        body=data.get("body"),
        user=ctx.actor,
        fork=False,
    )
    pull["draft"] = bool(data.get("draft", False))
    return Response(201, render_pull(ctx, pull))


@router.add("GET", r"/pulls/(?P<number>\d+)")
def read_pull(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    return Response(200, render_pull(ctx, pull)) if pull else not_found()


@router.add("PATCH", r"/pulls/(?P<number>\d+)")
def edit_pull(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    data = json_body(request)
    for key in ("title", "body"):
        if key in data:
            pull[key] = data[key]
    if data.get("state") in ("open", "closed") and data["state"] != pull["state"]:
        head_sha(ctx, pull)  # freeze the head as it was when closed
        pull["state"] = data["state"]
        pull["closed_at"] = ctx.now() if data["state"] == "closed" else None
    if data.get("base"):
        base_commit = ctx.git.resolve(str(data["base"]))
        if base_commit is None:
            return invalid_field("PullRequest", "base", "invalid")
        head_sha(ctx, pull)
        pull["base"] = data["base"]
        pull["base_sha"] = base_commit
    pull["updated_at"] = ctx.now()
    return Response(200, render_pull(ctx, pull))


@router.add("GET", r"/pulls/(?P<number>\d+)/files")
def list_pull_files(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    files = pull_files(ctx, pull)[:MAX_FILES]
    return paginate(ctx, request, [ctx.links.diff_entry(f) for f in files])


@router.add("GET", r"/pulls/(?P<number>\d+)/commits")
def list_pull_commits(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    shas = ctx.git.commits_between(pull["base_sha"], head_sha(ctx, pull))[:MAX_COMMITS]
    return paginate(ctx, request, [ctx.links.commit(ctx.git.commit(s)) for s in shas])


def forbidden() -> Response:
    return Response(403, error("Resource not accessible by integration", status="403"))
