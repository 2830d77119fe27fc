"""The GitHub emulator holds to recorded real GitHub traffic.

Each recorded exchange listed in tests/emulators/product_endpoints.py is sent again, as
recorded (translated to an emulated repository where the same resource exists, or does not
for a recorded error), and the two answers are compared on what the product reads: status,
error message, and the presence, JSON type and (where the request implies it) value of each
field. A difference is fixed in the emulator or written down in ALLOWED with the reason it
does not matter; a reason whose difference is gone fails too, so the list stays true.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from ci_reviewer.emulators import github_answers
from tests.emulators import openapi, recordings
from tests.emulators.github_fixtures import TOKEN
from tests.emulators.product_calls import REPLAYED
from tests.emulators.product_endpoints import ENDPOINTS, Endpoint
from tests.emulators.replay import Sent, differences
from tests.emulators.replay_scenarios import SCENARIOS, World

CASES = [(endpoint, source) for endpoint in ENDPOINTS for source in endpoint.recorded]

# recorded exchange -> {read: why the difference it shows does not matter to the product}
_OLD_COMMENT = (
    "recorded in 2012, before GitHub added html_url to issue comments; GitHub's description "
    "(issue-comment) now requires it, and every emulator answer is validated against that"
)
ALLOWED: dict[str, dict[str, str]] = {
    "pygithub:PullRequest.testCreateIssueComment.txt#0": {"html_url": _OLD_COMMENT},
    "pygithub:IssueComment.testEdit.txt#0": {"html_url": _OLD_COMMENT},
}


def _send(
    w: World, endpoint: Endpoint, params: dict[str, str], query: dict[str, str], body: Any
) -> Sent:
    owner, repo = w.repo.full_name.split("/")
    values = {"owner": owner, "repo": repo, **params}
    path = endpoint.template.format(**{k: quote(v, safe="/") for k, v in values.items()})
    answer = requests.request(
        endpoint.method,
        w.emu.url + path,
        params=query,
        data=None if body is None else json.dumps(body),
        headers={"Authorization": f"token {TOKEN}", "Accept": "application/vnd.github+json"},
        timeout=30,
    )
    content = answer.json() if answer.content else None
    return Sent(values, query, body, answer.status_code, content)


def _recorded(endpoint: Endpoint, exchange: recordings.Exchange) -> Sent:
    params = openapi.path_parameters(endpoint.template, exchange.path)
    assert params, f"{exchange.source} is not a request to {endpoint.label}"
    query = dict(exchange.query)
    return Sent(params, query, exchange.request, exchange.status, exchange.response)


@pytest.mark.parametrize(("endpoint", "source"), CASES, ids=[f"{e.label} <- {s}" for e, s in CASES])
def test_the_emulator_answers_as_github_did(
    endpoint: Endpoint, source: str, tmp_path: Path
) -> None:
    exchange = recordings.exchange(source)
    recorded = _recorded(endpoint, exchange)
    w, params, body = SCENARIOS[endpoint.key](tmp_path, exchange)
    try:
        ours = _send(w, endpoint, params, dict(exchange.query), body)
    finally:
        w.close()
    found = differences(endpoint, recorded, ours)
    allowed = ALLOWED.get(source, {})
    unexplained = {read: why for read, why in found.items() if read not in allowed}
    gone = sorted(read for read in allowed if read not in found)
    REPLAYED[source] = (
        "differs" if unexplained else f"same but {len(found)} allowed" if found else "same"
    )
    assert not unexplained, f"{source}: the emulator differs from GitHub:\n" + "\n".join(
        f"  {read}: {why}" for read, why in sorted(unexplained.items())
    )
    assert not gone, f"{source}: ALLOWED explains differences that are gone: {gone}"


def test_every_endpoint_with_a_recording_has_a_scenario() -> None:
    missing = [e.label for e in ENDPOINTS if e.recorded and e.key not in SCENARIOS]
    assert not missing


@pytest.mark.parametrize(
    "key", sorted(github_answers.answers()), ids=sorted(github_answers.answers())
)
def test_an_answer_that_cites_a_recording_is_what_the_recording_says(key: str) -> None:
    answer = github_answers.answers()[key]
    cited = [part for part in answer.source.split() if part.startswith(("pygithub:", "octokit:"))]
    for source in cited:
        exchange = recordings.exchange(source.rstrip(",;."))
        assert (exchange.status, exchange.message) == (answer.status, answer.message), source
