"""Which pull request a run reviews, and its diff as the review engine reads it.

The PR comes from the event payload (`pull_request`, `pull_request_target`) or from `--pr N`
with `--repo` / GITHUB_REPOSITORY (workflow_dispatch, a local run). The head reviewed is
`pull_request.head.sha` from the payload (what the checkout holds), never GITHUB_SHA, which
for pull_request events is a merge commit GitHub made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_reviewer.config import DEFAULT_CONFIG_PATH, parse_config
from ci_reviewer.errors import ConfigError, InputError, UsageError
from ci_reviewer.git import run_git
from ci_reviewer.github.actions import ActionsEnv, load_event
from ci_reviewer.github.client import GitHubSettings, github_errors, make_github
from ci_reviewer.github.head_contents import ContentsAtCommit
from ci_reviewer.head_objects import checkout_head, fetch_head
from ci_reviewer.review.diff import ReviewSource, diff_from_pr_files
from ci_reviewer.review.head_tree import CommitTree

if TYPE_CHECKING:
    import github
    from github.PullRequest import PullRequest
    from github.Repository import Repository

    from ci_reviewer.review.head_sandbox import HeadFiles

PR_EVENTS = ("pull_request", "pull_request_target")
TARGET_RISK = (
    "under pull_request_target the job runs with a write token and the repository's secrets, "
    "and the checkout holds the PR author's code: its files (including "
    ".github/ci-reviewer.yml) are untrusted input. Check out the base branch (the default for "
    "pull_request_target) or use the pull_request event; set "
    "review.allow_pull_request_target_checkout: true only if you accept that risk"
)


@dataclass(frozen=True)
class PullRequestRef:
    """What the run was asked to review, before asking GitHub anything."""

    repo: str
    number: int
    event_name: str | None = None
    head_sha: str | None = None  # from the payload: what the checkout was made from


@dataclass(frozen=True)
class PullRequestInfo:
    """The pull request as GitHub describes it, reduced to what the review needs."""

    repo: str
    number: int
    state: str
    merged: bool
    head_sha: str
    base_sha: str
    title: str
    body: str
    html_url: str
    is_fork: bool
    event_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open" and not self.merged

    @property
    def closed_reason(self) -> str:
        return "merged" if self.merged else "closed"


def pull_request_ref(env: ActionsEnv, repo: str | None, pr_number: int | None) -> PullRequestRef:
    """The PR to review from `--pr`/`--repo` or the event payload; exit 2 when neither says."""
    if pr_number is not None:
        if not repo:
            raise UsageError(
                f"--pr {pr_number} needs the repository",
                hint="pass --repo OWNER/NAME or set GITHUB_REPOSITORY",
            )
        head = _payload_head(env, pr_number)
        return PullRequestRef(repo, pr_number, env.event_name, head)
    payload = load_event(env.event_path)
    pull = payload.get("pull_request")
    event = env.event_name or ("pull_request" if isinstance(pull, Mapping) else None)
    if event not in PR_EVENTS or not isinstance(pull, Mapping):
        raise InputError(
            f"the event {event or '(unknown: the payload has no pull_request)'!r} is not a "
            "pull-request event, so there is no pull request to review",
            hint="run on pull_request or pull_request_target, or pass --pr N (with --repo)",
        )
    full_name = _repo_of(payload) or repo
    if not full_name:
        raise InputError("the event payload names no repository", hint="pass --repo OWNER/NAME")
    number = pull.get("number")
    if not isinstance(number, int):
        raise InputError(
            f"{env.event_path}: pull_request.number is missing from the event payload",
            hint="GITHUB_EVENT_PATH must point at the runner's event JSON, or pass --pr N",
        )
    head = pull.get("head")
    head_sha = head.get("sha") if isinstance(head, Mapping) else None
    return PullRequestRef(full_name, number, event, head_sha or None)


def _payload_head(env: ActionsEnv, number: int) -> str | None:
    """The payload's head SHA when the payload is about PR `number` (else: ask GitHub)."""
    if not env.event_path or not Path(env.event_path).is_file():
        return None
    pull = load_event(env.event_path).get("pull_request")
    if isinstance(pull, Mapping) and pull.get("number") == number:
        head = pull.get("head")
        sha = head.get("sha") if isinstance(head, Mapping) else None
        return str(sha) if sha else None
    return None


def _repo_of(payload: Mapping[str, Any]) -> str | None:
    repository = payload.get("repository")
    name = repository.get("full_name") if isinstance(repository, Mapping) else None
    return str(name) if name else None


def load_pull(
    gh: github.Github, ref: PullRequestRef
) -> tuple[Repository, PullRequest, PullRequestInfo]:
    """The PR from GitHub; the head reviewed is the payload's when there is one."""
    with github_errors(f"reading pull request #{ref.number} of {ref.repo}"):
        repo = gh.get_repo(ref.repo)
        pull = repo.get_pull(ref.number)
        head_repo = pull.head.repo
        info = PullRequestInfo(
            repo=ref.repo,
            number=pull.number,
            state=pull.state,
            merged=bool(pull.merged),
            head_sha=ref.head_sha or pull.head.sha,
            base_sha=pull.base.sha,
            title=pull.title or "",
            body=pull.body or "",
            html_url=pull.html_url,
            is_fork=head_repo is None or head_repo.full_name != ref.repo,
            event_name=ref.event_name,
        )
    return repo, pull, info


def pull_source(
    repo: Repository, pull: PullRequest, info: PullRequestInfo, workdir: Path | None
) -> ReviewSource:
    """The PR's diff from its files (paginated); a file GitHub sends without a patch is
    read from the checkout when the checkout has both commits. The source's base is where
    the PR forked from its base branch (see `fork_point`)."""
    with github_errors(f"listing the files of pull request #{info.number}"):
        files = list(pull.get_files())
    head = head_files(repo, info, workdir) if workdir else None
    base = fork_point(repo, info, workdir)
    return diff_from_pr_files(
        files, workdir, base, info.head_sha, title=info.title, body=info.body, head_files=head
    )


def head_files(repo: Repository, info: PullRequestInfo, workdir: Path) -> HeadFiles | None:
    """Where the review reads the head's files when the checkout's HEAD is not the PR's
    head (pull_request_target with the base checked out, a merge or stale checkout): its
    git objects, fetched if need be, else GitHub's contents API at the head SHA. None when
    the checkout holds the head: its working tree is read."""
    checked_out = checkout_head(workdir)
    if checked_out == info.head_sha:
        return None
    what = (
        f"the checkout's HEAD ({checked_out[:12] or 'none'}) is not the head of pull request "
        f"#{info.number} ({info.head_sha[:12]})"
    )
    failed = fetch_head(workdir, info.head_sha, info.number)
    if failed is None:
        note = f"{what}: the review reads the head commit's files from git objects"
        return CommitTree(workdir, info.head_sha, note)
    note = (
        f"{what} and its objects could not be fetched ({failed}): the review reads the head's "
        "files through GitHub's contents API"
    )
    return ContentsAtCommit(repo, info.head_sha, note)


def fork_point(repo: Repository, info: PullRequestInfo, workdir: Path | None) -> str:
    """The merge base of the PR's base and head: the commit its diff starts from.

    GitHub's `base.sha` is the base branch's tip when the PR was opened or last pushed to,
    not where the PR forked: once the base branch moves on, reading the "base" version of a
    file there would show the model other people's changes as the PR's. The checkout answers
    when it holds both commits and their history (not a shallow clone); else GitHub's
    compare API, whose `merge_base_commit` is that commit.
    """
    import github

    local = _local_merge_base(workdir, info.base_sha, info.head_sha) if workdir else None
    if local is not None:
        return local
    with github_errors(f"finding where pull request #{info.number} forked from its base"):
        try:
            return repo.compare(info.base_sha, info.head_sha).merge_base_commit.sha
        except github.GithubException as error:
            if error.status != 404:
                raise
    return info.base_sha  # no common history (404): the base's tip is all there is


def _local_merge_base(workdir: Path, base: str, head: str) -> str | None:
    shallow = run_git(workdir, ["rev-parse", "--is-shallow-repository"], check=False)
    if shallow.returncode != 0 or shallow.text.strip() != "false":
        return None  # not a checkout, or a shallow one whose cut history misleads merge-base
    for sha in (base, head):
        if run_git(workdir, ["cat-file", "-e", f"{sha}^{{commit}}"], check=False).returncode:
            return None
    found = run_git(workdir, ["merge-base", base, head], check=False)
    if found.returncode != 0:
        return None  # no common ancestor in the checkout: ask GitHub
    return found.text.strip() or None


def guard_target_checkout(
    info: PullRequestInfo, workdir: Path, config_file: str = DEFAULT_CONFIG_PATH
) -> None:
    """Under pull_request_target, refuse a checkout that holds the PR's code (its head, or a
    merge of it) unless the config accepts the risk; exit 2 with the reason.

    The acceptance is read from the config at the PR's base commit, never from the checkout:
    there the config file is the PR author's, who could otherwise accept the risk for us.
    """
    if info.event_name != "pull_request_target":
        return
    holds_head = run_git(
        workdir, ["merge-base", "--is-ancestor", info.head_sha, "HEAD"], check=False
    )
    if holds_head.returncode == 0 and not _base_config_allows(workdir, info.base_sha, config_file):
        raise InputError(
            f"refusing to review: the checkout at {workdir} holds the head of pull request "
            f"#{info.number} ({info.head_sha[:12]}) and the event is pull_request_target",
            hint=TARGET_RISK,
        )


def _base_config_allows(workdir: Path, base_sha: str, config_file: str) -> bool:
    shown = run_git(workdir, ["show", f"{base_sha}:{config_file}"], check=False)
    if shown.returncode != 0:
        return False  # no config at the base (or the base is not fetched): the default, no
    try:
        config = parse_config(shown.text, f"{config_file} at {base_sha[:12]}")
    except ConfigError:
        return False
    return config.review.allow_pull_request_target_checkout


def github_settings(environ: Mapping[str, str]) -> GitHubSettings:
    env = ActionsEnv.from_environ(environ)
    token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or ""
    return GitHubSettings(api_url=env.api_url, token=token)


def config_file_in_checkout(config_path: Path, workdir: Path) -> str:
    """The config file's path inside the checkout, as git names it at another commit."""
    try:
        return config_path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return DEFAULT_CONFIG_PATH


def pull_request_source(
    environ: Mapping[str, str],
    repo_name: str | None,
    pr_number: int | None,
    *,
    workdir: Path,
    config_path: Path,
) -> ReviewSource:
    """The PR's diff as `review --dry-run` loads it; nothing written. With a token it is
    read from GitHub as the real run reads it (reads only); without one, from the event
    payload and the checkout (`payload_source`): a dry run needs no credentials."""
    env = ActionsEnv.from_environ(environ)
    ref = pull_request_ref(env, repo_name, pr_number)
    access = github_settings(environ)
    if not access.token:
        return _from_payload(env, ref, workdir, config_path)
    gh = make_github(access)
    try:
        repo, pull, info = load_pull(gh, ref)
        if not info.is_open:  # the real run skips it: so does its dry run
            return ReviewSource(
                (), info.base_sha, info.head_sha, info.title, not_open=info.closed_reason
            )
        guard_target_checkout(info, workdir, config_file_in_checkout(config_path, workdir))
        return pull_source(repo, pull, info, workdir)
    finally:
        gh.close()


def _from_payload(
    env: ActionsEnv, ref: PullRequestRef, workdir: Path, config_path: Path
) -> ReviewSource:
    """The dry run's diff with no token: the payload's commits in the checkout, guarded as
    the real run guards a pull_request_target checkout."""
    from ci_reviewer.github.payload_source import payload_pull, payload_source

    pull = payload_pull(env, ref.number)
    source = payload_source(pull, ref.number, workdir)
    if not source.not_open:
        info = PullRequestInfo(
            repo=ref.repo,
            number=ref.number,
            state="open",
            merged=False,
            head_sha=source.head_sha,
            base_sha=str(pull["base"]["sha"]),  # the base tip: where the trusted config is
            title=source.title,
            body=source.body,
            html_url="",
            is_fork=False,
            event_name=ref.event_name,
        )
        guard_target_checkout(info, workdir, config_file_in_checkout(config_path, workdir))
    return source
