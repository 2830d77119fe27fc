"""The state document on GitHub: `state/<job>.json` on the branch `ci-reviewer-state`.

Read and written through the contents API; the file's blob sha is the version, so every
write is a compare-and-swap (GitHub answers a stale sha with 409, and a create over an
existing file with 422: both mean another run saved first). That also covers a write GitHub
carried out and then failed to confirm: the transport's resend meets the new sha, and the
caller reloads a document that already holds its change. The branch is created when
missing as an orphan holding only state, so it never shares history with the code.
"""

from __future__ import annotations

import base64
from functools import partial
from typing import TYPE_CHECKING, Any

from ci_reviewer.batch.state import (
    Loaded,
    StateConflict,
    StateDocument,
    dump_state,
    parse_state,
)
from ci_reviewer.github.client import call, create_ref, github_errors, send_again, write_once

if TYPE_CHECKING:
    from github.Repository import Repository

STATE_BRANCH = "ci-reviewer-state"
_README = (
    "# ci-reviewer state\n\nState of scheduled batch jobs, written by ci-reviewer. "
    "Do not edit while a job runs; deleting a file forgets that job's pending batches.\n"
)


class GitHubStore:
    """A StateStore on a branch of the repository."""

    def __init__(self, repository: Repository, branch: str = STATE_BRANCH) -> None:
        self.repository = repository
        self.branch = branch

    def describe(self, job: str) -> str:
        return f"{self.repository.full_name}@{self.branch}:{_path(job)}"

    def load(self, job: str) -> Loaded:
        import github

        try:
            contents: Any = self.repository.get_contents(_path(job), ref=self.branch)
        except github.UnknownObjectException:
            return Loaded(StateDocument(job=job), None)  # no branch yet, or no file yet
        except github.GithubException:
            with github_errors(f"read the batch state {self.describe(job)}"):
                raise
        if isinstance(contents, list):
            raise StateConflict(f"{self.describe(job)} is a directory")
        data = self._content(contents)
        return Loaded(parse_state(data, job, self.describe(job)), contents.sha)

    def _content(self, contents: Any) -> bytes:
        if contents.encoding == "base64" and contents.content is not None:
            return bytes(contents.decoded_content)
        # Files over 1 MB come without content: read the blob instead (up to 100 MB).
        blob = call("read the batch state blob", lambda: self.repository.get_git_blob(contents.sha))
        return base64.b64decode(blob.content)

    def save(self, document: StateDocument, version: str | None) -> str:
        import github

        path, data = _path(document.job), dump_state(document)
        message = f"ci-reviewer: state of {document.job}"
        if version is None:
            self._ensure_branch()
        try:
            if version is None:
                result = self.repository.create_file(path, message, data, branch=self.branch)
            else:
                result = self.repository.update_file(
                    path, message, data, sha=version, branch=self.branch
                )
        except github.GithubException as error:
            if error.status in (409, 422):
                raise StateConflict(f"{self.describe(document.job)} changed since loaded") from None
            with github_errors(f"write the batch state {self.describe(document.job)}"):
                raise
        sha: str = result["content"].sha
        return sha

    def _ensure_branch(self) -> None:
        import github
        from github.InputGitTreeElement import InputGitTreeElement

        try:
            self.repository.get_git_ref(f"heads/{self.branch}")
            return
        except github.UnknownObjectException:
            pass
        except github.GithubException:
            with github_errors(f"look up the branch {self.branch}"):
                raise
        action = f"create the state branch {self.branch}"
        readme = [InputGitTreeElement("README.md", "100644", "blob", content=_README)]
        message = "ci-reviewer: state branch"
        with github_errors(action):
            # Git objects are content-addressed: resending one after a failure is harmless.
            tree = write_once(
                action,
                self.repository,
                partial(self.repository.create_git_tree, readme),
                send_again,
            )
            create = partial(self.repository.create_git_commit, message, tree, [])
            commit = write_once(action, self.repository, create, send_again)
            try:
                create_ref(self.repository, f"heads/{self.branch}", commit.sha)
            except github.GithubException as error:
                if error.status != 422:  # 422: another run created it first, which is fine
                    raise


def _path(job: str) -> str:
    return f"state/{job}.json"
