"""For each endpoint the product calls: an emulated repository in which the resource of a
recorded request exists (or, for a recorded error, does not), and the recorded request
translated to it: its path parameters, and its body with the recording's SHAs replaced by the
emulated repository's. The query is sent as recorded.

Set-up goes through PyGithub like any client (test code, so not counted as the product's
calls). A field of a recorded body the product never sends is left out only where the
emulator has nothing to hold it (milestones, assignees, a fork's head repository); each such
omission says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import github
from github.Repository import Repository

from ci_reviewer.emulators.github import GitHubEmulator
from tests.emulators.github_fixtures import TOKEN, client, commit_files, git
from tests.emulators.recordings import Exchange

R = "/repos/{owner}/{repo}"
FEATURE_LINE = 3


@dataclass
class World:
    """An emulated GitHub repository `full_name`: `main` with app.py (40 lines) and
    README.md, and `feature` one commit ahead changing app.py's line 3."""

    emu: GitHubEmulator
    gh: github.Github
    repo: Repository
    git_dir: Path
    main: str
    feature: str
    opened: list[int] = field(default_factory=list)

    def pull(self, title: str = "Emulated", body: str | None = "Body", state: str = "open") -> int:
        number = self.emu.open_pull("feature", title=title, body=body)
        if state == "closed":
            self.emu.close_pull(number)
        return number

    def close(self) -> None:
        self.gh.close()
        self.emu.stop()


def world(tmp_path: Path, full_name: str) -> World:
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    git(repo_dir, "init", "-q", "-b", "main")
    lines = "".join(f"line {i}\n" for i in range(1, 41))
    main = commit_files(repo_dir, {"app.py": lines, "README.md": "# demo\n"}, "initial")
    git(repo_dir, "checkout", "-q", "-b", "feature")
    changed = lines.replace(f"line {FEATURE_LINE}\n", f"line {FEATURE_LINE} changed\n")
    feature = commit_files(repo_dir, {"app.py": changed}, "change line 3")
    git(repo_dir, "checkout", "-q", "main")
    emu = GitHubEmulator(repo_dir, full_name=full_name, token=TOKEN).start()
    gh = client(emu, retry=None)
    return World(emu, gh, gh.get_repo(full_name), repo_dir, main, feature)


def recorded_repo(exchange: Exchange) -> str:
    _, _, owner, name, *_ = exchange.path.split("/")
    return f"{owner}/{name}"


Prepared = tuple[World, dict[str, str], Any]
Scenario = Callable[[Path, Exchange], Prepared]
SCENARIOS: dict[tuple[str, str], Scenario] = {}


def scenario(method: str, template: str) -> Callable[[Scenario], Scenario]:
    def register(func: Scenario) -> Scenario:
        SCENARIOS[(method, R + template)] = func
        return func

    return register


def _own(tmp_path: Path, exchange: Exchange) -> World:
    return world(tmp_path, recorded_repo(exchange))


def _pull_of(w: World, exchange: Exchange) -> dict[str, str]:
    return {"pull_number": str(w.pull())}


# -- repository ----------------------------------------------------------------------------
@scenario("GET", "")
def _repo(tmp_path: Path, exchange: Exchange) -> Prepared:
    owner, name = recorded_repo(exchange).split("/")
    if exchange.status == 404:  # a repository that does not exist: the emulator holds another
        return world(tmp_path, f"{owner}/PyGithub"), {"owner": owner, "repo": name}, None
    return world(tmp_path, f"{owner}/{name}"), {}, None


@scenario("GET", "/branches/{branch}")
def _branch(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    if exchange.status == 404:
        return w, {"branch": exchange.path.split("/branches/", 1)[1]}, None
    return w, {"branch": "main"}, None


@scenario("GET", "/branches/{branch}/protection")
def _protection(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    # Both were recorded with a person's classic token (x-oauth-scopes: repo, ...), which
    # may read branch protection; the Actions bot may not.
    w.emu.actor = "octocat"
    git(w.git_dir, "branch", "integrations")  # the recorded unprotected branches
    return w, {"branch": exchange.path.split("/branches/", 1)[1].rsplit("/", 1)[0]}, None


@scenario("GET", "/commits/{ref}")
def _commit(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, {"ref": w.feature}, None


@scenario("GET", "/compare/{base}...{head}")
def _compare(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, {"base": w.main, "head": w.feature}, None


# -- pull requests -------------------------------------------------------------------------
@scenario("GET", "/pulls/{pull_number}")
def _pull(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    recorded = exchange.response
    number = w.pull(recorded["title"], recorded["body"], recorded["state"])
    return w, {"pull_number": str(number)}, None


@scenario("GET", "/pulls/{pull_number}/files")
def _files(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, _pull_of(w, exchange), None


@scenario("GET", "/pulls/{pull_number}/comments")
def _review_comments(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    params = _pull_of(w, exchange)
    pull = w.repo.get_pull(int(params["pull_number"]))
    commit = w.repo.get_commit(w.feature)
    pull.create_review_comment("A comment", commit, "app.py", line=FEATURE_LINE, side="RIGHT")
    return w, params, None


@scenario("GET", "/pulls/{pull_number}/reviews")
def _reviews(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    params = _pull_of(w, exchange)
    w.repo.get_pull(int(params["pull_number"])).create_review(body="A review", event="COMMENT")
    return w, params, None


@scenario("POST", "/pulls/{pull_number}/reviews")
def _create_review(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, _pull_of(w, exchange), {**exchange.request, "commit_id": w.feature}


@scenario("PUT", "/pulls/{pull_number}/reviews/{review_id}")
def _edit_review(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    params = _pull_of(w, exchange)
    review = w.repo.get_pull(int(params["pull_number"])).create_review(
        body="A review", event="COMMENT"
    )
    return w, {**params, "review_id": str(review.id)}, exchange.request


@scenario("GET", "/pulls")
def _pulls(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    w.pull(state=dict(exchange.query).get("state", "open"))
    return w, {}, None


@scenario("POST", "/pulls")
def _create_pull(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    branch, base = exchange.request["head"], exchange.request["base"]
    git(w.git_dir, "branch", branch, w.feature)
    if base != "main":
        git(w.git_dir, "branch", base, w.main)
    # head_repo names a fork; the emulator holds one repository and the product never sends it.
    body = {k: v for k, v in exchange.request.items() if k != "head_repo"}
    return w, {}, body


@scenario("PATCH", "/pulls/{pull_number}")
def _edit_pull(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    # The product edits title and body only; `base: master` names a branch we do not have.
    body = {k: exchange.request[k] for k in ("title", "body") if k in exchange.request}
    return w, _pull_of(w, exchange), body


# -- issues and comments -------------------------------------------------------------------
@scenario("GET", "/issues/{issue_number}/comments")
def _issue_comments(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    number = w.pull()
    w.repo.get_pull(number).create_issue_comment("A comment")
    return w, {"issue_number": str(number)}, None


@scenario("POST", "/issues/{issue_number}/comments")
def _create_issue_comment(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, {"issue_number": str(w.pull())}, exchange.request


@scenario("PATCH", "/issues/comments/{comment_id}")
def _edit_issue_comment(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    comment = w.repo.get_pull(w.pull()).create_issue_comment("A comment")
    return w, {"comment_id": str(comment.id)}, exchange.request


@scenario("GET", "/issues")
def _issues(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    query = dict(exchange.query)
    labels = [query["labels"]] if "labels" in query else []
    for label in labels:
        w.repo.create_label(label, "ededed")
    # As recorded: issues opened with or without a description (GitHub sends null then).
    described = exchange.response[0]["body"] is not None
    for index in range(int(query.get("per_page", "1")) + 1):
        if described:
            w.repo.create_issue(f"Issue {index}", body="Body", labels=labels)
        else:
            w.repo.create_issue(f"Issue {index}", labels=labels)
    return w, {}, None


@scenario("GET", "/issues/{issue_number}")
def _issue(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    if "pull_request" in exchange.response:  # a pull request, read as an issue
        return w, {"issue_number": str(w.pull())}, None
    issue = w.repo.create_issue("An issue", body="Body")
    return w, {"issue_number": str(issue.number)}, None


@scenario("POST", "/issues")
def _create_issue(tmp_path: Path, exchange: Exchange) -> Prepared:
    return _own(tmp_path, exchange), {}, exchange.request


@scenario("PATCH", "/issues/{issue_number}")
def _edit_issue(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    issue = w.repo.create_issue("An issue", body="Body")
    # The product edits title and body; the recording also sets labels, assignees and a
    # milestone, which the emulator does not hold.
    body = {k: exchange.request[k] for k in ("title", "body", "state") if k in exchange.request}
    return w, {"issue_number": str(issue.number)}, body


@scenario("GET", "/labels/{name}")
def _label(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    name = exchange.path.rsplit("/", 1)[1]
    w.repo.create_label(name, "663399")
    return w, {"name": name}, None


@scenario("POST", "/labels")
def _create_label(tmp_path: Path, exchange: Exchange) -> Prepared:
    return _own(tmp_path, exchange), {}, exchange.request


# -- check runs ----------------------------------------------------------------------------
@scenario("GET", "/commits/{ref}/check-runs")
def _check_runs(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    name = dict(exchange.query).get("check_name", "ci-reviewer")
    w.repo.create_check_run(name, w.feature, status="completed", conclusion="success")
    return w, {"ref": w.feature}, None


@scenario("POST", "/check-runs")
def _create_check_run(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, {}, {**exchange.request, "head_sha": w.feature}


@scenario("PATCH", "/check-runs/{check_run_id}")
def _edit_check_run(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    run = w.repo.create_check_run("edit_check_run", w.feature, status="in_progress")
    return w, {"check_run_id": str(run.id)}, exchange.request


@scenario("GET", "/check-runs/{check_run_id}")
def _check_run(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    output = {"title": "Title", "summary": "Summary"}
    run = w.repo.create_check_run(
        "a check", w.feature, status="completed", conclusion="success", output=output
    )
    return w, {"check_run_id": str(run.id)}, None


# -- git data ------------------------------------------------------------------------------
@scenario("GET", "/git/ref/{ref}")
def _ref(tmp_path: Path, exchange: Exchange) -> Prepared:
    return _own(tmp_path, exchange), {"ref": "heads/main"}, None


@scenario("GET", "/git/commits/{commit_sha}")
def _git_commit(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, {"commit_sha": w.main}, None


@scenario("POST", "/git/blobs")
def _create_blob(tmp_path: Path, exchange: Exchange) -> Prepared:
    return _own(tmp_path, exchange), {}, exchange.request


@scenario("POST", "/git/trees")
def _create_tree(tmp_path: Path, exchange: Exchange) -> Prepared:
    return _own(tmp_path, exchange), {}, exchange.request


@scenario("POST", "/git/commits")
def _create_git_commit(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    tree = w.repo.get_git_commit(w.main).tree.sha
    parents = [w.main for _ in exchange.request.get("parents", [])]
    return w, {}, {**exchange.request, "tree": tree, "parents": parents}


@scenario("POST", "/git/refs")
def _create_ref(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, {}, {**exchange.request, "sha": w.feature}


@scenario("PATCH", "/git/refs/{ref}")
def _update_ref(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    ref = exchange.path.split("/git/refs/", 1)[1]
    git(w.git_dir, "branch", ref.removeprefix("heads/"), w.main)
    return w, {"ref": ref}, {**exchange.request, "sha": w.feature}


# -- contents ------------------------------------------------------------------------------
def _path(exchange: Exchange) -> str:
    return exchange.path.split("/contents/", 1)[1]


@scenario("GET", "/contents/{path}")
def _contents(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    path = _path(exchange)
    if path != "README.md":
        commit_files(w.git_dir, {path: "Some documentation\n"}, f"add {path}")
    return w, {"path": path}, None


@scenario("PUT", "/contents/{path}")
def _put_contents(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    path, body = _path(exchange), dict(exchange.request)
    if "branch" in body:
        body["branch"] = "main"
    if "sha" in body:  # an update: the file exists, and the request names its blob
        body["sha"] = w.repo.create_file(path, "add it", "Old content\n", branch="main")[
            "content"
        ].sha
    return w, {"path": path}, body


@scenario("GET", "/git/blobs/{file_sha}")
def _blob(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    return w, {"file_sha": git(w.git_dir, "rev-parse", "main:README.md")}, None


# -- answers in the thread -----------------------------------------------------------------
@scenario("GET", "/collaborators/{username}/permission")
def _collaborator_permission(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    login = exchange.path.split("/collaborators/", 1)[1].split("/", 1)[0]
    if exchange.status == 403:
        # Recorded with the token of an account without push access: a person's token (not
        # the Actions bot's) whose own role on the repository is read.
        w.emu.actor = "reader"
        w.emu.set_collaborator("reader", "read")
        return w, {"username": login}, None
    w.emu.set_collaborator(login, exchange.response["permission"])  # as recorded: admin
    return w, {"username": login}, None


def _review_comment(w: World) -> tuple[int, int]:
    """A pull request with one inline comment on the changed line: (its number, the id)."""
    number = w.pull()
    pull = w.repo.get_pull(number)
    commit = w.repo.get_commit(w.feature)
    comment = pull.create_review_comment("A comment", commit, "app.py", line=FEATURE_LINE)
    return number, comment.id


@scenario("GET", "/pulls/comments/{comment_id}")
def _get_review_comment(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    _, comment_id = _review_comment(w)
    return w, {"comment_id": str(comment_id)}, None


@scenario("POST", "/pulls/{pull_number}/comments/{comment_id}/replies")
def _reply_to_review_comment(tmp_path: Path, exchange: Exchange) -> Prepared:
    w = _own(tmp_path, exchange)
    number, comment_id = _review_comment(w)
    return w, {"pull_number": str(number), "comment_id": str(comment_id)}, exchange.request
