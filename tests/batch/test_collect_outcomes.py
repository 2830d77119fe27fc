"""What `batch collect` says happened to each file: a result the API calls "succeeded" whose
answer the job refuses has failed for good, not succeeded, and the summary line names it,
and names what is sent again and why (a real batch on the Claude emulator, the real CLI)."""

from __future__ import annotations

import json
from pathlib import Path

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from tests.batch.conftest import commit_files
from tests.batch.test_cli_batch import cli
from tests.batch.test_pipeline import cid_of

__all__ = ["cli"]  # the fixture used here


def _about(path: str):
    return lambda body: path in json.dumps(body.get("messages", ""))


def test_collect_counts_files_by_what_became_of_them(
    cli, claude: ClaudeEmulator, repo: Path, tmp_path: Path
) -> None:
    commit_files(repo, {"src/c.py": "print('c')\n"})
    claude.enqueue(Reply.json({"summary": "Prints a.", "notes": []}), when=_about("src/a.py"))
    claude.enqueue(Reply.text("Sure! Here is my report in prose."), when=_about("src/b.py"))
    claude.set_outcome(cid_of(repo, "src/c.py"), "expired")
    state = str(tmp_path / "state")
    assert cli("submit", "--job", "digest", "--state-dir", state)[0] == 0
    claude.clock.advance(hours=2)

    code, out, err = cli("collect", "--job", "digest", "--state-dir", state)

    assert code == 0, err
    summary = out.splitlines()[1]
    # Four results: src/a.py, the config file (the emulator's default answer) and src/b.py's
    # prose "succeeded" for the API, src/c.py expired. The job took two answers, refused the
    # prose for good, and sends the expired request again.
    assert summary.startswith("collected 1 batch(es), 4 file(s): 2 succeeded, ")
    assert (
        "1 failed for good (src/b.py: the answer is not the JSON the output schema asks for)"
        in summary
    )
    assert summary.endswith("1 to ask again on the next run (src/c.py: expired)")
    assert "asking again src/c.py (attempt 2 next): expired" in out
    assert "failed src/b.py (attempt 1): the answer is not the JSON" in out

    code, out, _ = cli("status", "--job", "digest", "--state-dir", state, "--format", "json")
    assert json.loads(out)["retry"] == 1


def test_collect_json_says_the_same_per_file(
    cli, claude: ClaudeEmulator, repo: Path, tmp_path: Path
) -> None:
    claude.enqueue(Reply.text("prose, not JSON"), when=_about("src/a.py"))
    claude.set_outcome(cid_of(repo, "src/b.py"), "errored", "overloaded_error")
    state = str(tmp_path / "state")
    cli("submit", "--job", "digest", "--state-dir", state)
    claude.clock.advance(hours=2)

    code, out, _ = cli("collect", "--job", "digest", "--state-dir", state, "--format", "json")

    document = json.loads(out)
    assert code == 0
    assert document["counts"] == {"succeeded": 1, "errored": 1}  # as the API reported them
    assert document["succeeded"] == 0
    assert [f["path"] for f in document["failures"]] == ["src/a.py"]
    assert document["to_ask_again"] == [
        {"path": "src/b.py", "reason": "errored (overloaded_error)", "attempt": 2}
    ]
