"""The Claude emulator's own control route, outside the API's paths: how someone trying
`ci-reviewer emulate` from a shell moves the emulated clock, so a submitted batch ends (or
expires, past 24 h) without waiting for it.

    GET  /_emulator/clock                     {"now": ..., "batches": [...]}
    POST /_emulator/clock?hours=H&minutes=M   moves the clock on, then answers the same

No key is needed: it changes nothing a real account holds, only the emulator's time.
"""

from __future__ import annotations

import math

from ci_reviewer.emulators.claude_batches import BatchStore
from ci_reviewer.emulators.claude_clock import rfc3339
from ci_reviewer.emulators.claude_validation import ApiError
from ci_reviewer.emulators.server import Request, Response

PREFIX = "/_emulator/"
CLOCK_PATH = "/_emulator/clock"


def handle(request: Request, batches: BatchStore) -> Response:
    path = request.path.rstrip("/")
    if path != CLOCK_PATH or request.method not in ("GET", "POST"):
        raise ApiError("not_found_error", f"{request.method} {request.path} is not a route")
    if request.method == "POST":
        hours, minutes = _amount(request, "hours"), _amount(request, "minutes")
        if hours == 0 and minutes == 0:
            raise ApiError(
                "invalid_request_error", "say how far to move the clock: ?hours=H or ?minutes=M"
            )
        batches.clock.advance(hours=hours, minutes=minutes)
    listed = [
        {
            "id": batch.id,
            "processing_status": batch.processing_status,
            "request_counts": batch.counts(),
        }
        for batch in batches.all_newest_first()
    ]
    return Response(200, {"now": rfc3339(batches.clock.now()), "batches": listed})


def _amount(request: Request, name: str) -> float:
    raw = request.param(name, "0") or "0"
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ApiError(
            "invalid_request_error", f"{name}={raw}: the clock only moves forward (a number >= 0)"
        )
    return value
