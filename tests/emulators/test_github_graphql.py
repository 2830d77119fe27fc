"""The GitHub emulator's GraphQL endpoint, driven by PyGithub's own GraphQL calls: review
threads paginated, a bot named without `[bot]`, errors over HTTP 200 typed as GitHub types
them (held to GitHub's recorded answer), a token without permission refused; and the check
that holds every document and answer to GitHub's published schema catches a bad one."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import github
import pytest
import requests
from github import GithubException, UnknownObjectException

from ci_reviewer.emulators import github_graphql
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.github_payloads import Links
from ci_reviewer.emulators.github_routes import Context
from ci_reviewer.emulators.server import Request
from tests.emulators import recordings
from tests.emulators.github_fixtures import (
    TOKEN,
    commit_files,
    emulator,
    gh,
    git,
    git_repo,
    github_openapi_responses,
    graphql_problems,
)

__all__ = ["emulator", "gh", "git_repo", "github_openapi_responses"]  # fixtures in use

THREADS = """
query($owner: String!, $name: String!, $number: Int!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        totalCount
        nodes { id isResolved path comments(first: 10) { nodes { databaseId author { login } } } }
      }
    }
  }
}
"""


def pull_with_comments(git_repo: Path, emulator: GitHubEmulator, gh: github.Github) -> list[int]:
    """A PR changing app.py lines 1-3, and one review with a comment on each: their ids."""
    git(git_repo, "checkout", "-q", "-b", "feature")
    lines = "".join(f"changed {i}\n" if i <= 3 else f"line {i}\n" for i in range(1, 41))
    head = commit_files(git_repo, {"app.py": lines}, "change")
    number = emulator.open_pull("feature")
    pull = gh.get_repo("octo/demo").get_pull(number)
    comments = [{"path": "app.py", "line": i, "side": "RIGHT", "body": f"c{i}"} for i in (1, 2, 3)]
    pull.create_review(gh.get_repo("octo/demo").get_commit(head), "r", "COMMENT", comments)
    return [c["id"] for c in emulator.state.review_comments[number]]


def threads_page(gh: github.Github, first: int, after: str | None = None) -> dict[str, Any]:
    variables = {"owner": "octo", "name": "demo", "number": 1, "first": first, "after": after}
    _, data = gh.requester.graphql_query(THREADS, variables)
    return dict(data["data"]["repository"]["pullRequest"]["reviewThreads"])


def test_review_threads_come_in_pages_with_their_comments(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    ids = pull_with_comments(git_repo, emulator, gh)

    first = threads_page(gh, 2)
    rest = threads_page(gh, 2, first["pageInfo"]["endCursor"])

    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    nodes = first["nodes"] + rest["nodes"]
    assert [n["id"] for n in nodes] == [f"PRRT_{i}" for i in ids]
    assert [n["comments"]["nodes"][0]["databaseId"] for n in nodes] == ids
    # REST says github-actions[bot]; GraphQL names the same bot without the suffix.
    assert emulator.state.review_comments[1][0]["user"]["login"] == "github-actions[bot]"
    assert {n["comments"]["nodes"][0]["author"]["login"] for n in nodes} == {"github-actions"}
    assert {n["isResolved"] for n in nodes} == {False} and {n["path"] for n in nodes} == {"app.py"}


def test_resolving_a_thread_is_seen_by_the_next_read(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    ids = pull_with_comments(git_repo, emulator, gh)

    _, payload = gh.requester.graphql_named_mutation(
        "resolveReviewThread", {"threadId": f"PRRT_{ids[1]}"}, "thread { id isResolved }"
    )

    assert payload == {"thread": {"id": f"PRRT_{ids[1]}", "isResolved": True}}
    assert [n["isResolved"] for n in threads_page(gh, 10)["nodes"]] == [False, True, False]


def test_a_repository_github_does_not_have_is_not_found_over_http_200(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    query = 'query { repository(owner: "octo", name: "gone") { nameWithOwner } }'
    raw = requests.post(
        f"{emulator.url}/graphql",
        json={"query": query},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=10,
    )
    with pytest.raises(UnknownObjectException) as missing:  # PyGithub: a lone NOT_FOUND
        gh.requester.graphql_query(query, {})

    assert raw.status_code == 200
    assert raw.json() == {
        "data": {"repository": None},
        "errors": [
            {
                "type": "NOT_FOUND",
                "path": ["repository"],
                "locations": [{"line": 1, "column": 9}],
                "message": "Could not resolve to a Repository with the name 'octo/gone'.",
            }
        ],
    }
    assert missing.value.status == 404


def test_an_unknown_node_is_answered_as_the_recorded_github_answer(gh: github.Github) -> None:
    recorded = recordings.exchange("pygithub:GraphQl.testNode.txt#1")
    real = recorded.response["errors"][0]
    with pytest.raises(UnknownObjectException) as missing:
        gh.requester.graphql_named_mutation(
            "resolveReviewThread", {"threadId": "D_abcdefgh"}, "thread { id }"
        )

    ours = missing.value.data["errors"][0]
    assert recorded.status == 200 and real["type"] == ours["type"] == "NOT_FOUND"
    assert set(ours) == set(real)  # type, path, locations, message
    assert ours["message"] == real["message"]  # the same id, so the same words
    assert missing.value.data["data"] == {"resolveReviewThread": None}


def test_a_token_without_pull_requests_write_is_forbidden_and_nothing_is_resolved(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    ids = pull_with_comments(git_repo, emulator, gh)
    emulator.set_token_scopes({"contents": "write", "pull_requests": "read"})

    with pytest.raises(GithubException) as refused:
        gh.requester.graphql_named_mutation(
            "resolveReviewThread", {"threadId": f"PRRT_{ids[0]}"}, "thread { id }"
        )

    # PyGithub raises GraphQL errors other than a lone NOT_FOUND as 400.
    assert refused.value.status == 400
    assert refused.value.data["errors"][0] == {
        "type": "FORBIDDEN",
        "path": ["resolveReviewThread"],
        "extensions": {"saml_failure": False},
        "locations": [{"line": 1, "column": 56}],
        "message": "Resource not accessible by integration",
    }
    assert emulator.state.resolved_threads == {}


# -- the schema check --------------------------------------------------------------------------
def answered(emulator: GitHubEmulator, request: dict[str, Any]) -> Any:
    """The emulator's GraphQL answer to `request`, asked of its handler directly (not over
    HTTP, whose every exchange this test's teardown holds to the schema)."""
    links = Links(emulator.url, emulator.full_name, emulator.default_branch)
    ctx = Context(links, emulator.git, emulator.state, emulator.actor, threading.RLock())
    body = json.dumps(request).encode()
    return github_graphql.graphql(ctx, Request("POST", "/graphql", {}, {}, body), {}).body


def test_the_schema_check_refuses_a_document_the_emulator_would_answer(
    emulator: GitHubEmulator,
) -> None:
    # The emulator reads arguments it knows and passes over the rest; GitHub refuses them.
    good = {"query": 'query { repository(owner: "octo", name: "demo") { nameWithOwner } }'}
    bad = {"query": good["query"].replace('name: "demo"', 'name: "demo", colour: "red"')}
    good_answer, bad_answer = answered(emulator, good), answered(emulator, bad)
    assert good_answer == bad_answer == {"data": {"repository": {"nameWithOwner": "octo/demo"}}}

    assert graphql_problems([(good, good_answer)]) == []
    problems = graphql_problems([(bad, bad_answer)])
    assert len(problems) == 1 and "Unknown argument 'colour'" in problems[0]


def test_the_schema_check_refuses_an_answer_github_could_not_give(
    emulator: GitHubEmulator,
) -> None:
    query = {"query": 'query { repository(owner: "octo", name: "demo") { isPrivate name } }'}
    right = {"data": {"repository": {"isPrivate": False, "name": "demo"}}}
    not_boolean = {"data": {"repository": {"isPrivate": "no", "name": "demo"}}}
    number_for_string = {"data": {"repository": {"isPrivate": False, "name": 7}}}
    not_asked = {"data": {"repository": {"isPrivate": False, "name": "demo", "id": "R_1"}}}
    no_null_allowed = {"data": {"repository": {"isPrivate": None, "name": "demo"}}}

    assert graphql_problems([(query, right)]) == []
    assert "Boolean cannot represent" in " ".join(graphql_problems([(query, not_boolean)]))
    assert "Cannot return null" in " ".join(graphql_problems([(query, no_null_allowed)]))
    for wrong in (number_for_string, not_asked):
        assert (
            "not what the document and schema make of it" in graphql_problems([(query, wrong)])[0]
        )
