"""The Claude edge: client construction from explicit parameters, one call that turns SDK
exceptions into `ClaudeAPIError`, and the run's usage and cost accounting.

The core (review engine, batch jobs) never sees an `anthropic` exception: it calls
`send_message` and gets a `Reply` or a `ClaudeAPIError` (exit 3). Usage is accumulated in a
thread-safe `UsageMeter`, which also answers "has the run spent its budget?" for the engine.

The review loop is the product's hot path (a developer waits on it, and each file costs several
calls), so two SDK costs that buy it nothing are left out, through supported options only: the
OpenTelemetry span of every call when the user configured no tracing, and the typed `Message`
model (its construction, and the one-off pydantic schema build behind it, was about a fifth of
the loop's CPU in benchmark P1); the reply's JSON is decoded once into a plain `Reply`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anthropic
import orjson

from ci_reviewer.claude_stream import read_stream
from ci_reviewer.config import CLAUDE_MAX_RETRIES, CLAUDE_TIMEOUT_SECONDS
from ci_reviewer.errors import ClaudeAPIError, ClaudeOverloadedError, UnknownModelError
from ci_reviewer.pricing import Usage, price_table

# `review.timeout_seconds`/`max_retries` (and a job's) override these per run.
DEFAULT_TIMEOUT_S = CLAUDE_TIMEOUT_SECONDS
DEFAULT_MAX_RETRIES = CLAUDE_MAX_RETRIES
# Variables by which a user asks for OpenTelemetry: the standard OTEL_* ones (exporters,
# service name, a tracer provider) and the SDK's own ANTHROPIC_OPEN_TELEMETRY*.
_TRACING_VARIABLES = ("OTEL_", "ANTHROPIC_OPEN_TELEMETRY")
_NO_TRACING: anthropic.OpenTelemetryOptions = {"traces": False, "propagation": False}
# The error types of the statuses the SDK retries (429, 500, 504, 529: the errors page), as an
# error event of a streamed answer carries them.
_RETRIED_TYPES = frozenset({"rate_limit_error", "api_error", "timeout_error", "overloaded_error"})


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether the environment configures OpenTelemetry for this run."""
    return any(name.startswith(_TRACING_VARIABLES) for name in environ)


def build_client(
    api_key: str | None,
    base_url: str | None = None,
    *,
    max_retries: int = DEFAULT_MAX_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_S,
    tracing: bool = True,
) -> anthropic.Anthropic:
    """One client for the whole run (it is thread-safe and pools connections).

    `tracing=False` (no tracing configured, see `tracing_requested`) turns off the SDK's span
    and trace-header work on every call; with `True` the SDK follows the environment."""
    return anthropic.Anthropic(
        api_key=api_key,
        base_url=base_url or None,
        max_retries=max_retries,
        timeout=timeout,
        open_telemetry=None if tracing else _NO_TRACING,
    )


@dataclass(frozen=True)
class Reply:
    """One answered Messages call, as the API's JSON: content blocks are plain dicts."""

    content: tuple[dict[str, Any], ...]
    stop_reason: str | None
    stop_details: dict[str, Any] | None
    usage: dict[str, Any]

    @classmethod
    def from_body(cls, body: bytes) -> Reply:
        """Decode a /v1/messages response body; anything but a message is ClaudeAPIError."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> Reply:
        """A decoded /v1/messages answer (or a streamed one, accumulated)."""
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise ClaudeAPIError(
                "the Claude API answered a review request with something that is not a message",
                hint="check ANTHROPIC_BASE_URL if you set one (a proxy or gateway)",
            )
        details, usage = data.get("stop_details"), data.get("usage")
        return cls(
            content=tuple(block for block in data["content"] if isinstance(block, dict)),
            stop_reason=data.get("stop_reason"),
            stop_details=details if isinstance(details, dict) else None,
            usage=usage if isinstance(usage, dict) else {},
        )


def send_message(
    client: anthropic.Anthropic,
    params: Mapping[str, Any],
    on_start: Callable[[], None] | None = None,
) -> Reply:
    """POST /v1/messages; the SDK retries 429/5xx itself, what is left becomes ClaudeAPIError.

    The raw-response form is the SDK's supported way to read the body without building its
    typed model; status handling, retries and errors are the SDK's as for `create`. With
    `on_start` the call streams (the streaming-response form, read by `claude_stream`) and
    `on_start()` runs when the answer begins (`message_start`: the prompt is read and its
    cache entries written); the Reply is the same as without."""
    timeout = client.timeout if isinstance(client.timeout, (int, float)) else None
    with claude_errors("answer a review request", timeout=timeout), model_errors(params):
        if on_start is None:
            return Reply.from_body(client.messages.with_raw_response.create(**params).read())
        try:
            streamed = client.messages.with_streaming_response.create(**params, stream=True)
            with streamed as response:
                return Reply.from_data(read_stream(response.http_response, on_start))
        except anthropic.APIStatusError as error:
            if error.status_code != 200 or api_error_type(error) not in _RETRIED_TYPES:
                raise
        # An error event after the answer began (status 200): the SDK does not retry those,
        # so the call is sent again unstreamed, for the retries the same error's status gets.
        return Reply.from_body(client.messages.with_raw_response.create(**params).read())


@contextmanager
def model_errors(params: Mapping[str, Any]) -> Iterator[None]:
    """A Messages call answered 404 not_found_error names a model the API does not serve:
    UnknownModelError (exit 2). Decided on the status and the error's type, never on the
    message's wording; every other error passes through."""
    try:
        yield
    except anthropic.NotFoundError as error:
        if api_error_type(error) != "not_found_error":
            raise
        model = str(params.get("model"))
        raise UnknownModelError(
            model,
            f"the Claude API does not serve the model {model!r} "
            f"(404 not_found_error: {_api_message(error)})",
        ) from None


def api_error_type(error: anthropic.APIStatusError) -> str | None:
    """The `error.type` of an API error body (`not_found_error`, `invalid_request_error`...)."""
    body = error.body
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping) and isinstance(inner.get("type"), str):
            return str(inner["type"])
    return None


@contextmanager
def claude_errors(action: str, *, timeout: float | None = None) -> Iterator[None]:
    """Translate the SDK's exceptions raised inside the block into ClaudeAPIError (exit 3),
    with a message naming `action` and a hint; the one translation every caller shares.
    `timeout` (the client's, in seconds) lets a timeout say how long each try waited."""
    try:
        yield
    except anthropic.APITimeoutError:
        waited = f"within {timeout:g} s " if timeout is not None else ""
        raise ClaudeAPIError(
            f"the Claude API timed out: no reply {waited}to {action}, on any retry",
            hint="raise timeout_seconds (review.timeout_seconds, or the job's) if replies are "
            "legitimately slow, or re-run the job later",
        ) from None
    except anthropic.APIStatusError as error:
        overloaded = error.status_code == 529 or api_error_type(error) == "overloaded_error"
        kind = ClaudeOverloadedError if overloaded else ClaudeAPIError
        raise kind(
            f"the Claude API refused to {action}: {error.status_code} {_api_message(error)}",
            hint=_hint_for(error.status_code),
        ) from None
    except anthropic.APIConnectionError as error:
        raise ClaudeAPIError(
            f"could not reach the Claude API to {action}: {error}",
            hint="check the network, or ANTHROPIC_BASE_URL if you set one",
        ) from None
    except anthropic.AnthropicError as error:
        raise ClaudeAPIError(f"the Claude client failed to {action}: {error}") from None


def _api_message(error: anthropic.APIStatusError) -> str:
    body = error.body
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
    return str(error.message)


def _hint_for(status: int) -> str | None:
    if status == 401:
        return "check ANTHROPIC_API_KEY (a repository or organisation secret)"
    if status == 400:
        return (
            "the API's message above says what it refused: if it names the model or "
            "max_tokens, change that setting (model, review.max_tokens or the job's "
            "max_tokens); otherwise this is likely a bug in ci-reviewer's request, please "
            "report it"
        )
    if status in (429, 529) or status >= 500:
        return "the API stayed unavailable after retries; re-run the job later"
    return None


@dataclass(frozen=True)
class UsageReport:
    """What a run consumed: tokens by class, calls, and dollars (None: unknown model)."""

    model: str
    usage: Usage
    calls: int
    cost_usd: float | None
    # (model, calls, dollars) per model called (a fallback model has its own row).
    by_model: tuple[tuple[str, int, float | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "by_model": [
                {"model": model, "calls": calls, "cost_usd": cost}
                for model, calls, cost in self.by_model
            ],
            "model": self.model,
            "calls": self.calls,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cache_creation_input_tokens": self.usage.cache_creation_input_tokens,
            "cache_read_input_tokens": self.usage.cache_read_input_tokens,
            "cost_usd": self.cost_usd,
        }


class UsageMeter:
    """Thread-safe running total of usage and cost, with the run's dollar budget.

    With an unknown model the cost is unknown, so a dollar budget cannot be enforced:
    `price_known` tells the caller to warn about it.
    """

    def __init__(self, model: str, max_cost_usd: float | None = None) -> None:
        self.model = model
        self.max_cost_usd = max_cost_usd
        self.price_known = price_table().price(model) is not None
        self._usage = Usage()
        self._calls = 0
        # Summed call by call: a long-context tier prices each request by its own prompt.
        self._dollars: float | None = 0.0 if self.price_known else None
        self._by_model: dict[str, tuple[int, float | None]] = {}
        self._lock = threading.Lock()

    def add(self, usage: Usage, model: str | None = None) -> None:
        """Count one call, priced as `model`'s (a fallback model's call at its own prices;
        default: the meter's model)."""
        model = model or self.model
        dollars = price_table().cost(model, usage)
        with self._lock:
            self._usage = self._usage + usage
            self._calls += 1
            calls, spent = self._by_model.get(model, (0, 0.0))
            self._by_model[model] = (
                calls + 1,
                spent + dollars if spent is not None and dollars is not None else None,
            )
            if self._dollars is not None and dollars is not None:
                self._dollars += dollars
            elif dollars is None:
                self._dollars = None

    def add_message(self, message: Reply, model: str | None = None) -> Usage:
        usage = Usage.from_api(message.usage)
        self.add(usage, model)
        return usage

    @property
    def cost_usd(self) -> float | None:
        with self._lock:
            return self._dollars

    @property
    def budget_exhausted(self) -> bool:
        """True once the run has spent `max_cost_usd` (never, when the cost is unknown)."""
        if self.max_cost_usd is None:
            return False
        cost = self.cost_usd
        return cost is not None and cost >= self.max_cost_usd

    def report(self) -> UsageReport:
        with self._lock:
            usage, calls, dollars = self._usage, self._calls, self._dollars
            by_model = tuple((m, n, cost) for m, (n, cost) in self._by_model.items())
        return UsageReport(self.model, usage, calls, dollars, by_model)


@dataclass(frozen=True)
class ApiAnswer:
    """The Claude API's answer to a look-up: 200 with its `value`, or a refusal (4xx but
    429) with the status, the error's type and its message."""

    status: int
    error_type: str | None = None
    message: str = ""
    value: Any = None


def ask_claude(action: str, call: Callable[[], Any]) -> ApiAnswer:
    """`call()` (a look-up such as `client.models.retrieve`); a refusal is an answer to
    judge, anything the SDK's retries could not get past is ClaudeAPIError (exit 3)."""
    with claude_errors(action):
        try:
            return ApiAnswer(200, value=call())
        except anthropic.APIStatusError as error:
            if not 400 <= error.status_code < 500 or error.status_code == 429:
                raise
            return ApiAnswer(error.status_code, api_error_type(error), _api_message(error))
