"""The Claude edge of the review loop: tracing follows what the user configured, and a reply
that is not a message is an API failure (exit 3), not a crash."""

from __future__ import annotations

import pytest

from ci_reviewer.claude import Reply, build_client, tracing_requested
from ci_reviewer.errors import ClaudeAPIError


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"GITHUB_ACTIONS": "true", "ANTHROPIC_API_KEY": "k"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_SERVICE_NAME": "ci"}, True),
        ({"ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE": "content"}, True),
    ],
)
def test_tracing_is_requested_only_by_opentelemetry_variables(
    environ: dict[str, str], wanted: bool
) -> None:
    assert tracing_requested(environ) is wanted


def test_a_client_without_tracing_sends_no_spans_or_trace_headers() -> None:
    with build_client("sk-test-key", "http://127.0.0.1:9", tracing=False) as client:
        assert client.open_telemetry["traces"]["enabled"] is False
        assert client.open_telemetry["propagation"] is False


def test_a_client_with_tracing_follows_the_sdk_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY_PROPAGATION", "false")
    with build_client("sk-test-key", "http://127.0.0.1:9", tracing=True) as client:
        assert client.open_telemetry["traces"]["enabled"] is True
        assert client.open_telemetry["propagation"] is False


@pytest.mark.parametrize(
    "body", [b"<html>502 Bad Gateway</html>", b"", b"[]", b'{"type": "message"}']
)
def test_a_body_that_is_not_a_message_is_an_api_failure(body: bytes) -> None:
    with pytest.raises(ClaudeAPIError, match="not a message") as raised:
        Reply.from_body(body)
    assert raised.value.exit_code == 3


def test_a_message_body_keeps_its_blocks_stop_and_usage() -> None:
    reply = Reply.from_body(
        b'{"content": [{"type": "text", "text": "hi", "citations": null}],'
        b' "stop_reason": "refusal", "stop_details": {"type": "refusal", "category": "cyber"},'
        b' "usage": {"input_tokens": 12, "output_tokens": 3}}'
    )
    assert reply.content == ({"type": "text", "text": "hi", "citations": None},)
    assert reply.stop_reason == "refusal"
    assert reply.stop_details == {"type": "refusal", "category": "cyber"}
    assert reply.usage == {"input_tokens": 12, "output_tokens": 3}
