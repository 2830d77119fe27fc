"""Repository, branches, commits, compare and the contents API.

A contents PUT/DELETE is a compare-and-swap on the file's blob sha: a missing sha for an
existing file is 422, a stale one 409, as on GitHub; success is a real commit on the branch.
A GET names a ref that does not exist as GitHub does ("No commit found for the ref ..."), and
a file over 1 MB comes as GitHub sends it: `"encoding": "none"` and no content, to be read
through the git blobs API (up to 100 MB).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_git import GitError, TreeEntry
from ci_reviewer.emulators.github_gitdata import encode_content, ruleset_matches
from ci_reviewer.emulators.github_payloads import DOCS, error
from ci_reviewer.emulators.github_routes import (
    Context,
    Router,
    invalid_field,
    json_body,
    not_found,
    paginate,
)
from ci_reviewer.emulators.server import Request, Response

router = Router()
CONTENTS_DOCS = f"{DOCS}/repos/contents#create-or-update-file-contents"
# GitHub's contents API sends a file's content up to 1 MB; between 1 and 100 MB it answers
# the metadata with `"encoding": "none"` and `"content": ""` (docs: "Get repository content").
CONTENT_LIMIT = 1024 * 1024


@router.add("GET", r"")
def read_repo(ctx: Context, _: Request, __: dict[str, str]) -> Response:
    return Response(200, ctx.links.repo(full=True))


@router.add("GET", r"/branches/(?P<branch>.+)")
def read_branch(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    name = params["branch"]
    sha = ctx.git.refs(f"refs/heads/{name}").get(f"refs/heads/{name}")
    if sha is None:
        return answer("branch-not-found")
    url = f"{ctx.links.api}/branches/{name}"
    return Response(
        200,
        {
            "name": name,
            "commit": ctx.links.commit(ctx.git.commit(sha)),
            "_links": {"self": url, "html": f"{ctx.links.html}/tree/{name}"},
            "protected": name in ctx.state.branch_protections,
            "protection": {"enabled": name in ctx.state.branch_protections},
            "protection_url": f"{url}/protection",
        },
    )


@router.add("GET", r"/commits/(?P<ref>[^/]+)")
def read_commit(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    sha = ctx.git.resolve(params["ref"])
    if sha is None:
        return answer("commit-sha-missing", sha=params["ref"])
    info = ctx.git.commit(sha)
    files = ctx.git.diff(info.parents[0], sha) if info.parents else ctx.git.diff(sha, sha)
    return Response(200, ctx.links.commit(info, files))


@router.add("GET", r"/compare/(?P<base>.+?)\.\.\.(?P<head>.+)")
def compare(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    base, head = ctx.git.resolve(params["base"]), ctx.git.resolve(params["head"])
    if base is None or head is None:
        return not_found()  # a commit a force-push dropped and GitHub collected
    merge_base = ctx.git.merge_base(base, head)
    if merge_base is None:  # both exist, but the histories never met
        return answer("compare-no-common-ancestor", base=params["base"], head=params["head"])
    ahead = ctx.git.commits_between(base, head)
    behind = ctx.git.commits_between(head, base)
    status = (
        "identical"
        if not ahead and not behind
        else "diverged"
        if ahead and behind
        else "ahead"
        if ahead
        else "behind"
    )
    spec = f"{params['base']}...{params['head']}"
    page = paginate(ctx, request, [ctx.links.commit(ctx.git.commit(s)) for s in ahead])
    body = {
        "url": f"{ctx.links.api}/compare/{spec}",
        "html_url": f"{ctx.links.html}/compare/{spec}",
        "permalink_url": f"{ctx.links.html}/compare/{base}...{head}",
        "diff_url": f"{ctx.links.html}/compare/{spec}.diff",
        "patch_url": f"{ctx.links.html}/compare/{spec}.patch",
        "base_commit": ctx.links.commit(ctx.git.commit(base)),
        "merge_base_commit": ctx.links.commit(ctx.git.commit(merge_base)),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": page.body,
        "files": [ctx.links.diff_entry(f) for f in ctx.git.diff(base, head)[:300]],
    }
    return Response(200, body, page.headers)


# -- contents --------------------------------------------------------------------------------
def _content_item(ctx: Context, entry: TreeEntry, ref: str) -> dict[str, Any]:
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}.get(entry.type, "file")
    url = f"{ctx.links.api}/contents/{entry.path}?ref={ref}"
    html = f"{ctx.links.html}/{'blob' if kind == 'file' else 'tree'}/{ref}/{entry.path}"
    git_url = f"{ctx.links.api}/git/{entry.type}s/{entry.sha}"
    return {
        "type": kind,
        "size": entry.size or 0,
        "name": entry.path.rsplit("/", 1)[-1],
        "path": entry.path,
        "sha": entry.sha,
        "url": url,
        "git_url": git_url,
        "html_url": html,
        "download_url": f"{ctx.links.html}/raw/{ref}/{entry.path}" if kind == "file" else None,
        "_links": {"self": url, "git": git_url, "html": html},
    }


@router.add("GET", r"/contents(?:/(?P<path>.*))?")
def read_contents(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    ref = request.param("ref") or ctx.links.default_branch
    commit = ctx.git.resolve(ref)
    if commit is None:
        return answer("contents-ref-missing", ref=ref)
    path = (params.get("path") or "").strip("/")
    entry = ctx.git.entry_at(commit, path)
    if entry is None:
        return answer("contents-not-found")
    if entry.type == "tree":
        items = [
            _content_item(
                ctx, TreeEntry(e.mode, e.type, e.sha, f"{path}/{e.path}".lstrip("/"), e.size), ref
            )
            for e in ctx.git.tree(entry.sha)
        ]
        return Response(200, items)
    raw = ctx.git.read_object(entry.sha)
    if entry.mode == _LINK:
        target = _link_target(ctx, commit, path, raw)
        if target is None:
            return Response(200, _symlink_item(ctx, entry, path, raw, ref))
        entry, path, raw = target, target.path, ctx.git.read_object(target.sha)
    body = _content_item(ctx, TreeEntry(entry.mode, entry.type, entry.sha, path, len(raw)), ref)
    if len(raw) > CONTENT_LIMIT:
        body |= {"content": "", "encoding": "none"}
    else:
        body |= {"content": encode_content(raw), "encoding": "base64"}
    return Response(200, body)


_LINK = "120000"


def _link_target(ctx: Context, commit: str, path: str, raw: bytes) -> TreeEntry | None:
    """The regular file of the repository a link leads to, as GitHub serves it in the
    link's place ("If the content is a symlink and the symlink's target is a normal file in
    the repository, then the API responds with the content of the file", docs "Get
    repository content"; the answer's `path` is the target's, hub4j/github-api#875); None
    for any other link (out of the repository, to a folder, to another link, dangling)."""
    target = raw.decode("utf-8", "surrogateescape")
    if target.startswith("/"):
        return None
    parts: list[str] = path.split("/")[:-1]
    for part in target.split("/"):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    entry = ctx.git.entry_at(commit, "/".join(parts)) if parts else None
    if entry is None or entry.type != "blob" or entry.mode == _LINK:
        return None
    return TreeEntry(entry.mode, entry.type, entry.sha, "/".join(parts), entry.size)


def _symlink_item(
    ctx: Context, entry: TreeEntry, path: str, raw: bytes, ref: str
) -> dict[str, Any]:
    """GitHub's `content-symlink` answer: the link itself, its target and no content."""
    item = _content_item(ctx, TreeEntry(entry.mode, entry.type, entry.sha, path, len(raw)), ref)
    return item | {"type": "symlink", "target": raw.decode("utf-8", "replace")}


def _conflict(path: str, sha: str) -> Response:
    return answer("contents-sha-mismatch", path=path, sha=sha)


def _cas_error(current: TreeEntry | None, given: Any, path: str, deleting: bool) -> Response | None:
    """GitHub's refusals for a contents write whose `sha` does not fit the file."""
    if deleting and current is None:
        return Response(404, error("Not Found", CONTENTS_DOCS, status="404"))
    if current is not None and not given:
        return answer("contents-sha-missing")
    if current is not None and given != current.sha:
        return _conflict(path, str(given))
    return None


def _protection_error(ctx: Context, ref: str) -> Response | None:
    """A protected branch's refusal of any contents write (whatever the sha)."""
    for pattern, key in ctx.state.protected_branches:
        if ruleset_matches(pattern, ref, ctx.links.default_branch):
            return answer(key)
    return None


def _write(ctx: Context, request: Request, path: str, deleting: bool) -> Response:
    data = json_body(request)
    if not data.get("message"):
        return invalid_field("Content", "message")
    branch = str(data.get("branch") or ctx.links.default_branch)
    ref = f"refs/heads/{branch}"
    tip = ctx.git.refs(ref).get(ref)
    if tip is None:
        return Response(404, error(f"Branch {branch} not found", CONTENTS_DOCS, status="404"))
    current = ctx.git.entry_at(tip, path)
    refused = _protection_error(ctx, ref) or _cas_error(current, data.get("sha"), path, deleting)
    if refused is not None:
        return refused
    entry: TreeEntry | None = None
    if not deleting:
        try:
            raw = base64.b64decode(str(data.get("content") or ""), validate=True)
        except (binascii.Error, ValueError):
            return invalid_field("Content", "content", "invalid")
        entry = TreeEntry("100644", "blob", ctx.git.hash_blob(raw), path, len(raw))
    tree = ctx.git.tree_with(ctx.git.commit(tip).tree, {path: entry})
    author = data.get("author") or data.get("committer")
    person = (
        ctx.person()
        if not isinstance(author, dict)
        else ctx.person().__class__(str(author.get("name")), str(author.get("email")), ctx.now())
    )
    sha = ctx.git.commit_tree(tree, [tip], str(data["message"]), person, person)
    try:
        ctx.git.update_ref(ref, sha, tip)
    except GitError:
        return _conflict(path, str(data.get("sha")))
    commit = ctx.links.git_commit(ctx.git.commit(sha))
    content = None if entry is None else _content_item(ctx, entry, branch)
    status = 200 if current is not None else 201
    return Response(status, {"content": content, "commit": commit})


@router.add("PUT", r"/contents/(?P<path>.+)")
def put_contents(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    return _write(ctx, request, params["path"].strip("/"), deleting=False)


@router.add("DELETE", r"/contents/(?P<path>.+)")
def delete_contents(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    return _write(ctx, request, params["path"].strip("/"), deleting=True)
