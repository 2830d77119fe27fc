"""Spend a team controls: the review's effort and thinking reach the request the model
receives; a file the model declines, or that stays overloaded, is reviewed once more on the
fallback model and priced at that model's list prices; bad settings are exit 2 at their line.

The expected dollars are priced by hand from the models' list prices (Sonnet 5.5: $2 input,
$10 output, $2.50 5-minute cache write, $0.10 cache read; Haiku 5.5 below 100K prompt tokens:
$0.10, $0.50, $0.125, $0.01 per million tokens), from the usage the emulator billed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.pricing import Usage
from tests.list_prices import sonnet_5_5_dollars
from tests.review.conftest import CALC_BASE, CALC_HEAD, RepoFactory, answer, review
from tests.review.test_local_cli import env, run_cli

__all__ = ["env"]
FALLBACK = "claude-haiku-5-5"


def haiku_5_5_dollars(usage: Usage) -> float:
    return (
        usage.input_tokens * 0.10
        + usage.output_tokens * 0.50
        + usage.cache_creation_input_tokens * 0.125
        + usage.cache_read_input_tokens * 0.01
    ) / 1_000_000


def billed(emu: ClaudeEmulator, index: int) -> Usage:
    response = emu.requests[index].response
    assert response is not None
    return Usage.from_api(response["usage"])


def on_model(model: str) -> Any:
    return lambda body: body["model"] == model


def test_the_default_effort_is_medium_and_the_configured_one_is_sent(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    for _ in range(3):
        emu.enqueue(Reply.json(answer()))

    review(client, repo)
    review(client, repo, ReviewConfig(effort="low", thinking="adaptive"))
    review(client, repo, ReviewConfig(effort=None))

    first, configured, unset = (call.body for call in emu.requests)
    assert first["output_config"]["effort"] == "medium"
    assert "thinking" not in first  # the model's own default
    assert configured["output_config"]["effort"] == "low"
    assert configured["thinking"] == {"type": "adaptive"}
    assert "effort" not in unset["output_config"]
    assert "format" in configured["output_config"]  # structured output kept beside it


def test_a_refused_file_is_reviewed_once_on_the_fallback_model_at_its_prices(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    emu.enqueue(Reply.stop("refusal", category="cyber"), when=on_model("claude-sonnet-5-5"))
    emu.enqueue(Reply.json(answer({})), when=on_model(FALLBACK))

    result = review(client, repo, ReviewConfig(fallback_model=FALLBACK))

    assert [call.body["model"] for call in emu.requests] == ["claude-sonnet-5-5", FALLBACK]
    [file] = result.files
    assert file.status == "reviewed"
    assert file.fallback == f"reviewed again on {FALLBACK}: claude-sonnet-5-5 declined it"
    assert [f.title for f in result.findings] == ["add subtracts"]
    expected = sonnet_5_5_dollars(billed(emu, 0)) + haiku_5_5_dollars(billed(emu, 1))
    assert result.cost_usd == pytest.approx(expected, rel=1e-9)
    by_model = {model: cost for model, _, cost in result.usage.by_model}
    assert by_model[FALLBACK] == pytest.approx(haiku_5_5_dollars(billed(emu, 1)), rel=1e-9)


def test_a_refusal_on_the_fallback_model_too_is_not_retried_again(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    emu.enqueue(Reply.stop("refusal", category="cyber"))
    emu.enqueue(Reply.stop("refusal", category="cyber"))
    emu.enqueue(Reply.json(answer({})))  # must not be asked for

    result = review(client, repo, ReviewConfig(fallback_model=FALLBACK))

    assert len(emu.requests) == 2
    assert result.files[0].status == "refused"
    assert emu.pending_replies == 1


def test_an_overloaded_model_after_the_retries_falls_back(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    emu.enqueue(Reply.overloaded(), when=on_model("claude-sonnet-5-5"))
    emu.enqueue(Reply.json(answer({})), when=on_model(FALLBACK))

    result = review(client, repo, ReviewConfig(fallback_model=FALLBACK))

    assert [call.status for call in emu.requests] == [529, 200]
    assert result.api_error is None
    assert result.files[0].fallback == (
        f"reviewed again on {FALLBACK}: claude-sonnet-5-5 stayed overloaded "
        "(529 overloaded_error after retries)"
    )


def test_the_emulated_overload_is_the_apis_answer(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Reply.overloaded())

    with pytest.raises(anthropic.InternalServerError) as raised:
        client.messages.create(
            model="claude-sonnet-5-5",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
        )

    assert raised.value.status_code == 529
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def _configure(repo: Path, text: str) -> None:
    (repo / ".github").mkdir(exist_ok=True)
    (repo / ".github" / "ci-reviewer.yml").write_text(text)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("review:\n  effort: extreme\n", ":2:11:", "review.effort: Input should be 'low'"),
        (
            "review:\n  fail_on: high\n  thinking: disabled\n",
            ":3:13:",
            "review.thinking: claude-sonnet-5-5 does not accept thinking 'disabled'",
        ),
    ],
)
def test_a_bad_spend_setting_is_exit_2_at_its_line(
    env: ClaudeEmulator,
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    text: str,
    where: str,
    what: str,
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    _configure(repo, text)

    code = run_cli("review", "--local", "--base", "main", "--workdir", str(repo))

    err = capsys.readouterr().err
    assert code == 2
    assert f"ci-reviewer.yml{where} {what}" in err
    assert env.requests == []


def test_a_dropped_finding_is_listed_in_the_local_reviews_json(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    invented = {"line": 5, "title": "invented", "excerpt": "os.remove(path)"}
    env.enqueue(Reply.json(answer({}, invented)))

    code = run_cli(
        "review", "--local", "--base", "main", "--workdir", str(repo), "--format", "json"
    )

    document = json.loads(capsys.readouterr().out)
    assert code == 1  # the grounded high finding still blocks
    assert [f["title"] for f in document["findings"]] == ["add subtracts"]
    assert document["dropped_findings"] == [
        {
            "path": "src/calc.py",
            "line": 5,
            "severity": "high",
            "title": "invented",
            "excerpt": "os.remove(path)",
            "reason": "the code it quotes is not in src/calc.py near line 5",
        }
    ]
