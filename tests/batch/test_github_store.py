"""The state document on GitHub, through real PyGithub against the GitHub emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import github
import pytest

from ci_reviewer.batch.pipeline import collect, submit
from ci_reviewer.batch.state import StateConflict, StateDocument
from ci_reviewer.batch.store_github import STATE_BRANCH, GitHubStore
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import GitHubAPIError
from tests.batch.conftest import MakeRun, git

TOKEN = "emulator-token"


@pytest.fixture
def origin(tmp_path: Path, repo: Path) -> Iterator[GitHubEmulator]:
    bare = tmp_path / "origin"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    emulator = GitHubEmulator(bare, full_name="octo/demo", token=TOKEN).start()
    try:
        yield emulator
    finally:
        emulator.stop()


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
    stored = git(tmp_path / "origin", "show", f"{STATE_BRANCH}:state/digest.json")
    assert json.loads(stored)["last_commit"] == "abc"
    # An orphan branch: it shares no history with the code.
    assert git(tmp_path / "origin", "rev-list", "--count", STATE_BRANCH) == "2"


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
