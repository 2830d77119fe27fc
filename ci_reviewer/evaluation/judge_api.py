"""Sending the judge's requests: synchronously (one Messages call per PR), or all at once
through the Message Batches API at half price, polled until the batch ends.

The reviews stay synchronous (they call tools mid-request, which a batch cannot); the
judge's single-shot requests are latency-tolerant, which is what batches are for. A batch
that has not ended within the timeout is left running: its id is returned so the run can
save it and a later run collect it instead of paying again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.claude import send_message
from ci_reviewer.errors import APIError, UnknownModelError, UsageError
from ci_reviewer.evaluation.judge import JudgeAnswerError, Verdict, answer_text, parse_verdict
from ci_reviewer.models import model_table
from ci_reviewer.pricing import Usage, price_table


@dataclass(frozen=True)
class JudgeCall:
    """The judge's answer for one PR: a verdict, or why there is none; what it cost."""

    verdict: Verdict | None
    usage: Usage
    cost_usd: float | None
    error: str | None = None


@dataclass(frozen=True)
class JudgeJob:
    """One PR's judge request and the pairs its answer may name."""

    custom_id: str
    params: Mapping[str, Any]
    allowed: Mapping[str, tuple[str, ...]]


class BatchNotEnded(APIError):
    """The judge's batch is still running at the timeout; a later run collects it."""

    def __init__(self, batch_id: str, waited_s: float) -> None:
        super().__init__(
            f"the judge's batch {batch_id} had not ended after {waited_s:.0f} s",
            hint="run the same command again later: the reviews are saved and the batch is "
            "collected, not sent again (or raise --judge-timeout)",
        )
        self.batch_id = batch_id


def judge_sync(client: Any, job: JudgeJob) -> JudgeCall:
    """One Messages call; an answer that is not a verdict is a JudgeCall with an error."""
    model = str(job.params["model"])
    try:
        reply = send_message(client, job.params)
    except UnknownModelError as error:
        # The judge's own setting, not the review's model: said so, exit 2.
        raise UsageError(
            f"--judge-model {model}: {error.message}",
            hint=f"pass --judge-model with one of: {', '.join(model_table().callable_ids())}",
        ) from None
    usage = Usage.from_api(reply.usage)
    cost = price_table().cost(model, usage)
    return _judged(reply.stop_reason, reply.content, job, usage, cost)


def _judged(
    stop_reason: str | None,
    content: Any,
    job: JudgeJob,
    usage: Usage,
    cost: float | None,
) -> JudgeCall:
    if stop_reason not in ("end_turn", "stop_sequence"):
        return JudgeCall(None, usage, cost, f"the judge stopped with {stop_reason}")
    try:
        return JudgeCall(parse_verdict(answer_text(content), job.allowed), usage, cost)
    except JudgeAnswerError as error:
        return JudgeCall(None, usage, cost, str(error))


def submit_batch(api: BatchesAPI, jobs: list[JudgeJob]) -> str:
    """Create one batch holding every job; its id."""
    document = {"requests": [{"custom_id": j.custom_id, "params": dict(j.params)} for j in jobs]}
    body = json.dumps(document).encode("utf-8")
    return api.create([body], len(body)).id


def collect_batch(
    api: BatchesAPI,
    batch_id: str,
    jobs: Mapping[str, JudgeJob],
    *,
    timeout_s: float,
    poll_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, JudgeCall]:
    """Poll `batch_id` until it ends (else BatchNotEnded), then each job's JudgeCall."""
    started = clock()
    while api.retrieve(batch_id).status != "ended":
        if clock() - started >= timeout_s:
            raise BatchNotEnded(batch_id, clock() - started)
        sleep(poll_s)
    calls: dict[str, JudgeCall] = {}
    for line in api.results(batch_id):
        job = jobs.get(str(line.get("custom_id")))
        if job is not None:
            calls[job.custom_id] = _batch_result(line.get("result") or {}, job)
    for custom_id in jobs.keys() - calls.keys():
        calls[custom_id] = JudgeCall(None, Usage(), 0.0, "the batch returned no result for it")
    return calls


def _batch_result(result: Mapping[str, Any], job: JudgeJob) -> JudgeCall:
    kind = result.get("type")
    if kind != "succeeded":
        said = (result.get("error") or {}).get("error", {}).get("message", "")
        detail = f": {said}" if said else ""
        return JudgeCall(None, Usage(), 0.0, f"the judge's batch request {kind}{detail}")
    message = result.get("message") or {}
    usage = Usage.from_api(message.get("usage") or {})
    cost = price_table().cost(str(job.params["model"]), usage, batch=True)
    return _judged(message.get("stop_reason"), message.get("content") or [], job, usage, cost)
