"""Generated files as one pull request: one branch `ci-reviewer/<job>/<run id>`, one commit
holding every file, made through the git data API (blobs, a tree on `base_tree`, a commit,
then the ref), so the branch never shows half a run.

The PR body carries a hidden marker per collection run it holds. Replaying a collection (a
re-run after a crash) finds its PR again and edits it; with `on_open_pr: update` a new run's
files go onto the job's still-open PR as one more commit, instead of opening another.
The body also keeps a hidden record of what it says about each file (rows the kind defines,
JSON in an HTML comment): a draft with `render` is given the rows of the body it replaces,
so that an updated PR describes every file it holds, not only the latest run's.

A write GitHub may have carried out without saying so (a 5xx, a dropped connection) is not
resent blindly: the pull request is looked for by its marker, the branch by its ref; git
objects are content-addressed and edits set the same content, so those are simply resent.

When GitHub refuses to open the pull request (403: Actions may not create pull requests in
this repository), the branch is kept and an issue stands in for the pull request
(`waiting_branch`); later runs build on that branch until a pull request can be opened
from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Literal, TypeVar

from ci_reviewer.errors import GitHubAPIError
from ci_reviewer.github.client import create_ref, github_errors, send_again, write_once, written
from ci_reviewer.github.waiting_branch import (
    SETTING,
    WHERE,
    Refusal,
    RefusedPullRequest,
    WaitingBranch,
    WaitingBranches,
    WaitingPullRequest,
    refusal_of,
)
from ci_reviewer.secrets import Redactor

if TYPE_CHECKING:
    from github.GitCommit import GitCommit
    from github.GitRef import GitRef
    from github.GitTree import GitTree
    from github.PullRequest import PullRequest
    from github.Repository import Repository

T = TypeVar("T")
_REF_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MARKER = re.compile(r"<!-- ci-reviewer:([a-z0-9_-]+):([0-9a-zA-Z_-]+) -->")
_RECORD = re.compile(r"<!-- ci-reviewer-files (\[.*?\]) -->", re.DOTALL)
Rows = list[list[str]]
# How far back a job's earlier pull requests are looked for (newest first).
_SCAN_LIMIT = 300
MAX_BODY = 65_536


def pr_marker(job: str, collection_id: str) -> str:
    return f"<!-- ci-reviewer:{job}:{collection_id} -->"


def branch_name(job: str, run_id: str) -> str:
    safe = _REF_UNSAFE.sub("-", run_id).strip(".-") or "run"
    return f"ci-reviewer/{job}/{safe}"


@dataclass(frozen=True)
class PullRequestDraft:
    """Files (repository path -> text) and the words around them."""

    job: str
    collection_id: str
    run_id: str
    title: str
    body: str
    files: Mapping[str, str]
    on_open_pr: Literal["update", "new"] = "update"
    # Given the rows recorded in the body this one replaces: the title, the body and the
    # rows to record (`rows`, once rendered).
    render: Callable[[Rows], tuple[str, str, Rows]] | None = None
    rows: tuple[tuple[str, ...], ...] = ()

    def rendered(self, earlier: str) -> PullRequestDraft:
        """This draft's words given the body it replaces (`earlier`, "" for none)."""
        if self.render is None:
            return self
        title, body, rows = self.render(recorded_rows(earlier))
        return replace(self, title=title, body=body, rows=tuple(tuple(r) for r in rows))


@dataclass(frozen=True)
class PublishedPullRequest:
    number: int
    url: str
    branch: str
    commit_sha: str | None  # None when the branch already held exactly these files
    action: Literal["opened", "updated", "replayed"]


class PullRequestPublisher:
    """Opens or updates a job's pull requests in one repository, onto `base_branch`."""

    def __init__(self, repo: Repository, redact: Redactor, base_branch: str | None = None):
        self.repo = repo
        self.redact = redact
        self.base_branch = base_branch or repo.default_branch
        self.waiting = WaitingBranches(repo, redact, self.base_branch)

    def publish(self, draft: PullRequestDraft) -> PublishedPullRequest | WaitingPullRequest:
        replayed = self._find(draft.job, pr_marker(draft.job, draft.collection_id), False)
        target = replayed
        if target is None and draft.on_open_pr == "update":
            target = self._find(draft.job, f"<!-- ci-reviewer:{draft.job}:", True)
        if target is None:
            return self._open(draft)
        sha = None
        if target.state == "open":
            sha = self._commit_onto(target.head.ref, draft, force=False)
        draft = draft.rendered(target.body or "")
        body = self._body(draft, earlier=target.body or "")
        edit = partial(target.edit, title=self.redact(draft.title), body=body)
        written("edit the pull request", target, edit)
        if replayed is not None:
            self._close_waiting(draft.job, target)
        action: Literal["updated", "replayed"] = "replayed" if replayed else "updated"
        return PublishedPullRequest(target.number, target.html_url, target.head.ref, sha, action)

    def _open(self, draft: PullRequestDraft) -> PublishedPullRequest | WaitingPullRequest:
        waiting = self.waiting.find(draft.job)
        branch = waiting.branch if waiting else branch_name(draft.job, draft.run_id)
        # A waiting branch holds earlier runs' files: it is built upon, never replaced.
        sha = self._commit_onto(branch, draft, force=waiting is None)
        earlier = (waiting.issue.body or "") if waiting else ""
        draft = draft.rendered(earlier)
        body = self._body(draft, earlier)
        by_hand = self._open_from(branch) if waiting else None
        action: Literal["opened", "updated"]
        if by_hand is not None:  # opened from the issue's link: it is the job's PR now
            edit = partial(by_hand.edit, title=self.redact(draft.title), body=body)
            written("edit the pull request", by_hand, edit)
            pull, action = by_hand, "updated"
        else:
            opened = self._create(draft, branch, body)
            if isinstance(opened, Refusal):
                markers = tuple(self._markers(draft, earlier))
                record = self.redact(_record(draft.rows)) if draft.rows else ""
                refused = RefusedPullRequest(draft.job, branch, opened, draft.body, markers, record)
                return self._wait(refused, waiting)
            pull, action = opened, "opened"
        if waiting is not None:
            self.waiting.close(waiting, pull.number, pull.html_url)
        return PublishedPullRequest(pull.number, pull.html_url, branch, sha, action)

    def _create(self, draft: PullRequestDraft, branch: str, body: str) -> PullRequest | Refusal:
        """The new pull request, or GitHub's refusal to open it (decided on the status)."""
        import github

        title, marker = self.redact(draft.title), pr_marker(draft.job, draft.collection_id)
        action = "open the pull request"
        create = partial(
            self.repo.create_pull, base=self.base_branch, head=branch, title=title, body=body
        )
        with github_errors(action):
            try:
                return write_once(
                    action, self.repo, create, partial(self._find, draft.job, marker, False)
                )
            except github.GithubException as error:
                refusal = refusal_of(error)
                if refusal is None:
                    raise
                return refusal

    def _wait(
        self, refused: RefusedPullRequest, waiting: WaitingBranch | None
    ) -> WaitingPullRequest:
        """Keep the refused pull request's branch, announced by an issue. When no issue can
        be written either (a token without `issues: write`), a branch this run made is
        removed, not left unannounced: the state is not saved, so the next run collects
        the same results again and publishes them onto one branch."""
        try:
            return self.waiting.record(refused, waiting)
        except GitHubAPIError as error:
            if waiting is None:
                self._remove_branch(refused.branch)
            status, said = refused.refusal.status, refused.refusal.message or "no message"
            raise GitHubAPIError(
                f"GitHub refused to open the pull request of job {refused.job} (HTTP {status}: "
                f"{self.redact(said)}) and no issue could keep its branch: {error.message}",
                hint=f'turn on "{SETTING}" ({WHERE}), or give the workflow `issues: write` so '
                "that refused tests wait on a branch announced by an issue",
            ) from None

    def _remove_branch(self, branch: str) -> None:
        import github

        # Best effort (requests' errors are OSErrors): the error that matters is on its way.
        with suppress(github.GithubException, OSError):
            self.repo.get_git_ref(f"heads/{branch}").delete()

    def _open_from(self, branch: str) -> PullRequest | None:
        """An open pull request from `branch` (a person opened it from the issue's link)."""
        head = f"{self.repo.owner.login}:{branch}"
        with github_errors("list the pull requests"):
            return next(iter(self.repo.get_pulls(state="open", head=head)), None)

    def _close_waiting(self, job: str, pull: PullRequest) -> None:
        """Close the job's waiting issue if this pull request was opened from its branch and
        the run that opened it stopped before closing it."""
        waiting: WaitingBranch | None = self.waiting.find(job)
        if waiting is not None and waiting.branch == pull.head.ref:
            self.waiting.close(waiting, pull.number, pull.html_url)

    def _find(self, job: str, marker: str, open_only: bool) -> PullRequest | None:
        """The newest of the job's pull requests whose body holds `marker`."""
        prefix = f"ci-reviewer/{job}/"
        state = "open" if open_only else "all"
        with github_errors("list the pull requests"):
            pulls = self.repo.get_pulls(state=state, sort="created", direction="desc")
            for pull in islice(pulls, _SCAN_LIMIT):
                if pull.head.ref.startswith(prefix) and marker in (pull.body or ""):
                    return pull
        return None

    def _commit_onto(self, branch: str, draft: PullRequestDraft, *, force: bool) -> str | None:
        """One commit with every file on `branch`. A new branch (`force`) starts from the base
        branch, so a half-made branch of a crashed run is replaced, never built upon."""
        import github
        from github.InputGitTreeElement import InputGitTreeElement

        with github_errors(f"commit the generated files to {branch}"):
            ref: GitRef | None = None
            head_sha = ""
            try:
                ref = self.repo.get_git_ref(f"heads/{branch}")
                head_sha = ref.object.sha
            except github.UnknownObjectException:
                ref = None
            if force or ref is None:
                head_sha = self.repo.get_branch(self.base_branch).commit.sha
            parent = self.repo.get_git_commit(head_sha)
            elements = [
                InputGitTreeElement(path, "100644", "blob", sha=self._blob(text))
                for path, text in sorted(draft.files.items())
            ]
            tree = self._again(partial(self.repo.create_git_tree, elements, base_tree=parent.tree))
            if tree.sha == parent.tree.sha and ref is not None and not force:
                return None  # a replay: the branch already holds exactly these files
            commit = self._commit(draft, tree, parent)
            if ref is None:
                create_ref(self.repo, f"heads/{branch}", commit.sha)
            else:
                self._again(partial(ref.edit, commit.sha, force=force))
            return commit.sha

    def _again(self, send: Callable[[], T]) -> T:
        """A write that is harmless to resend (content-addressed, or the same edit)."""
        return write_once("write to the git database", self.repo, send, send_again)

    def _blob(self, text: str) -> str:
        return self._again(partial(self.repo.create_git_blob, text, "utf-8")).sha

    def _commit(self, draft: PullRequestDraft, tree: GitTree, parent: GitCommit) -> GitCommit:
        count = len(draft.files)
        message = (
            f"ci-reviewer {draft.job}: {count} generated test file(s)\n\n"
            f"Collection {draft.collection_id}, run {draft.run_id}."
        )
        return self._again(partial(self.repo.create_git_commit, message, tree, [parent]))

    def _markers(self, draft: PullRequestDraft, earlier: str) -> list[str]:
        """The markers of the job's collections `earlier` holds, then this collection's."""
        current = pr_marker(draft.job, draft.collection_id)
        held = [
            pr_marker(job, cid)
            for job, cid in _MARKER.findall(earlier)
            if job == draft.job and pr_marker(job, cid) != current
        ]
        return list(dict.fromkeys([*held, current]))

    def _body(self, draft: PullRequestDraft, earlier: str) -> str:
        """The new body, keeping the markers of earlier collections this PR holds, and the
        record of its files (cut first when the body would pass GitHub's limit)."""
        markers = self._markers(draft, earlier)
        rows = draft.rows
        body = self.redact(draft.body.rstrip())
        if len(markers) > 1:
            earlier_runs = len(markers) - 1
            body += f"\n\nThis pull request also holds {earlier_runs} earlier run(s) of the job."
        record = self.redact(_record(rows)) if rows else ""
        block = "\n".join([*markers, record]).rstrip()
        if len(body) + len(block) > MAX_BODY - 200:
            block = "\n".join(markers)
        room = MAX_BODY - len(block) - 200
        if len(body) > room:
            body = body[:room].rstrip() + "\n\n… (cut: GitHub's body limit)"
        return f"{body}\n\n{block}\n"


def recorded_rows(body: str) -> Rows:
    """The rows a body recorded (none: an older body, or one cut at the limit)."""
    found = _RECORD.search(body)
    if found is None:
        return []
    try:
        rows = json.loads(found.group(1))
    except ValueError:
        return []
    ok = isinstance(rows, list) and all(isinstance(r, list) for r in rows)
    return [[str(cell) for cell in row] for row in rows] if ok else []


def _record(rows: Sequence[Sequence[str]]) -> str:
    # "--" may not appear inside an HTML comment: escaped as JSON allows.
    encoded = json.dumps([list(r) for r in rows], ensure_ascii=False).replace("--", "-\\u002d")
    return f"<!-- ci-reviewer-files {encoded} -->"
