"""The coverage report: which endpoints the product calls are held to recorded real GitHub
traffic and which only to GitHub's OpenAPI description. Printed in pytest's terminal summary
and written as Markdown to REPORT (under the rootdir) when the session replayed recordings
or saw the product call GitHub.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from tests.emulators import openapi, recordings
from tests.emulators.product_calls import CALLED, REPLAYED
from tests.emulators.product_endpoints import ENDPOINTS

REPORT = Path(".ci-cache/reports/github-endpoint-coverage.md")


@cache
def recorded_counts() -> Counter[tuple[str, str]]:
    """How many recorded exchanges each (method, template) has."""
    counts: Counter[tuple[str, str]] = Counter()
    for exchange in recordings.every_exchange():
        op = openapi.match_operation(exchange.method, exchange.path)
        if op is not None:
            counts[(op.method, op.template)] += 1
    return counts


def lines() -> list[str]:
    counts = recorded_counts()
    held = [e for e in ENDPOINTS if e.recorded]
    only = [e for e in ENDPOINTS if not e.recorded]
    called = [e for e in ENDPOINTS if e.key in CALLED]
    out = [
        f"GitHub endpoints the product calls: {len(ENDPOINTS)} "
        f"({len(called)} called by the product in this session's tests)",
        f"held to recorded real traffic: {len(held)} "
        f"({sum(len(e.recorded) for e in held)} recorded exchanges, "
        f"{sum(s in REPLAYED for e in held for s in e.recorded)} replayed this session)",
        f"held to the OpenAPI description only: {len(only)}",
        "",
        "| endpoint | product calls this session | recordings replayed | recorded exchanges |",
        "|---|---|---|---|",
    ]
    for endpoint in ENDPOINTS:
        replays = "; ".join(
            f"{source} ({REPLAYED.get(source, 'not replayed this session')})"
            for source in endpoint.recorded
        )
        held_to = (
            "none: GraphQL schema only"
            if endpoint.template == "/graphql"
            else ("none: OpenAPI description only")
        )
        out.append(
            f"| {endpoint.label} | {len(CALLED.get(endpoint.key, ()))} tests "
            f"| {replays or held_to} | {counts[endpoint.key]} |"
        )
    return out


def report(terminal: Any, path: Path) -> None:
    if not REPLAYED and not CALLED:
        return
    text = lines()
    terminal.section("GitHub endpoints the product calls: recorded traffic vs OpenAPI only")
    for line in text:
        terminal.write_line(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# GitHub endpoints the product calls\n\n" + "\n".join(text) + "\n")
    terminal.write_line(f"(written to {path})")
