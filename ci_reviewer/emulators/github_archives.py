"""Source archives: `GET /repos/{owner}/{repo}/tarball/{ref}` and the download it points to.

GitHub answers the API call with `302 Found`, an empty body and a `Location` on its download
host (recorded: @octokit/fixtures `get-archive`, `location:
https://codeload.github.com/<owner>/<repo>/legacy.tar.gz/refs/heads/main`; PyGithub's
Repository.testGetArchiveLink). The download is a gzipped tar whose one top directory is
`<owner>-<repo>-<short sha>/` (the same recording). The emulator serves the download itself,
under `/_codeload/`, answering it without a token as the download host does for a public
repository (a private one's Location carries a short-lived token instead, docs: "these links
are temporary and expire after five minutes").
"""

from __future__ import annotations

import re

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_routes import Context, Router
from ci_reviewer.emulators.server import Request, Response

router = Router()
CODELOAD_PREFIX = "/_codeload/"
_DOWNLOAD = re.compile(r"/_codeload/(?P<full_name>[^/]+/[^/]+)/legacy\.tar\.gz/(?P<ref>.+)")


@router.add("GET", r"/tarball/(?P<ref>.+)")
def tarball(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    ref = _qualified(ctx, params["ref"])
    if ref is None:
        return answer("not-found")
    location = f"{ctx.links.base}{CODELOAD_PREFIX}{ctx.links.full_name}/legacy.tar.gz/{ref}"
    headers = {"Location": location, "Content-Type": "text/html;charset=utf-8"}
    return Response(302, b"", headers)


def _qualified(ctx: Context, ref: str) -> str | None:
    """The ref as the Location names it: a branch or tag by its full name (recorded:
    `tarball/main` -> `legacy.tar.gz/refs/heads/main`), a commit by its sha; None if unknown."""
    for full in (f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if ctx.git.resolve(full) is not None:
            return full
    return ref if ctx.git.resolve(ref) is not None else None


def download_target(path: str) -> tuple[str, str] | None:
    """(full_name, ref) of a download path, or None when `path` is not one."""
    found = _DOWNLOAD.fullmatch(path)
    return (found["full_name"], found["ref"]) if found else None


def download(ctx: Context, ref: str) -> Response:
    """The archive of `ref`: `git archive`, with GitHub's top directory name."""
    sha = ctx.git.resolve(ref)
    if sha is None:
        return Response(404, b"404: Not Found", {"Content-Type": "text/plain; charset=utf-8"})
    top = f"{ctx.links.full_name.replace('/', '-')}-{sha[:7]}/"
    archive = ctx.git.run("archive", "--format=tar.gz", f"--prefix={top}", sha)
    name = top.rstrip("/") + ".tar.gz"
    headers = {
        "Content-Type": "application/x-gzip",
        "Content-Disposition": f"attachment; filename={name}",
    }
    return Response(200, archive, headers)
