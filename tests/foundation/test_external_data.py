"""The test session fetches what it checks against; an unreachable registry ends it with one
paragraph naming the registry, the script and what to do (never a skip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import external_data


def _script(tmp_path: Path, body: str) -> external_data.ExternalData:
    script = tmp_path / "fetch-thing.sh"
    script.write_text(body)
    return external_data.ExternalData(
        "the thing", str(script), "the npm registry", "CI_REVIEWER_THING"
    )


def test_an_unreachable_registry_fails_with_one_paragraph_naming_it_and_the_script(
    tmp_path: Path,
) -> None:
    data = _script(
        tmp_path,
        "echo 'npm error code ECONNREFUSED' >&2\n"
        "echo 'npm error A complete log of this run can be found in: /x.log' >&2\nexit 1\n",
    )
    with pytest.raises(external_data.FetchFailed) as failed:
        external_data.fetch(data, {"PATH": "/usr/bin:/bin"})
    message = str(failed.value)
    assert "\n" not in message
    assert "the npm registry" in message
    assert f"`sh {data.script}`" in message
    assert "npm error code ECONNREFUSED" in message
    assert "log of this run" not in message
    assert "CI_REVIEWER_THING" in message


def test_a_script_that_succeeds_lets_the_session_start(tmp_path: Path) -> None:
    data = _script(tmp_path, "echo 'already there' >&2\n")
    external_data.fetch(data, {"PATH": "/usr/bin:/bin"})


def test_data_the_environment_points_elsewhere_is_not_fetched(tmp_path: Path) -> None:
    failing = (_script(tmp_path, "exit 1\n"),)
    elsewhere = {"CI_REVIEWER_THING": str(tmp_path), "PATH": "/usr/bin:/bin"}
    external_data.ensure_all(elsewhere, failing)
    with pytest.raises(external_data.FetchFailed):
        external_data.ensure_all({"PATH": "/usr/bin:/bin"}, failing)
