"""The review's spend on the pull request: a file the model declines is reviewed once more on
the fallback model, and the summary and the check run say so, priced by hand from each
model's list prices (Sonnet 5.5: $2 input, $10 output, $2.50 5-minute cache write, $0.10
cache read; Haiku 5.5: $0.10, $0.50, $0.125, $0.01 per million tokens)."""

from __future__ import annotations

from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import Reply
from ci_reviewer.pricing import Usage
from tests.github.test_review_fixtures import MODEL, World, numbered, world
from tests.list_prices import sonnet_5_5_dollars
from tests.review.test_spend import haiku_5_5_dollars

__all__ = ["world"]
FALLBACK = "claude-haiku-5-5"


def test_a_refusal_falls_back_once_and_the_summary_prices_each_model(world: World) -> None:
    world.config = ReviewConfig(fallback_model=FALLBACK)
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "low"})
    refusal = Reply.stop("refusal", category="cyber")
    world.claude.enqueue(refusal, when=lambda body: body["model"] == MODEL)

    outcome = world.run(number)

    calls = world.claude.requests
    assert [call.body["model"] for call in calls] == [MODEL, FALLBACK]
    usages = [Usage.from_api(call.response["usage"]) for call in calls if call.response]
    sonnet, haiku = sonnet_5_5_dollars(usages[0]), haiku_5_5_dollars(usages[1])
    summary = world.summaries(number)[0]["body"]
    assert f"`app.py` reviewed again on {FALLBACK}: {MODEL} declined it" in summary
    assert (
        f"cost by model, each at its own prices: {MODEL} 1 call(s) ${sonnet:.4f}, "
        f"{FALLBACK} 1 call(s) ${haiku:.4f}"
    ) in summary
    assert f"cost: ${sonnet + haiku:.4f}" in summary
    [check] = world.check_runs()
    assert f"cost: ${sonnet + haiku:.4f}" in check["output"]["summary"]
    assert outcome.outputs["cost-usd"] == f"{sonnet + haiku:.4f}"
    assert f"`app.py` reviewed again on {FALLBACK}" in outcome.job_summary
    [comment] = world.comments(number)
    assert comment["line"] == 5  # the fallback's finding is published
