"""What a user sees of the GitHub state store when GitHub fails or refuses: the exact message
of each request that failed after retries (exit 3), and what the store leaves on the branch.

The store talks through the client the CLI builds (`make_github`, six retries; no backoff
wait here), to the GitHub emulator made to fail one kind of request. Every expected message
is written out by hand from the parts a user reads: the action ("read the batch state
<repository>@<branch>:<path>"), then what GitHub kept answering."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import github
import pytest

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.state import Loaded, StateConflict, StateDocument, dump_state
from ci_reviewer.batch.store_github import GitHubStore, StateWriteForbidden
from ci_reviewer.batch.store_retry import save_until_applied
from ci_reviewer.emulators import github as github_emulator_module
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault, Request, Response
from ci_reviewer.errors import GitHubAPIError, InputError
from ci_reviewer.github.client import GitHubSettings, make_github
from tests.batch.conftest import git, served_origin

TOKEN = "emulator-token"
STATE = r"^/repos/octo/demo/contents/state/digest\.json$"
WHERE = "octo/demo@ci-reviewer-state:state/digest.json"
# GitHub's 502 on the first try and on each of the client's six retries.
KEPT_FAILING = "GitHub answered 502 (Bad Gateway) after 6 retries"


@pytest.fixture
def origin(tmp_path: Path, repo: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, repo, TOKEN) as emulator:
        yield emulator


@pytest.fixture
def client(origin: GitHubEmulator) -> Iterator[github.Github]:
    made = make_github(GitHubSettings(origin.url, TOKEN, backoff_factor=0.0))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def store(client: github.Github) -> GitHubStore:
    return GitHubStore(client.get_repo("octo/demo"))


@pytest.fixture
def answered(origin: GitHubEmulator) -> Iterator[list[tuple[str, str, int]]]:
    """(method, path, status) of every request the emulator's routes answered."""
    seen: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def observe(request: Request, response: Response) -> None:
        with lock:
            seen.append((request.method, request.path, response.status))

    github_emulator_module.RESPONSE_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        github_emulator_module.RESPONSE_OBSERVERS.remove(observe)


def failing(origin: GitHubEmulator, route: str, method: str) -> None:
    """GitHub answering 502 to `method route` on the first try and on all six retries."""
    origin.inject(Fault(route=route, status=502, times=7, method=method))


def refused(call: Callable[[], object]) -> GitHubAPIError:
    with pytest.raises(GitHubAPIError) as error:
        call()
    assert error.value.exit_code == 3
    return error.value


def rate_limited_write(
    origin: GitHubEmulator, store: GitHubStore, *, times: int, retry_after: int
) -> GitHubAPIError:
    """A state write GitHub refuses `times` times with its secondary rate limit: refused as
    GitHub failing, never as a token that may not write (`StateWriteForbidden`)."""
    version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    origin.inject(
        Fault(
            route=STATE,
            status=403,
            times=times,
            method="PUT",
            answer="secondary-rate-limit",
            retry_after=retry_after,
        )
    )
    error = refused(lambda: store.save(StateDocument(job="digest", last_commit="def"), version))
    assert not isinstance(error, StateWriteForbidden)
    return error


# -- GitHub failing after retries: exit 3 naming what could not be done ------------------------
def test_reading_the_state_fails_naming_the_file(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    failing(origin, STATE, "GET")
    error = refused(lambda: store.load("digest"))
    assert error.message == f"read the batch state {WHERE}: {KEPT_FAILING}"


def test_looking_up_the_branch_fails_naming_it(origin: GitHubEmulator, store: GitHubStore) -> None:
    """No state file yet (404): the branch's ref tells whether the branch exists."""
    failing(origin, r"/git/ref/heads/ci-reviewer-state$", "GET")
    error = refused(lambda: store.load("digest"))
    assert error.message == f"look up the branch ci-reviewer-state: {KEPT_FAILING}"


def test_writing_the_state_fails_naming_the_file(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    # A token that may only read contents (a workflow's `permissions: contents: read`).
    origin.set_token_scopes({"contents": "read", "metadata": "read"})
    error = refused(lambda: store.save(StateDocument(job="digest", last_commit="def"), version))
    assert error.message == (
        f"write the batch state {WHERE}: HTTP 403: Resource not accessible by integration"
    )
    # The kind of refusal a review's month record tells from a fault (no warning for it).
    assert isinstance(error, StateWriteForbidden)


def test_a_rate_limited_write_is_a_fault_not_the_tokens_permission(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    """A secondary rate limit is a 403 too: after the client's retries it is GitHub failing,
    not a token that may not write."""
    error = rate_limited_write(origin, store, times=7, retry_after=0)
    assert error.message == (
        f"write the batch state {WHERE}: GitHub's secondary rate limit refused the request "
        "(HTTP 403) after 6 retries; GitHub asked to wait 0 s (retry-after)"
    )


def test_a_rate_limit_longer_than_the_client_waits_is_a_fault_naming_the_file(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    """GitHub asking for a wait beyond what the client waits out (300 s): refused at once,
    as GitHub failing, not as a token that may not write."""
    error = rate_limited_write(origin, store, times=1, retry_after=600)
    assert error.message == (
        f"write the batch state {WHERE}: GitHub's secondary rate limit refused the request "
        "(HTTP 403); GitHub asked to wait 600 s (retry-after) (HTTP 403: You have exceeded a "
        "secondary rate limit. Please wait a few minutes before you try again.)"
    )


def test_writing_the_state_fails_after_retries_naming_the_file(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    failing(origin, STATE, "PUT")
    error = refused(lambda: store.save(StateDocument(job="digest", last_commit="def"), version))
    assert error.message == f"write the batch state {WHERE}: {KEPT_FAILING}"


def test_a_read_only_token_cannot_create_the_state_branch(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    origin.set_token_scopes({"contents": "read", "metadata": "read"})
    error = refused(lambda: store.save(StateDocument(job="digest"), None))
    assert error.message == (
        "create the state branch ci-reviewer-state: HTTP 403: Resource not accessible by "
        "integration"
    )


@pytest.mark.parametrize("objects", ["trees", "commits"])
def test_creating_the_branch_fails_naming_it(
    origin: GitHubEmulator, store: GitHubStore, tmp_path: Path, objects: str
) -> None:
    """A git object GitHub fails to confirm is sent again (it is content-addressed): six
    times, then the run stops saying what it was doing."""
    failing(origin, rf"^/repos/octo/demo/git/{objects}$", "POST")
    error = refused(lambda: store.save(StateDocument(job="digest"), None))
    assert error.message == f"create the state branch ci-reviewer-state: {KEPT_FAILING}"
    assert git(tmp_path / "origin.git", "branch", "--list", "ci-reviewer-state") == ""


def test_looking_again_after_a_refused_write_fails_naming_the_file(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    """A 409 is told apart by reading the file again; that read failing is exit 3 too."""
    version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    origin.inject(Fault(route=STATE, status=409, method="PUT", answer="contents-branch-protected"))
    failing(origin, STATE, "GET")
    error = refused(lambda: store.save(StateDocument(job="digest", last_commit="def"), version))
    assert error.message == f"read the batch state {WHERE}: {KEPT_FAILING}"


def test_reading_a_state_over_1_mb_fails_naming_the_blob(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    manifest = {
        f"digest-{i:016x}-{i:08x}-a1": ManifestEntry(f"src/module_{i}.py", f"{i:040x}")
        for i in range(8_000)
    }
    document = StateDocument(job="digest", manifest=manifest)
    assert len(dump_state(document)) > 1_048_576  # GitHub sends no content over 1 MB
    store.save(document, None)
    failing(origin, r"^/repos/octo/demo/git/blobs/", "GET")
    error = refused(lambda: store.load("digest"))
    assert error.message == f"read the batch state blob: {KEPT_FAILING}"


def test_a_state_file_of_another_job_is_exit_2_naming_it(
    store: GitHubStore, client: github.Github
) -> None:
    """Someone copied the weekly job's state over the digest's (by hand, on the branch)."""
    version = store.save(StateDocument(job="digest"), None)
    client.get_repo("octo/demo").update_file(
        "state/digest.json",
        "copy the weekly state",
        '{"version": 1, "job": "weekly"}',
        sha=version,
        branch="ci-reviewer-state",
    )
    with pytest.raises(InputError) as error:
        store.load("digest")
    assert error.value.exit_code == 2
    assert error.value.message == (f"the batch state {WHERE} belongs to job 'weekly', not 'digest'")


def test_a_folder_in_place_of_the_state_file_is_exit_2_naming_it(
    store: GitHubStore, client: github.Github
) -> None:
    store.save(StateDocument(job="other"), None)  # the branch exists
    client.get_repo("octo/demo").create_file(
        "state/digest.json/notes.txt", "a folder in the way", "x", branch="ci-reviewer-state"
    )
    with pytest.raises(InputError) as error:
        store.load("digest")
    assert error.value.exit_code == 2
    assert error.value.message == f"cannot read the batch state {WHERE}: it is a directory"
    assert error.value.hint == (
        "remove the folder state/digest.json from the branch ci-reviewer-state"
    )


# -- what the branch holds ---------------------------------------------------------------------
README = (
    "# ci-reviewer state\n\nState of scheduled batch jobs, written by ci-reviewer. "
    "Do not edit while a job runs; deleting a file forgets that job's pending batches.\n"
)


def test_the_state_branch_holds_a_readme_then_one_commit_a_save(
    store: GitHubStore, tmp_path: Path, answered: list[tuple[str, str, int]]
) -> None:
    first = store.save(StateDocument(job="digest", last_commit="abc"), None)
    store.save(StateDocument(job="digest", last_commit="def"), first)

    bare = tmp_path / "origin.git"
    log = git(bare, "log", "--format=%s", "ci-reviewer-state").splitlines()
    assert log == ["ci-reviewer: state of digest"] * 2 + ["ci-reviewer: state branch"]
    root = git(bare, "rev-list", "--max-parents=0", "ci-reviewer-state")
    # The README, byte for byte: git names a blob by the SHA-1 of "blob <size>\0<bytes>".
    readme = README.encode()
    blob = hashlib.sha1(b"blob %d\0" % len(readme) + readme, usedforsecurity=False).hexdigest()
    assert git(bare, "ls-tree", root) == f"100644 blob {blob}\tREADME.md"
    files = git(bare, "ls-tree", "-r", "--name-only", "ci-reviewer-state").split()
    assert files == ["README.md", "state/digest.json"]
    # A first save: one lookup of the branch, its tree, commit and ref, then the file.
    assert answered[:5] == [
        ("GET", "/repos/octo/demo/git/ref/heads/ci-reviewer-state", 404),
        ("POST", "/repos/octo/demo/git/trees", 201),
        ("POST", "/repos/octo/demo/git/commits", 201),
        ("POST", "/repos/octo/demo/git/refs", 201),
        ("PUT", "/repos/octo/demo/contents/state/digest.json", 201),
    ]


def test_a_small_state_is_read_in_one_request(
    store: GitHubStore, answered: list[tuple[str, str, int]]
) -> None:
    version = store.save(StateDocument(job="digest", last_commit="abc"), None)
    del answered[:]
    assert store.load("digest") == Loaded(StateDocument(job="digest", last_commit="abc"), version)
    assert answered == [("GET", "/repos/octo/demo/contents/state/digest.json", 200)]


# -- refusals of an unchanged file: protection only after three in a row -------------------------
PROTECTED = (
    f"GitHub refused to write the batch state {WHERE}, which no other run changed "
    "(HTTP 409: Could not update file: 2 of 2 required status checks are expected. Changes "
    "must be made through a pull request.)"
)


def writes(origin: GitHubEmulator) -> int:
    """How many times the state file was sent (the injected refusals included)."""
    return sum(r.method == "PUT" for r in origin.log)


def test_a_branch_protected_from_the_first_write_is_refused_after_three(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    origin.refuse_contents_writes("refs/heads/ci-reviewer-state")
    change = StateDocument(job="digest", last_commit="abc")
    error = refused(lambda: save_until_applied(store, "digest", lambda _: change))
    assert error.message == PROTECTED
    assert writes(origin) == 3


def test_refusals_count_again_from_zero_after_a_save(
    origin: GitHubEmulator, store: GitHubStore
) -> None:
    """Two 409s for the branch's tip moving (another job's state written meanwhile), then the
    save lands; the branch protected later is still given three refusals."""
    store.save(StateDocument(job="digest", last_commit="abc"), None)
    origin.inject(Fault(route=STATE, status=409, times=2, method="PUT"))
    saved = save_until_applied(store, "digest", lambda d: replace_commit(d, "def"))
    assert saved.document.last_commit == "def"
    assert writes(origin) == 4  # the first save, two refused, the third landed

    origin.refuse_contents_writes("refs/heads/ci-reviewer-state")
    error = refused(lambda: save_until_applied(store, "digest", lambda d: replace_commit(d, "x")))
    assert error.message == PROTECTED
    assert writes(origin) == 4 + 3


def test_refusals_count_again_from_zero_after_another_run_changed_the_file(
    origin: GitHubEmulator,
    client: github.Github,
    store: GitHubStore,
) -> None:
    first = store.save(StateDocument(job="digest", last_commit="abc"), None)
    origin.inject(Fault(route=STATE, status=409, times=1, method="PUT"))
    with pytest.raises(StateConflict):  # refused once, the file unchanged
        store.save(StateDocument(job="digest", last_commit="def"), first)
    other = GitHubStore(client.get_repo("octo/demo"))
    second = other.save(StateDocument(job="digest", last_commit="other"), first)
    with pytest.raises(StateConflict):  # refused for the other run's change
        store.save(StateDocument(job="digest", last_commit="def"), first)

    origin.refuse_contents_writes("refs/heads/ci-reviewer-state")
    change = StateDocument(job="digest", last_commit="def")
    loaded = Loaded(StateDocument(job="digest", last_commit="other"), second)
    error = refused(lambda: save_until_applied(store, "digest", lambda _: change, loaded))
    assert error.message == PROTECTED
    # The first save, one refused, the other run's, one refused for it, then three.
    assert writes(origin) == 4 + 3


def replace_commit(document: StateDocument, commit: str) -> StateDocument:
    return document.model_copy(update={"last_commit": commit})
