"""Results are streamed: the emulator sends them chunked as it renders them, and both the
SDK's own reader and the pipeline's line reader get every result exactly once."""

from __future__ import annotations

import anthropic

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.emulators.claude import ClaudeEmulator

PARAMS = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "x"}],
}


def ended_batch(client: anthropic.Anthropic, count: int) -> str:
    requests = [{"custom_id": f"r{i:05d}", "params": PARAMS} for i in range(count)]
    batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    client.messages.batches.retrieve(batch.id)  # the immediate policy ends it here
    return batch.id


def test_results_arrive_chunked_and_whole(
    client: anthropic.Anthropic, claude: ClaudeEmulator
) -> None:
    batch_id = ended_batch(client, 400)  # several 64 KB chunks, lines cut across them

    raw = client.messages.batches.with_raw_response.results(batch_id)
    assert raw.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in raw.headers

    ours = [line["custom_id"] for line in BatchesAPI(client).results(batch_id)]
    theirs = [result.custom_id for result in client.messages.batches.results(batch_id)]
    assert sorted(ours) == sorted(theirs) == [f"r{i:05d}" for i in range(400)]
    assert ours == theirs  # the same (shuffled) order both ways
    assert ours != sorted(ours)


def test_a_plain_answer_still_carries_its_length(
    client: anthropic.Anthropic, claude: ClaudeEmulator
) -> None:
    batch_id = ended_batch(client, 1)
    raw = client.messages.batches.with_raw_response.retrieve(batch_id)
    assert int(raw.headers["content-length"]) == len(raw.http_response.content)
