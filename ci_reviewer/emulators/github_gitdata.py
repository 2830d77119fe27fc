"""The git data API (blobs, trees, commits, refs), written as real objects in the repository.

A branch the product creates with these calls is a real ref in the backing repository, so a
test can `git show` what the product pushed. A ruleset that restricts creation (set with
`GitHubEmulator.restrict_ref_creation`) refuses a new ref it matches with GitHub's 422.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_git import GitError, Person, TreeEntry
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


def encode_content(raw: bytes) -> str:
    """Base64 wrapped at 60 columns, as GitHub sends file contents."""
    text = base64.b64encode(raw).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


@router.add("POST", r"/git/blobs")
def create_blob(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    data = json_body(request)
    if "content" not in data:
        return invalid_field("Blob", "content")
    content = str(data["content"])
    raw = base64.b64decode(content) if data.get("encoding") == "base64" else content.encode()
    sha = ctx.git.hash_blob(raw)
    return Response(201, {"sha": sha, "url": f"{ctx.links.api}/git/blobs/{sha}"})


@router.add("GET", r"/git/blobs/(?P<sha>[0-9a-f]{4,40})")
def read_blob(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    if ctx.git.object_type(params["sha"]) != "blob":
        return not_found()
    raw = ctx.git.read_object(params["sha"])
    sha = ctx.git.text("rev-parse", params["sha"])
    return Response(
        200,
        {
            "sha": sha,
            "node_id": f"B_{sha}",
            "url": f"{ctx.links.api}/git/blobs/{sha}",
            "size": len(raw),
            "content": encode_content(raw),
            "encoding": "base64",
        },
    )


def render_tree(ctx: Context, sha: str, recursive: bool = False) -> dict[str, Any]:
    entries = []
    for entry in ctx.git.tree(sha, recursive):
        item: dict[str, Any] = {
            "path": entry.path,
            "mode": entry.mode,
            "type": entry.type,
            "sha": entry.sha,
            "url": f"{ctx.links.api}/git/{entry.type}s/{entry.sha}",
        }
        if entry.size is not None:
            item["size"] = entry.size
        entries.append(item)
    return {
        "sha": sha,
        "url": f"{ctx.links.api}/git/trees/{sha}",
        "tree": entries,
        "truncated": False,
    }


@router.add("POST", r"/git/trees")
def create_tree(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    data = json_body(request)
    if not isinstance(data.get("tree"), list):
        return invalid_field("Tree", "tree")
    base = data.get("base_tree")
    if base and ctx.git.resolve(str(base), "tree") is None:
        return unprocessable("base_tree is not a valid tree oid")
    changes: dict[str, TreeEntry | None] = {}
    for item in data["tree"]:
        path, mode = str(item.get("path") or ""), str(item.get("mode") or "100644")
        kind = str(item.get("type") or "blob")
        if not path:
            return invalid_field("Tree", "path")
        if "content" in item:
            changes[path] = TreeEntry(
                mode, kind, ctx.git.hash_blob(str(item["content"]).encode()), path
            )
        elif item.get("sha") is None:
            changes[path] = None  # GitHub: a null sha deletes the path
        elif ctx.git.object_type(str(item["sha"])) != kind:
            return unprocessable(f"tree.sha {item['sha']} is not a valid {kind}")
        else:
            changes[path] = TreeEntry(mode, kind, str(item["sha"]), path)
    tree = ctx.git.tree_with(str(base) if base else None, changes)
    return Response(201, render_tree(ctx, tree))


@router.add("GET", r"/git/trees/(?P<sha>[^/]+)")
def read_tree(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    sha = ctx.git.resolve(params["sha"], "tree")
    if sha is None:
        return not_found()
    return Response(200, render_tree(ctx, sha, bool(request.param("recursive"))))


def _person(ctx: Context, data: Any) -> Person:
    if not isinstance(data, dict):
        return ctx.person()
    default = ctx.person()
    return Person(
        str(data.get("name") or default.name),
        str(data.get("email") or default.email),
        str(data.get("date") or default.date),
    )


@router.add("POST", r"/git/commits")
def create_commit(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    data = json_body(request)
    for key in ("message", "tree"):
        if not data.get(key):
            return invalid_field("Commit", key)
    if ctx.git.object_type(str(data["tree"])) != "tree":
        return unprocessable("Tree SHA does not exist")
    parents = [str(p) for p in data.get("parents") or []]
    if any(ctx.git.object_type(p) != "commit" for p in parents):
        return unprocessable("Parent SHA does not exist or is not a commit object")
    author = _person(ctx, data.get("author"))
    committer = _person(ctx, data.get("committer") or data.get("author"))
    sha = ctx.git.commit_tree(str(data["tree"]), parents, str(data["message"]), author, committer)
    return Response(201, ctx.links.git_commit(ctx.git.commit(sha)))


@router.add("GET", r"/git/commits/(?P<sha>[^/]+)")
def read_commit(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    if ctx.git.object_type(params["sha"]) != "commit":
        return not_found()
    return Response(200, ctx.links.git_commit(ctx.git.commit(params["sha"])))


# -- refs ------------------------------------------------------------------------------------
def _ref_body(ctx: Context, ref: str, sha: str) -> dict[str, Any]:
    return ctx.links.git_ref(ref, sha, ctx.git.object_type(sha) or "commit")


@router.add("GET", r"/git/refs?/(?P<ref>.+)")
def read_ref(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    full = f"refs/{params['ref'].removeprefix('refs/')}"
    sha = ctx.git.refs(full).get(full)
    return Response(200, _ref_body(ctx, full, sha)) if sha else answer("ref-not-found")


@router.add("GET", r"/git/matching-refs/(?P<ref>.*)")
def matching_refs(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    prefix = f"refs/{params['ref'].removeprefix('refs/')}"
    refs = [
        _ref_body(ctx, name, sha)
        for name, sha in sorted(ctx.git.refs().items())
        if name.startswith(prefix)
    ]
    return paginate(ctx, request, refs)


@router.add("POST", r"/git/refs")
def create_ref(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    data = json_body(request)
    ref, sha = str(data.get("ref") or ""), str(data.get("sha") or "")
    if not ref.startswith("refs/") or ref.count("/") < 2:
        return unprocessable(
            "Reference name must start with 'refs/' and have at least two slashes."
        )
    if ctx.git.object_type(sha) is None:
        return unprocessable("Object does not exist")
    if ref in ctx.git.refs(ref):
        return answer("ref-already-exists")
    refused = _creation_refused(ctx, ref)
    if refused is not None:
        return answer(refused)
    ctx.git.update_ref(ref, sha, "0" * 40)
    return Response(201, _ref_body(ctx, ref, sha))


def _creation_refused(ctx: Context, ref: str) -> str | None:
    """The answer key of the first ruleset whose creation rule covers `ref`, if any."""
    for pattern, key in ctx.state.creation_rules:
        if ruleset_matches(pattern, ref, ctx.links.default_branch):
            return key
    return None


def ruleset_matches(pattern: str, ref: str, default_branch: str) -> bool:
    """A ruleset's `ref_name` condition: `~ALL`, `~DEFAULT_BRANCH`, or an fnmatch pattern
    on the full ref in which `*` stays within one path segment and `**` crosses them."""
    if pattern == "~ALL":
        return True
    if pattern == "~DEFAULT_BRANCH":
        return ref == f"refs/heads/{default_branch}"
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    regex = "".join(wild.get(part, re.escape(part)) for part in parts)
    return re.fullmatch(regex, ref) is not None


@router.add("PATCH", r"/git/refs/(?P<ref>.+)")
def update_ref(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    ref = f"refs/{params['ref'].removeprefix('refs/')}"
    data = json_body(request)
    current = ctx.git.refs(ref).get(ref)
    sha = str(data.get("sha") or "")
    if current is None:
        return unprocessable("Reference does not exist")
    if ctx.git.object_type(sha) is None:
        return unprocessable("Object does not exist")
    if not data.get("force") and not ctx.git.is_ancestor(current, sha):
        return unprocessable("Update is not a fast forward")
    try:
        ctx.git.update_ref(ref, sha, current)
    except GitError:
        return unprocessable("Reference cannot be updated")
    return Response(200, _ref_body(ctx, ref, sha))


@router.add("DELETE", r"/git/refs/(?P<ref>.+)")
def delete_ref(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    ref = f"refs/{params['ref'].removeprefix('refs/')}"
    if ref not in ctx.git.refs(ref):
        return unprocessable("Reference does not exist")
    ctx.git.delete_ref(ref)
    return Response(204)
