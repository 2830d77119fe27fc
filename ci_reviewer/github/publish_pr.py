"""Generated files as one pull request: one branch `ci-reviewer/<job>/<run id>`, one commit
holding every file, made through the git data API (blobs, a tree on `base_tree`, a commit,
then the ref), so the branch never shows half a run.

The PR body carries a hidden marker per collection run it holds. Replaying a collection (a
re-run after a crash) finds its PR again and edits it; with `on_open_pr: update` a new run's
files go onto the job's still-open PR as one more commit, instead of opening another.

A write GitHub may have carried out without saying so (a 5xx, a dropped connection) is not
resent blindly: the pull request is looked for by its marker, the branch by its ref; git
objects are content-addressed and edits set the same content, so those are simply resent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Literal, TypeVar

from ci_reviewer.github.client import create_ref, github_errors, send_again, write_once, written
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

    def publish(self, draft: PullRequestDraft) -> PublishedPullRequest:
        replayed = self._find(draft.job, pr_marker(draft.job, draft.collection_id), False)
        target = replayed
        if target is None and draft.on_open_pr == "update":
            target = self._find(draft.job, f"<!-- ci-reviewer:{draft.job}:", True)
        if target is None:
            return self._open(draft)
        sha = None
        if target.state == "open":
            sha = self._commit_onto(target.head.ref, draft, force=False)
        body = self._body(draft, earlier=target.body or "")
        edit = partial(target.edit, title=self.redact(draft.title), body=body)
        written("edit the pull request", target, edit)
        action: Literal["updated", "replayed"] = "replayed" if replayed else "updated"
        return PublishedPullRequest(target.number, target.html_url, target.head.ref, sha, action)

    def _open(self, draft: PullRequestDraft) -> PublishedPullRequest:
        branch = branch_name(draft.job, draft.run_id)
        sha = self._commit_onto(branch, draft, force=True)
        body = self._body(draft, earlier="")
        title, marker = self.redact(draft.title), pr_marker(draft.job, draft.collection_id)
        pull = written(
            "open the pull request",
            self.repo,
            partial(
                self.repo.create_pull, base=self.base_branch, head=branch, title=title, body=body
            ),
            partial(self._find, draft.job, marker, False),
        )
        return PublishedPullRequest(pull.number, pull.html_url, branch, sha, "opened")

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

    def _body(self, draft: PullRequestDraft, earlier: str) -> str:
        """The new body, keeping the markers of earlier collections this PR holds."""
        current = pr_marker(draft.job, draft.collection_id)
        held = [
            pr_marker(job, cid)
            for job, cid in _MARKER.findall(earlier)
            if job == draft.job and pr_marker(job, cid) != current
        ]
        body = self.redact(draft.body.rstrip())
        if held:
            body += f"\n\nThis pull request also holds {len(held)} earlier run(s) of the job."
        markers = "\n".join(dict.fromkeys([*held, current]))
        room = MAX_BODY - len(markers) - 200
        if len(body) > room:
            body = body[:room].rstrip() + "\n\n… (cut: GitHub's body limit)"
        return f"{body}\n\n{markers}\n"
