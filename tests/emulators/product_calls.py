"""Which of a GitHub emulator's requests the product sent, and what the session learned of
the product's endpoints (for the coverage report).

A request is the product's unless it came from test code. The emulator answers on its own
thread while the client that asked is inside its HTTP stack (`requests`, `urllib3`,
`http.client`: from sending the request until it has read the answer), so that thread's
stack says who asked: the innermost frame of our own code above that wait is either
the product's (`ci_reviewer.*`) or a test's (`tests.*`: setting up, or inspecting what the
product did). A request no thread of this process is waiting on came from another process:
the CLI or the action run as a subprocess, a forked batch worker, all of them the product.
"""

from __future__ import annotations

import sys
import threading
from collections import defaultdict
from types import FrameType
from urllib.parse import unquote

from tests.emulators import openapi
from tests.emulators.product_endpoints import BY_KEY

PRODUCT, TEST = "product", "test"
# Between sending and reading, urllib3 runs its own code, outside http.client.
_HTTP_STACK = ("urllib3.", "requests.")
# (method, template) -> the tests in which the product called it, this session.
CALLED: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
# recorded exchange -> what its replay found this session (tests/emulators/test_recordings.py).
REPLAYED: dict[str, str] = {}


def caller() -> str:
    """PRODUCT or TEST: who sent the request this (server) thread is answering."""
    me = threading.get_ident()
    senders = set()
    for ident, frame in sys._current_frames().items():
        if ident != me:
            sender = _sender(frame)
            if sender is not None:
                senders.add(sender)
    # Two clients waiting at once (a test thread and the product's): count it as the product's.
    return TEST if senders == {TEST} else PRODUCT


def _sender(frame: FrameType | None) -> str | None:
    waiting = False
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module == "http.client" or module.startswith(_HTTP_STACK):
            waiting = True
        elif waiting and module.startswith(("ci_reviewer.", "tests.")):
            if module.startswith("ci_reviewer.emulators."):
                return None  # an emulator's own thread, not a client
            return TEST if module.startswith("tests.") else PRODUCT
        frame = frame.f_back
    return None


def unlisted(calls: list[tuple[str, str]], test: str) -> list[str]:
    """The product's `calls` (method, path) to endpoints the list lacks; records the rest."""
    problems = []
    for method, raw_path in calls:
        path = unquote(raw_path)
        if (method, path.rstrip("/")) == ("POST", "/graphql"):
            CALLED[("POST", "/graphql")].add(test)  # not a REST operation: listed apart
            continue
        op = openapi.match_operation(method, path)
        if op is None:
            continue  # not a GitHub route at all: reported with the unmatched routes
        key = (op.method, op.template)
        CALLED[key].add(test)
        if key not in BY_KEY:
            problems.append(f"{method} {op.template} (as {method} {path})")
    return sorted(set(problems))
