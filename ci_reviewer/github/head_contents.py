"""A commit's files through GitHub's contents API, for a review whose checkout lacks the
pull request's head and could not fetch its objects.

Every answer is a plain value or the reason a file cannot be read at that commit: the
caller shows the reason to the model, never another version of the file. GitHub resolves a
symlink to a regular file of the repository itself and answers any other link as
`"type": "symlink"` (docs, "Get repository content"): such a link is refused. Decisions go
by status code and a follow-up lookup (does GitHub have the commit at all?), never by the
wording of an answer.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_reviewer.github.client import describe

if TYPE_CHECKING:
    from github.Repository import Repository

# The wording the working-tree sandbox gives a link it will not follow.
ESCAPES = "a symlink leads outside the repository; refused"
NOT_SEARCHABLE = (
    "search_code cannot search the pull request's head here: its commit could not be fetched "
    "into the checkout; read files with read_file and list_directory instead"
)


@dataclass(frozen=True)
class ContentsFile:
    """A file as GitHub served it: the path it resolved to, its first bytes, its size."""

    path: str
    data: bytes
    size: int


class ContentsAtCommit:
    """Files of commit `sha` of `repo`; one GitHub call per path asked (memoized)."""

    def __init__(self, repo: Repository, sha: str, note: str = "") -> None:
        self.repo = repo
        self.sha = sha
        self.note = note
        self._answers: dict[str, Any] = {}
        self._commit_known: bool | None = None

    def _unreadable(self, why: str) -> str:
        return f"cannot be read at the pull request's head {self.sha[:12]}: {why}"

    def _get(self, path: str) -> Any:
        """The contents answer for `path` (a ContentFile or a list), or why there is none."""
        if path not in self._answers:
            self._answers[path] = self._ask(path)
        return self._answers[path]

    def _ask(self, path: str) -> Any:
        import github
        import requests

        try:
            return self.repo.get_contents(path, ref=self.sha)
        except github.GithubException as error:
            if error.status != 404:
                return self._unreadable(f"GitHub answered {describe(error)}")
            if not self._has_commit():
                return self._unreadable("GitHub has no such commit (force-pushed away?)")
            return f"no such file at the pull request's head ({self.sha[:12]})"
        except requests.RequestException as error:
            return self._unreadable(f"cannot reach GitHub ({type(error).__name__})")

    def _has_commit(self) -> bool:
        import github
        import requests

        if self._commit_known is None:
            try:
                self.repo.get_commit(self.sha)
                self._commit_known = True
            except (github.GithubException, requests.RequestException):
                self._commit_known = False
        return self._commit_known

    def read(self, parts: tuple[str, ...], limit: int) -> ContentsFile | str:
        """The first `limit` bytes of the file at `parts`, or why not."""
        path = "/".join(parts)
        got = self._get(path)
        if isinstance(got, str):
            return got
        if isinstance(got, list) or got.type == "dir":
            return "not a regular file (use list_directory for folders)"
        if got.type == "symlink":
            return ESCAPES  # GitHub follows only links to a regular file of the repository
        if got.type != "file":
            return "not a regular file"
        data = self._data(got)
        if data is None:
            return self._unreadable("GitHub sent no content for it")
        return ContentsFile(got.path or path, data[:limit], int(got.size or len(data)))

    def _data(self, got: Any) -> bytes | None:
        import github
        import requests

        try:
            if got.encoding == "base64":
                return bytes(got.decoded_content)
            # Over 1 MB GitHub sends `"encoding": "none"`: the blob has the bytes.
            blob = self.repo.get_git_blob(got.sha)
            return base64.b64decode(blob.content)
        except (github.GithubException, requests.RequestException, ValueError):
            return None

    def children(self, parts: tuple[str, ...]) -> tuple[str, list[tuple[str, bool]]] | str:
        path = "/".join(parts)
        got = self._get(path)
        if isinstance(got, str):
            return got
        if not isinstance(got, list):
            return "not a directory at the pull request's head"
        names = sorted((item.name, item.type == "dir") for item in got)
        return path or ".", names

    def grep(self, options: list[str], scope: list[str]) -> str:
        return NOT_SEARCHABLE

    def is_link(self, path: str) -> bool:
        got = self._get(path)
        if isinstance(got, (str, list)):
            return False
        return bool(got.type == "symlink" or (got.path and got.path != path))
