"""Pull requests whose runs GitHub gives no secrets (a fork's, Dependabot's): `review` passes
and says why instead of failing on the empty ANTHROPIC_API_KEY; a same-repository pull
request without a key still fails (exit 2).

The payloads are real: the `pull_request` object of an event payload is the pull-request
resource GitHub's REST API returns, and these are recorded answers of GitHub (PyGithub's
ReplayData, fetched by the test session), put into the event's envelope (`action`,
`number`, `pull_request`, `repository`: the base repository, `sender`). The webhook examples
GitHub publishes (@octokit/webhooks-examples 7.6.1) hold no pull request from a fork or from
Dependabot: every `pull_request` example there is a branch of Codertocat/Hello-World.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.github.actions import unescape_data, unescape_property
from ci_reviewer.github.withheld_secrets import withheld_secrets
from tests.emulators.github_fixtures import TOKEN
from tests.emulators.recordings import exchange
from tests.github.test_review_fixtures import REPO, World, world
from tests.github_output import read_github_output

__all__ = ["world"]

# GET /repos/PyGithub/PyGithub/pulls/1171: head Ferada/PyGithub, a fork.
FORK = "pygithub:PullRequest1168.testGetPullRequest.txt#1"
# GET /repos/PyGithub/PyGithub/pulls/31: `head.repo` null, the fork was deleted.
DELETED_FORK = "pygithub:PullRequest.setUp.txt#1"
# GET /repos/PyGithub/PyGithub/pulls/3370: opened by dependabot[bot] from a branch of the
# repository itself (Dependabot's pull requests are not from forks).
DEPENDABOT = "pygithub:CompletableGithubObjectWithPaginatedProperty.testPullCommitsFiles.txt#4"
# GET /repos/MarcoFalke/PyGithub/pulls/3: a branch of MarcoFalke/PyGithub, a repository that
# is itself a fork, so `head.repo.fork` is true on a same-repository pull request.
SAME_REPO_IN_A_FORK = "pygithub:PullRequest.setUp.txt#4"


def recorded_event(source: str) -> dict[str, Any]:
    pull = copy.deepcopy(exchange(source).response)
    return {
        "action": "opened",
        "number": pull["number"],
        "pull_request": pull,
        "repository": pull["base"]["repo"],
        "sender": pull["user"],
    }


def test_recorded_pull_requests_are_what_the_tests_take_them_for() -> None:
    fork = recorded_event(FORK)["pull_request"]
    assert (fork["head"]["repo"]["full_name"], fork["base"]["repo"]["full_name"]) == (
        "Ferada/PyGithub",
        "PyGithub/PyGithub",
    )
    assert recorded_event(DELETED_FORK)["pull_request"]["head"]["repo"] is None
    dependabot = recorded_event(DEPENDABOT)["pull_request"]
    assert dependabot["user"]["login"] == "dependabot[bot]"
    assert dependabot["head"]["repo"]["id"] == dependabot["base"]["repo"]["id"]
    same = recorded_event(SAME_REPO_IN_A_FORK)["pull_request"]
    assert same["head"]["repo"]["fork"] is True
    assert same["head"]["repo"]["id"] == same["base"]["repo"]["id"]


@pytest.mark.parametrize(
    ("source", "actor", "cause", "head_repo"),
    [
        (FORK, "Ferada", "fork", "Ferada/PyGithub"),
        (DELETED_FORK, "jacquev6", "deleted-fork", None),
        (DEPENDABOT, "dependabot[bot]", "dependabot", None),
        # The docs name the actor: a run Dependabot triggered on a PR someone else opened.
        (SAME_REPO_IN_A_FORK, "dependabot[bot]", "dependabot", None),
    ],
)
def test_pull_requests_whose_runs_get_no_secrets(
    source: str, actor: str, cause: str, head_repo: str | None
) -> None:
    found = withheld_secrets("pull_request", recorded_event(source), actor=actor, has_key=False)

    assert found is not None
    assert (found.cause, found.head_repo, found.number) == (
        cause,
        head_repo,
        exchange(source).response["number"],
    )


def test_a_same_repository_pull_request_in_a_forked_repository_gets_its_secrets() -> None:
    """`head.repo.fork` is true here, but head and base are one repository: not withheld."""
    event = recorded_event(SAME_REPO_IN_A_FORK)

    assert withheld_secrets("pull_request", event, actor="MarcoFalke", has_key=False) is None


def test_a_key_or_another_event_is_never_taken_for_withheld_secrets() -> None:
    fork = recorded_event(FORK)
    # The repository sends secrets to forks' runs (a private repository's setting).
    assert withheld_secrets("pull_request", fork, actor="Ferada", has_key=True) is None
    # pull_request_target runs with the base repository's secrets, fork or not...
    assert withheld_secrets("pull_request_target", fork, actor="Ferada", has_key=False) is None
    # ...except for Dependabot's pull requests (GitHub's Dependabot docs).
    dependabot = recorded_event(DEPENDABOT)
    found = withheld_secrets("pull_request_target", dependabot, actor="a-human", has_key=False)
    assert found is not None and found.cause == "dependabot"
    assert withheld_secrets("push", dependabot, actor="dependabot[bot]", has_key=False) is None


# -- the real command ------------------------------------------------------------------------
def run_review(
    tmp_path: Path, checkout: Path, event: dict[str, Any], *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], str, dict[str, str]]:
    """`ci-reviewer review` as the action runs it, with the Actions variables of a run."""
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    variables = {
        **os.environ,  # the suite's: both API URLs on a closed port
        "ANTHROPIC_API_KEY": "",  # what `${{ secrets.ANTHROPIC_API_KEY }}` gives a fork's run
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": event["repository"]["full_name"],
        "GITHUB_WORKSPACE": str(checkout),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "ci_reviewer", "review", *args],
        env=variables,
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    written = summary.read_text(encoding="utf-8") if summary.exists() else ""
    outputs = read_github_output(output.read_text(encoding="utf-8")) if output.exists() else {}
    return done, written, outputs


def notices(stdout: str) -> list[tuple[str, str]]:
    """(title, message) of each `::notice` line, unescaped as the runner reads them."""
    found = []
    for line in stdout.splitlines():
        if line.startswith("::notice "):
            properties, _, message = line.removeprefix("::notice ").partition("::")
            title = unescape_property(properties.removeprefix("title="))
            found.append((title, unescape_data(message)))
    return found


def test_a_forks_pull_request_without_the_key_passes_and_says_why(
    tmp_path: Path, git_repo: Path
) -> None:
    # GITHUB_API_URL and ANTHROPIC_BASE_URL point at a closed port: any call would fail.
    done, summary, outputs = run_review(
        tmp_path, git_repo, recorded_event(FORK), GITHUB_ACTOR="Ferada"
    )

    assert done.returncode == 0, done.stderr
    [(title, message)] = notices(done.stdout)
    assert title == "ci-reviewer: no review"
    assert message.startswith("Pull request #1171 comes from the fork Ferada/PyGithub")
    assert "no secrets and a read-only token" in message
    assert summary.startswith("## ci-reviewer: no review of pull request #1171\n")
    assert "`pull_request_target` with `types: [labeled]`" in summary
    assert "review.allow_pull_request_target_checkout" in summary
    assert "Preventing pwn requests" in summary
    assert "ANTHROPIC_API_KEY is not set" not in done.stderr
    assert outputs == {
        "findings-count": "0",
        "highest-severity": "none",
        "cost-usd": "0.0000",
        "review-url": "",
    }


def test_a_forks_pull_request_in_json_is_a_document_saying_skipped_and_why(
    tmp_path: Path, git_repo: Path
) -> None:
    done, _, _ = run_review(tmp_path, git_repo, recorded_event(DELETED_FORK), "--format", "json")

    assert done.returncode == 0, done.stderr
    document = json.loads("\n".join(x for x in done.stdout.splitlines() if not x.startswith("::")))
    assert document["reviewed"] is False
    assert document["skipped"] == "secrets-withheld"
    assert document["cause"] == "deleted-fork"
    assert document["pull_request"] == 31
    assert "comes from a fork that has since been deleted" in document["reason"]


def test_a_dependabot_pull_request_without_the_key_passes_and_names_dependabot_secrets(
    tmp_path: Path, git_repo: Path
) -> None:
    done, summary, _ = run_review(
        tmp_path, git_repo, recorded_event(DEPENDABOT), GITHUB_ACTOR="dependabot[bot]"
    )

    assert done.returncode == 0, done.stderr
    [(_, message)] = notices(done.stdout)
    assert message.startswith("Pull request #3370 was opened by Dependabot")
    assert "the Dependabot secrets instead of the Actions secrets" in message
    assert "as a Dependabot secret" in summary


def test_a_same_repository_pull_request_without_the_key_still_fails(
    tmp_path: Path, world: World
) -> None:
    """The recorded same-repository PR (of a repository that is a fork), moved onto the
    emulated repository: GitHub would have given its run the secrets, so an empty key is a
    setup mistake, exit 2 as before."""
    world.push({"app.py": "changed\n"})
    number = world.open_pr()
    event = recorded_event(SAME_REPO_IN_A_FORK)
    pull = event["pull_request"]
    pull["number"] = event["number"] = number
    pull["head"]["sha"] = world.head()
    for side in (pull["head"], pull["base"]):
        side["repo"]["full_name"] = REPO
    event["repository"] = pull["base"]["repo"]

    done, summary, _ = run_review(
        tmp_path,
        world.repo,
        event,
        GITHUB_ACTOR="MarcoFalke",
        GITHUB_API_URL=world.github.url,
        GITHUB_TOKEN=TOKEN,
    )

    assert done.returncode == 2, done.stderr
    assert "ANTHROPIC_API_KEY is not set" in done.stderr
    assert not notices(done.stdout)
    assert "no review of pull request" not in summary
