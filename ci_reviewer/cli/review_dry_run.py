"""`review --dry-run`: every file's first request, built as the review would send it, written
as JSON lines to a file outside the checkout, counted and priced; nothing is sent to the
Messages API. With ANTHROPIC_API_KEY set, the tokens are counted by the count_tokens endpoint
(which bills nothing); without it, or when that endpoint fails, as characters / 4. The output
says which, and where the requests are; with `review.thinking` on, it says that the thinking
(billed as output) is in the estimate and how."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_reviewer.cli.context import Settings, emit
from ci_reviewer.errors import UsageError
from ci_reviewer.estimate import CostEstimate, CountedEstimate, thinking_note

REQUESTS_FILE = "ci-reviewer-review-requests.jsonl"
# Counting is a courtesy of the dry run: one quick try, not the review's retry budget.
COUNT_RETRIES = 1
COUNT_TIMEOUT_SECONDS = 30.0


def default_requests_file(environ: Mapping[str, str], name: str = REQUESTS_FILE) -> Path:
    """Outside the checkout, so a dry run leaves the working tree as it found it: the
    runner's temporary directory in Actions, else the system's (as `batch --dry-run`)."""
    folder = environ.get("RUNNER_TEMP") or tempfile.gettempdir()
    return Path(folder) / name


def dry_run(
    run: Settings,
    source: Any,
    model: str,
    *,
    output_format: str,
    output_file: str | None,
    requests_file: str | None,
) -> int:
    from ci_reviewer.review.engine import first_requests

    config = run.config.review
    requests: list[Mapping[str, Any]] = list(
        first_requests(
            source, config, model=model, workdir=run.workdir, policy=run.config.secret_policy
        )
    )
    target = Path(requests_file) if requests_file else default_requests_file(run.environ)
    write_requests(target, requests, run)
    counted = estimate_cost(run, requests, model)
    estimate = counted.estimate
    how = counted.counted_by + (f" ({counted.why})" if counted.why else "")
    if output_format == "json":
        document = {
            "dry_run": True,
            "model": model,
            "files": [changed.path for changed in source.files],
            "requests_file": str(target),
            "first_turn_requests": estimate.requests,
            "input_tokens": estimate.input_tokens,
            "tokens_counted_by": counted.counted_by,
            "tokens_counted_note": counted.why or None,
            "output_tokens": estimate.output_tokens,
            "thinking_in_estimate": thinking_note(estimate.thinking) or None,
            "estimated_cost_usd": estimate.usd,
            "max_turns": config.max_turns,
        }
        emit(json.dumps(document, indent=2), run.redact, output_file)
        return 0
    cost = (
        "unknown (model not in the price table)" if estimate.usd is None else f"${estimate.usd:.4f}"
    )
    approx = "" if counted.counted_by == "count_tokens" else "~"
    lines = [
        f"dry run: nothing sent. {estimate.requests} files would be reviewed with {model}.",
        f"first turns: {approx}{estimate.input_tokens} input tokens, counted by {how}; "
        f"estimated {cost} (each file may take up to {config.max_turns} turns; cached "
        "prefixes cost less)",
        *output_line(estimate),
        f"requests (one JSON line per file, its first turn): {target}",
        *(f"  {changed.path}" for changed in source.files),
    ]
    emit("\n".join(lines), run.redact, output_file)
    return 0


def output_line(estimate: CostEstimate) -> list[str]:
    """The output tokens the estimate counts, when thinking is in them (else the expected
    answer length alone, as ever: nothing to add)."""
    note = thinking_note(estimate.thinking)
    return [f"output: {estimate.output_tokens} tokens counted; {note}"] if note else []


def write_requests(target: Path, requests: list[Mapping[str, Any]], run: Settings) -> None:
    # Redacted as everything the tool writes is: a credential of this run never lands in a
    # file (the secret policy already kept secret files out of the requests).
    text = "".join(run.redact(json.dumps(r, ensure_ascii=False)) + "\n" for r in requests)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot write the requests to {target}: {error.strerror}",
            hint="pass --requests-file with a writable path",
        ) from None


def estimate_cost(run: Settings, requests: list[Mapping[str, Any]], model: str) -> CountedEstimate:
    from ci_reviewer.estimate import estimate_counted

    api_key = run.environ.get("ANTHROPIC_API_KEY") or run.environ.get("ANTHROPIC_AUTH_TOKEN")
    if not api_key or not requests:
        why = "no ANTHROPIC_API_KEY to ask count_tokens" if requests else ""
        return estimate_counted(requests, model, None, batch=False, why_not=why)
    from ci_reviewer.claude import build_client, tracing_requested

    with build_client(
        api_key,
        run.environ.get("ANTHROPIC_BASE_URL") or None,
        max_retries=COUNT_RETRIES,
        timeout=COUNT_TIMEOUT_SECONDS,
        tracing=tracing_requested(run.environ),
    ) as client:
        return estimate_counted(requests, model, client, batch=False)
