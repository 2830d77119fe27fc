"""The state document on GitHub, through real PyGithub against the GitHub emulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import github
import pytest

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.pipeline import collect, submit
from ci_reviewer.batch.state import Loaded, StateConflict, StateDocument, dump_state
from ci_reviewer.batch.store_github import STATE_BRANCH, GitHubStore
from ci_reviewer.batch.store_retry import save_until_applied
from ci_reviewer.emulators import github as github_emulator_module
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault, Request, Response
from ci_reviewer.errors import GitHubAPIError
from tests.batch.conftest import MakeRun, git, served_origin

TOKEN = "emulator-token"


@pytest.fixture
def origin(tmp_path: Path, repo: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, repo, TOKEN) as emulator:
        yield emulator


@pytest.fixture
def store(origin: GitHubEmulator) -> Iterator[GitHubStore]:
    client = github.Github(
        base_url=origin.url,
        auth=github.Auth.Token(TOKEN),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    try:
        yield GitHubStore(client.get_repo("octo/demo"))
    finally:
        client.close()


def test_state_lands_on_its_own_branch_and_reads_back(
    origin: GitHubEmulator, store: GitHubStore, tmp_path: Path
) -> None:
    assert store.load("digest").version is None
    version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    loaded = store.load("digest")
    assert loaded.version == version and loaded.document.last_commit == "abc"
    stored = git(tmp_path / "origin.git", "show", f"{STATE_BRANCH}:state/digest.json")
    assert json.loads(stored)["last_commit"] == "abc"
    # An orphan branch: it shares no history with the code.
    assert git(tmp_path / "origin.git", "rev-list", "--count", STATE_BRANCH) == "2"


def test_a_stale_version_is_a_conflict(store: GitHubStore) -> None:
    first = store.save(StateDocument(job="digest"), None)
    store.save(StateDocument(job="digest", last_commit="new"), first)
    with pytest.raises(StateConflict):
        store.save(StateDocument(job="digest", last_commit="late"), first)
    with pytest.raises(StateConflict):
        store.save(StateDocument(job="digest", last_commit="also late"), None)


def test_two_overlapping_runs_one_wins_and_nothing_is_submitted_twice(
    store: GitHubStore, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    first = make_run(store=store)
    finished: list[object] = []

    def other_run_overtakes(point: str) -> None:
        # Run B has collected from the same state as run A; now run A completes first.
        if point == "collected" and not finished:
            finished.append(submit(first))

    second = submit(replace(first, checkpoint=other_run_overtakes))

    created = [r for r in claude.log if r.method == "POST" and r.path == "/v1/messages/batches"]
    assert len(created) == 1
    assert [b.requests for b in finished[0].batches] == [2]  # type: ignore[attr-defined]
    assert second.batches == ()  # B lost the compare-and-swap, reloaded, found nothing new
    assert collect(first).counts == {"succeeded": 2}


def test_a_github_failure_after_retries_is_an_api_error(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    origin.inject(Fault(route=r"/contents/", status=502, times=10))
    with pytest.raises(GitHubAPIError) as error:
        store.load("digest")
    assert error.value.exit_code == 3


@pytest.fixture
def answered(origin: GitHubEmulator) -> Iterator[list[tuple[str, str, int, Any]]]:
    """(method, path, status, body) of every request the emulator's routes answered."""
    seen: list[tuple[str, str, int, Any]] = []
    lock = threading.Lock()

    def observe(request: Request, response: Response) -> None:
        with lock:
            seen.append((request.method, request.path, response.status, response.body))

    github_emulator_module.RESPONSE_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        github_emulator_module.RESPONSE_OBSERVERS.remove(observe)


@pytest.mark.parametrize(
    ("answer_key", "quoted"),
    [
        (
            "ref-creation-restricted",
            "HTTP 422: Repository rule violations found "
            "Cannot create ref due to creations being restricted.",
        ),
        ("ref-update-failed", "HTTP 422: Reference update failed"),
    ],
)
def test_a_ruleset_refusing_the_state_branch_is_exit_3_naming_it(
    origin: GitHubEmulator, store: GitHubStore, tmp_path: Path, answer_key: str, quoted: str
) -> None:
    origin.restrict_ref_creation("refs/heads/ci-reviewer-*", answer_key)

    with pytest.raises(GitHubAPIError) as refused:
        store.save(StateDocument(job="digest"), None)

    assert refused.value.exit_code == 3
    message = str(refused.value)
    assert "GitHub refused to create the state branch ci-reviewer-state in octo/demo" in message
    assert f"({quoted})" in message
    assert "Settings -> Rules -> Rulesets" in message and "bypass" in message
    assert git(tmp_path / "origin.git", "branch", "--list", STATE_BRANCH) == ""


def test_a_branch_another_run_created_first_is_used(
    origin: GitHubEmulator,
    store: GitHubStore,
    tmp_path: Path,
    answered: list[tuple[str, str, int, Any]],
) -> None:
    bare = tmp_path / "origin.git"

    def other_run_creates_the_branch(request: Request, response: Response) -> None:
        # Between this run's lookup (no branch) and its create: the other run's orphan.
        created = git(bare, "branch", "--list", STATE_BRANCH)
        if request.path.endswith("/git/commits") and not created:
            empty = git(bare, "hash-object", "-t", "tree", "-w", "/dev/null")
            other = git(bare, "commit-tree", empty, "-m", "the other run's state branch")
            git(bare, "update-ref", f"refs/heads/{STATE_BRANCH}", other)

    github_emulator_module.RESPONSE_OBSERVERS.append(other_run_creates_the_branch)
    try:
        version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    finally:
        github_emulator_module.RESPONSE_OBSERVERS.remove(other_run_creates_the_branch)

    creates = [(status, body["message"]) for m, p, status, body in answered if p.endswith("/refs")]
    assert creates == [(422, "Reference already exists")]
    loaded = store.load("digest")
    assert (loaded.version, loaded.document.last_commit) == (version, "abc")
    assert git(bare, "log", "-1", "--format=%s", f"{STATE_BRANCH}~1") == (
        "the other run's state branch"
    )


def big_state(entries: int) -> StateDocument:
    manifest = {
        f"digest-{i:016x}-{i:08x}-a1": ManifestEntry(f"src/module_{i}.py", f"{i:040x}")
        for i in range(entries)
    }
    return StateDocument(job="digest", last_commit="abc", manifest=manifest)


def test_a_state_over_1_mb_round_trips_through_the_blob(
    origin: GitHubEmulator, store: GitHubStore, answered: list[tuple[str, str, int, Any]]
) -> None:
    document = big_state(15_000)
    assert len(dump_state(document)) > 2_000_000  # ~150 bytes an entry

    version = store.save(document, None)
    loaded = store.load("digest")

    assert loaded.version == version and loaded.document == document
    [read] = [body for m, p, _, body in answered if m == "GET" and p.endswith("digest.json")]
    assert (read["encoding"], read["content"]) == ("none", "")  # GitHub's answer over 1 MB
    assert [r.path for r in origin.log if "/git/blobs/" in r.path] == [
        f"/repos/octo/demo/git/blobs/{version}"
    ]
    # And the next save, a compare-and-swap on the large file's version, reads back too.
    smaller = StateDocument(job="digest", last_commit="def")
    again = store.save(smaller, loaded.version)
    assert store.load("digest") == Loaded(smaller, again)


def test_a_protected_state_branch_is_refused_after_three_unchanged_refusals(
    origin: GitHubEmulator, store: GitHubStore, answered: list[tuple[str, str, int, Any]]
) -> None:
    """A 409 on an unchanged file is taken for the branch's tip moving twice, then for the
    branch's protection: exit 3 with GitHub's own words and where to change the rule."""
    version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    origin.refuse_contents_writes("refs/heads/ci-reviewer-state")
    change = StateDocument(job="digest", last_commit="def")

    with pytest.raises(GitHubAPIError) as refused:
        save_until_applied(store, "digest", lambda _: change, store.load("digest"))

    puts = [status for method, path, status, _ in answered if method == "PUT"]
    assert puts == [201, 409, 409, 409]  # the first save, then three refused writes
    assert refused.value.exit_code == 3
    assert refused.value.message == (
        "GitHub refused to write the batch state octo/demo@ci-reviewer-state:state/digest.json, "
        "which no other run changed (HTTP 409: Could not update file: 2 of 2 required status "
        "checks are expected. Changes must be made through a pull request.)"
    )
    assert refused.value.hint == (
        "a branch protection rule or ruleset of octo/demo covers ci-reviewer-state "
        "(Settings -> Branches, or Settings -> Rules -> Rulesets): leave "
        "refs/heads/ci-reviewer-state out of the rules that require pull requests or status "
        "checks, or add the workflow's token (GitHub Actions) to the ruleset's bypass list; "
        "or keep the state in a directory with --state-dir"
    )
    assert store.load("digest") == Loaded(StateDocument(job="digest", last_commit="abc"), version)
