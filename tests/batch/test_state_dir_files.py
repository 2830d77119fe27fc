"""`--state-dir` as a user sees it: the files it holds (`<dir>/<job>.json` and its lock,
nothing half-written left behind), a folder that does not exist yet, and the message when the
state cannot be read or written (exit 2, the path, what to do)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_reviewer.batch.state import StateDocument
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.errors import EXIT_USAGE, InputError


def test_a_state_folder_that_does_not_exist_yet_is_created_with_its_parents(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "ci" / "state"
    store = DirectoryStore(state_dir)

    version = store.save(StateDocument(job="nightly", last_commit="abc123"), None)

    assert sorted(p.name for p in state_dir.iterdir()) == ["nightly.json", "nightly.lock"]
    assert json.loads((state_dir / "nightly.json").read_text())["last_commit"] == "abc123"
    assert store.describe("nightly") == f"{state_dir}/nightly.json"
    assert store.load("nightly").version == version


def test_a_second_save_on_the_version_it_got_back_replaces_the_file(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    first = store.save(StateDocument(job="nightly", last_commit="abc123"), None)

    store.save(StateDocument(job="nightly", last_commit="def456"), first)

    loaded = store.load("nightly")
    assert loaded.document.last_commit == "def456"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nightly.json", "nightly.lock"]


def test_each_job_has_its_own_file(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store.save(StateDocument(job="nightly", last_commit="abc123"), None)

    assert store.load("weekly").version is None
    assert store.load("weekly").document == StateDocument(job="weekly")


def test_a_state_file_that_cannot_be_read_names_it(tmp_path: Path) -> None:
    (tmp_path / "nightly.json").mkdir()  # in the way: a folder where the file should be

    with pytest.raises(InputError) as refused:
        DirectoryStore(tmp_path).load("nightly")

    assert refused.value.exit_code == EXIT_USAGE
    assert (
        str(refused.value) == f"cannot read the batch state {tmp_path}/nightly.json: Is a directory"
    )


def test_a_damaged_state_file_is_named_by_its_path(tmp_path: Path) -> None:
    (tmp_path / "nightly.json").write_text('{"version": 1, "job": "nightly", "retry": 3}')

    with pytest.raises(InputError) as refused:
        DirectoryStore(tmp_path).load("nightly")

    assert refused.value.message == (
        f"the batch state {tmp_path}/nightly.json is not a valid state document: "
        "Input should be a valid array"
    )


def test_a_state_dir_that_cannot_be_written_asks_for_a_writable_one(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "state"
    not_a_folder.write_text("")

    with pytest.raises(InputError) as refused:
        DirectoryStore(not_a_folder).save(StateDocument(job="nightly"), None)

    assert refused.value.exit_code == EXIT_USAGE
    assert (
        refused.value.message
        == f"cannot write the batch state {not_a_folder}/nightly.json: File exists"
    )
    assert refused.value.hint == "pass a writable directory to --state-dir"
