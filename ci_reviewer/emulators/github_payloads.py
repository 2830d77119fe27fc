"""GitHub's JSON shapes, built so every `url` field points back at the emulator.

PyGithub follows the `url` it is given (a PR's files are fetched from `pull["url"] +
"/files"`), so these must name the emulator's host and port, and each shape carries the
fields GitHub's OpenAPI description marks required.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ci_reviewer.emulators.github_git import CommitInfo, FileChange, Person

EPOCH = "2024-01-01T00:00:00Z"
DOCS = "https://docs.github.com/rest"

_REPO_URL_FIELDS = [
    "archive_url",
    "assignees_url",
    "blobs_url",
    "branches_url",
    "collaborators_url",
    "comments_url",
    "commits_url",
    "compare_url",
    "contents_url",
    "contributors_url",
    "deployments_url",
    "downloads_url",
    "events_url",
    "forks_url",
    "git_commits_url",
    "git_refs_url",
    "git_tags_url",
    "hooks_url",
    "issue_comment_url",
    "issue_events_url",
    "issues_url",
    "keys_url",
    "labels_url",
    "languages_url",
    "merges_url",
    "milestones_url",
    "notifications_url",
    "pulls_url",
    "releases_url",
    "stargazers_url",
    "statuses_url",
    "subscribers_url",
    "subscription_url",
    "tags_url",
    "teams_url",
    "trees_url",
]
_USER_URL_FIELDS = [
    "followers_url",
    "following_url",
    "gists_url",
    "starred_url",
    "subscriptions_url",
    "organizations_url",
    "repos_url",
    "events_url",
    "received_events_url",
]


def stable_id(*parts: object) -> int:
    digest = hashlib.sha1("/".join(map(str, parts)).encode(), usedforsecurity=False)
    return int(digest.hexdigest()[:8], 16)


def error(message: str, docs: str = DOCS, **extra: Any) -> dict[str, Any]:
    return {"message": message, "documentation_url": docs, **extra}


@dataclass(frozen=True)
class Links:
    """URL and identity factory for one emulated repository."""

    base: str
    full_name: str
    default_branch: str

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def api(self) -> str:
        return f"{self.base}/repos/{self.full_name}"

    @property
    def html(self) -> str:
        return f"{self.base}/{self.full_name}"

    def user(self, login: str) -> dict[str, Any]:
        url = f"{self.base}/users/{login}"
        return {
            "login": login,
            "id": stable_id("user", login),
            "node_id": f"U_{login}",
            "avatar_url": f"{self.base}/avatars/{login}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.base}/{login}",
            **{name: f"{url}/{name.removesuffix('_url')}" for name in _USER_URL_FIELDS},
            "type": "Bot" if login.endswith("[bot]") else "User",
            "site_admin": False,
        }

    def repo(self, full: bool = False) -> dict[str, Any]:
        name = self.full_name.split("/")[1]
        body: dict[str, Any] = {
            "id": stable_id("repo", self.full_name),
            "node_id": f"R_{self.full_name}",
            "name": name,
            "full_name": self.full_name,
            "owner": self.user(self.owner),
            "private": False,
            "html_url": self.html,
            "description": None,
            "fork": False,
            "url": self.api,
            **{field: f"{self.api}/{field.removesuffix('_url')}" for field in _REPO_URL_FIELDS},
            "git_url": f"{self.html}.git",
            "ssh_url": f"git@emulator:{self.full_name}.git",
            "clone_url": f"{self.html}.git",
            "svn_url": self.html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 0,
            "default_branch": self.default_branch,
            "open_issues_count": 0,
            "open_issues": 0,
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": False,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "pushed_at": EPOCH,
            "created_at": EPOCH,
            "updated_at": EPOCH,
        }
        if full:
            body |= {"network_count": 0, "subscribers_count": 0}
            body["permissions"] = {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            }
        return body

    def git_person(self, person: Person) -> dict[str, Any]:
        return {"name": person.name, "email": person.email, "date": person.date}

    def commit(self, info: CommitInfo, files: list[FileChange] | None = None) -> dict[str, Any]:
        """The REST `commit` shape (GET commits/{ref}, PR commits, compare)."""
        body: dict[str, Any] = {
            "url": f"{self.api}/commits/{info.sha}",
            "sha": info.sha,
            "node_id": f"C_{info.sha}",
            "html_url": f"{self.html}/commit/{info.sha}",
            "comments_url": f"{self.api}/commits/{info.sha}/comments",
            "commit": {
                "url": f"{self.api}/git/commits/{info.sha}",
                "author": self.git_person(info.author),
                "committer": self.git_person(info.committer),
                "message": info.message,
                "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{self.api}/git/trees/{info.tree}"},
            },
            # GitHub sends null for authors it cannot map to an account; the OAS 3.0
            # validator rejects null in that nullable oneOf, so send the documented {}.
            "author": {},
            "committer": {},
            "parents": [
                {"sha": p, "url": f"{self.api}/commits/{p}", "html_url": f"{self.html}/commit/{p}"}
                for p in info.parents
            ],
        }
        if files is not None:
            body["files"] = [self.diff_entry(f) for f in files]
            adds = sum(f.additions for f in files)
            dels = sum(f.deletions for f in files)
            body["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
        return body

    def git_commit(self, info: CommitInfo) -> dict[str, Any]:
        """The git data API `git-commit` shape."""
        return {
            "sha": info.sha,
            "node_id": f"C_{info.sha}",
            "url": f"{self.api}/git/commits/{info.sha}",
            "html_url": f"{self.html}/commit/{info.sha}",
            "author": self.git_person(info.author),
            "committer": self.git_person(info.committer),
            "tree": {"sha": info.tree, "url": f"{self.api}/git/trees/{info.tree}"},
            "message": info.message,
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.api}/git/commits/{p}",
                    "html_url": f"{self.html}/commit/{p}",
                }
                for p in info.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def diff_entry(self, change: FileChange) -> dict[str, Any]:
        sha = change.sha or "0" * 40
        body: dict[str, Any] = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{self.html}/blob/{sha}/{change.filename}",
            "raw_url": f"{self.html}/raw/{sha}/{change.filename}",
            "contents_url": f"{self.api}/contents/{change.filename}?ref={sha}",
        }
        if change.patch:
            body["patch"] = change.patch
        if change.previous_filename:
            body["previous_filename"] = change.previous_filename
        return body

    def git_ref(self, ref: str, sha: str, kind: str = "commit") -> dict[str, Any]:
        return {
            "ref": ref,
            "node_id": f"REF_{ref}",
            "url": f"{self.api}/git/{ref}",
            "object": {"type": kind, "sha": sha, "url": f"{self.api}/git/{kind}s/{sha}"},
        }

    def label(
        self, name: str, color: str = "ededed", description: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": stable_id("label", name),
            "node_id": f"LA_{name}",
            "url": f"{self.api}/labels/{name}",
            "name": name,
            "description": description,
            "color": color,
            "default": False,
        }
