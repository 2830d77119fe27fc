"""The state document on GitHub: `state/<job>.json` on the branch `ci-reviewer-state`.

Read and written through the contents API; the file's blob sha is the version, so every
write is a compare-and-swap (GitHub answers a stale sha with 409, and a create over an
existing file with 422: both mean another run saved first). That also covers a write GitHub
carried out and then failed to confirm: the transport's resend meets the new sha, and the
caller reloads a document that already holds its change. The branch is created when
missing as an orphan holding only state, so it never shares history with the code.

What GitHub answered is read from its status and a follow-up lookup, never its wording: a
404 for the state file (GitHub words it "No commit found for the ref ..." while the branch
does not exist) is "no state yet" once the branch's ref has been looked up; a 422 on
creating the branch is another run's doing only if the ref exists afterwards, otherwise a
rule of the repository refused it; a 409 or 422 on writing the file is another run's only if
the file changed; refused again and again while it did not, the branch's protection refuses
it (GitHub answers both 409). A 403 on writing the file that is not a rate limit is the
token's permission (`contents: read`): `StateWriteForbidden`, still a GitHubAPIError with the
same message, so a caller that may go without the state (a review's month spend) can tell it
from a fault.
"""

from __future__ import annotations

import base64
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ci_reviewer.batch.state import (
    Loaded,
    StateConflict,
    StateDocument,
    dump_state,
    parse_state,
)
from ci_reviewer.errors import GitHubAPIError, InputError
from ci_reviewer.github.client import (
    call,
    create_ref,
    describe,
    github_errors,
    rate_limit_of,
    send_again,
    write_once,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from github.GithubException import GithubException
    from github.Repository import Repository

T = TypeVar("T")


class StateWriteForbidden(GitHubAPIError):
    """GitHub answered 403 (not a rate limit) to writing the state file: the token may not
    write the repository's contents."""


STATE_BRANCH = "ci-reviewer-state"
# Refusals in a row of a write to an unchanged state file before it is taken for the
# branch's protection rather than for a race on the branch's tip.
REFUSALS_OF_PROTECTION = 3
_README = (
    "# ci-reviewer state\n\nState of scheduled batch jobs, written by ci-reviewer. "
    "Do not edit while a job runs; deleting a file forgets that job's pending batches.\n"
)


class GitHubStore:
    """A StateStore on a branch of the repository."""

    def __init__(self, repository: Repository, branch: str = STATE_BRANCH) -> None:
        self.repository = repository
        self.branch = branch
        self._unchanged_refusals = 0

    def describe(self, job: str) -> str:
        return f"{self.repository.full_name}@{self.branch}:{_path(job)}"

    def load(self, job: str) -> Loaded:
        import github

        read = partial(self.repository.get_contents, _path(job), ref=self.branch)
        contents: Any = _answer(f"read the batch state {self.describe(job)}", read, 404)
        if isinstance(contents, github.GithubException):
            # No branch yet, or no file on it yet: which, the ref says. Asking also makes
            # sure GitHub answers for this repository at all before the job starts over.
            self._branch_tip()
            return Loaded(StateDocument(job=job), None)
        if isinstance(contents, list):
            # As the directory store says of a folder in the way: bad input, not a race.
            raise InputError(
                f"cannot read the batch state {self.describe(job)}: it is a directory",
                hint=f"remove the folder {_path(job)} from the branch {self.branch}",
            )
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
            write = partial(self.repository.create_file, path, message, data, branch=self.branch)
        else:
            write = partial(
                self.repository.update_file, path, message, data, sha=version, branch=self.branch
            )
        action = f"write the batch state {self.describe(document.job)}"
        result: Any = _answer(action, write, 403, 409, 422)
        if isinstance(result, github.GithubException) and result.status == 403:
            if rate_limit_of(result) is not None:
                with github_errors(action):
                    raise result
            raise StateWriteForbidden(f"{action}: {describe(result)}")
        if isinstance(result, github.GithubException):
            # A stale sha and a protected branch are both 409: the file tells them apart. An
            # unchanged file can also meet a 409 for the branch's tip moving (another job's
            # state written at the same time), so only a refusal that repeats is protection.
            if self._version(document.job) != version:
                self._unchanged_refusals = 0
                raise StateConflict(f"{self.describe(document.job)} changed since loaded")
            self._unchanged_refusals += 1
            if self._unchanged_refusals < REFUSALS_OF_PROTECTION:
                raise StateConflict(f"{self.describe(document.job)}: write refused")
            raise self._write_refused(document.job, result)
        self._unchanged_refusals = 0
        sha: str = result["content"].sha
        return sha

    def _version(self, job: str) -> str | None:
        """The state file's blob sha now, None when there is none."""
        import github

        read = partial(self.repository.get_contents, _path(job), ref=self.branch)
        contents: Any = _answer(f"read the batch state {self.describe(job)}", read, 404)
        if isinstance(contents, (github.GithubException, list)):
            return None
        return str(contents.sha)

    def _write_refused(self, job: str, error: Exception) -> GitHubAPIError:
        name = self.repository.full_name
        return GitHubAPIError(
            f"GitHub refused to write the batch state {self.describe(job)}, which no other "
            f"run changed ({describe(error)})",
            hint=f"a branch protection rule or ruleset of {name} covers {self.branch} "
            "(Settings -> Branches, or Settings -> Rules -> Rulesets): leave "
            f"refs/heads/{self.branch} out of the rules that require pull requests or status "
            "checks, or add the workflow's token (GitHub Actions) to the ruleset's bypass "
            "list; or keep the state in a directory with --state-dir",
        )

    def branch_exists(self) -> bool:
        """Whether the state branch is there (a review records its spend only then: it never
        creates the branch, which the batch jobs own)."""
        return self._branch_tip() is not None

    def _branch_tip(self) -> str | None:
        """The sha the state branch points at, or None when it does not exist."""
        import github

        lookup = partial(self.repository.get_git_ref, f"heads/{self.branch}")
        ref: Any = _answer(f"look up the branch {self.branch}", lookup, 404)
        if isinstance(ref, github.GithubException):
            return None
        sha: str = ref.object.sha
        return sha

    def _ensure_branch(self) -> None:
        if self._branch_tip() is not None:
            return
        refused = self._create_branch()
        # A 422 for the ref: another run created the branch first (fine), or a rule refused it.
        if refused is not None and self._branch_tip() is None:
            raise self._refused(refused)

    def _create_branch(self) -> Exception | None:
        """The branch as an orphan commit holding a README; GitHub's 422 for the ref, if any."""
        import github
        from github.InputGitTreeElement import InputGitTreeElement

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
                if error.status != 422:
                    raise
                return error
        return None

    def _refused(self, error: Exception) -> GitHubAPIError:
        name = self.repository.full_name
        return GitHubAPIError(
            f"GitHub refused to create the state branch {self.branch} in {name} "
            f"({describe(error)})",
            hint=f"a ruleset or branch protection rule of {name} forbids creating it "
            f"(Settings -> Rules -> Rulesets, or Settings -> Branches): exclude "
            f"refs/heads/{self.branch} from the rule that restricts creations, or add the "
            f"workflow's token (GitHub Actions) to the ruleset's bypass list",
        )


def _answer(action: str, request: Callable[[], T], *decided: int) -> T | GithubException:
    """`request()`, or GitHub's refusal when its status is one of `decided` (the caller's to
    act on); any other failure, a 5xx the client's retries did not outlast included, is
    GitHubAPIError (exit 3) naming `action`."""
    import github

    with github_errors(action):
        try:
            return request()
        except github.GithubException as error:
            if error.status not in decided:
                raise
            return error


def _path(job: str) -> str:
    return f"state/{job}.json"
