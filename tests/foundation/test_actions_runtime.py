"""The Actions runtime: outputs, summaries, workflow commands and the event payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_reviewer.errors import InputError
from ci_reviewer.github import actions
from tests.github_output import read_github_output

TRICKY = ["plain", "50% done", "a:b,c", "line1\nline2", "cr\r\nlf", "%0A literal", "::error::x", ""]


@pytest.mark.parametrize("value", TRICKY)
def test_message_escaping_round_trips(value: str) -> None:
    escaped = actions.escape_data(value)
    assert "\n" not in escaped and "\r" not in escaped
    assert actions.unescape_data(escaped) == value


@pytest.mark.parametrize("value", TRICKY)
def test_property_escaping_round_trips(value: str) -> None:
    escaped = actions.escape_property(value)
    assert ":" not in escaped and "," not in escaped and "\n" not in escaped
    assert actions.unescape_property(escaped) == value


def test_annotation_line_has_documented_shape() -> None:
    line = actions.annotation(
        "error", "bad: 100%\nsecond", file="src/a,b.py", line=3, end_line=4, title="SQL: injection"
    )
    assert line == (
        "::error file=src/a%2Cb.py,line=3,endLine=4,title=SQL%3A injection::bad: 100%25%0Asecond"
    )


def test_group_and_mask_commands() -> None:
    assert actions.workflow_command("group", "Review") == "::group::Review"
    assert actions.workflow_command("endgroup") == "::endgroup::"
    assert actions.add_mask("s3cr3t\nx") == "::add-mask::s3cr3t%0Ax"


def test_unknown_annotation_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown annotation level"):
        actions.annotation("fatal", "x")


def test_outputs_single_and_multiline_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "output"
    values = {"findings-count": "3", "summary": "line one\nline two\n\nline four", "empty": ""}
    actions.write_outputs(str(out), values)
    actions.write_outputs(str(out), {"cost-usd": "0.0123"})
    text = out.read_text()
    assert "findings-count=3\n" in text
    assert "summary<<ghadelimiter_" in text
    assert read_github_output(text) == {**values, "cost-usd": "0.0123"}


def test_outputs_without_runner_file_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run locally (no GITHUB_OUTPUT, no GITHUB_STEP_SUMMARY), nothing lands in the folder
    # the user runs from: not a file named "None", not an empty one.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    actions.write_outputs(None, {"a": "b"})
    actions.append_summary(None, "# nothing")
    actions.write_outputs("", {"a": "b"})
    assert list(tmp_path.iterdir()) == []


def test_summary_appends_markdown(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    actions.append_summary(str(summary), "# One")
    actions.append_summary(str(summary), "two\n")
    assert summary.read_text() == "# One\ntwo\n"


def test_environment_is_read_with_defaults() -> None:
    env = actions.ActionsEnv.from_environ(
        {"GITHUB_REPOSITORY": "octo/demo", "GITHUB_ACTIONS": "true"}
    )
    assert env.repository == "octo/demo"
    assert env.api_url == "https://api.github.com"
    assert env.in_actions
    enterprise = actions.ActionsEnv.from_environ({"GITHUB_API_URL": "https://ghe.example/api/v3/"})
    assert enterprise.api_url == "https://ghe.example/api/v3"


def test_event_payload_is_loaded(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    assert actions.load_event(str(event))["pull_request"]["number"] == 7


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["does not exist", "--pr"]),
        ("{not json", ["event.json:1:2", "not valid JSON"]),
        ("[1, 2]", ["must be a JSON object"]),
    ],
)
def test_bad_event_payload_is_a_user_error(
    tmp_path: Path, content: str | None, words: list[str]
) -> None:
    event = tmp_path / "event.json"
    if content is not None:
        event.write_text(content)
    with pytest.raises(InputError) as caught:
        actions.load_event(str(event))
    assert caught.value.exit_code == 2
    for word in words:
        assert word in str(caught.value)


def test_unset_event_path_says_what_to_do() -> None:
    with pytest.raises(InputError, match="GITHUB_EVENT_PATH is not set"):
        actions.load_event(None)


def test_the_output_reader_reads_githubs_documented_example() -> None:
    # docs.github.com, "Workflow commands for GitHub Actions", multiline strings: the
    # heredoc example, followed by a plain `name=value` line.
    text = 'JSON_RESPONSE<<EOF\n{\n  "a": 1\n}\nEOF\nsteps=2\n'
    assert read_github_output(text) == {"JSON_RESPONSE": '{\n  "a": 1\n}', "steps": "2"}
