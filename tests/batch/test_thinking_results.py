"""Batch results from a thinking model (claude-sonnet-5-5 thinks by default): the answer is
read from the text block behind the thinking, and a result whose thinking used all of the
job's max_tokens is reported with that reason."""

from __future__ import annotations

from pathlib import Path

import anthropic

from ci_reviewer.batch.pipeline import collect, submit
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply, Thought
from tests.batch.conftest import MakeRun


def about(path: str) -> object:
    return lambda body: f"File: {path}\n" in body["messages"][0]["content"]


def test_answers_behind_thinking_blocks_are_read_and_spent_budgets_are_named(
    claude: ClaudeEmulator, client: anthropic.Anthropic, make_run: MakeRun
) -> None:
    digest = {"summary": "prints a", "notes": [{"severity": "info", "text": "a greeting"}]}
    claude.enqueue(
        Reply.json(digest).thinking(Thought("short", redacted=True)), when=about("src/a.py")
    )
    # 2,000 characters of thinking: 500 tokens, past the job's 256.
    claude.enqueue(Reply.json(digest).thinking("t" * 2000), when=about("src/b.py"))
    job = make_run(max_tokens=256)
    [batch] = submit(job).batches

    result = collect(job)

    lines = {r.custom_id: r.result for r in client.messages.batches.results(batch.batch_id)}
    first_blocks = sorted(r.message.content[0].type for r in lines.values())  # type: ignore[union-attr]
    assert first_blocks == ["redacted_thinking", "thinking"]
    assert result.counts == {"succeeded": 2}
    assert [(f.path, f.reason) for f in result.failures] == [
        (
            "src/b.py",
            "the model's thinking used all 256 output tokens (max_tokens) before it wrote an "
            "answer; raise the job's max_tokens",
        )
    ]
    assert result.published is not None
    report = Path(result.published.location).read_text()
    assert "## `src/a.py`\n\nprints a\n\n- **info**: a greeting" in report
