"""Comparing the emulator's answer to GitHub's recorded one, on what the product reads.

For each read of an endpoint (tests/emulators/product_endpoints.py): the same presence and
JSON type in both answers (for an array, its first element); for each fact, the value the
request implies, in both (a recording that contradicts a fact fails too: the fact is wrong);
for each identical read, the same value. An error answer is compared on its status, its
message and its `errors` list, as the product sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.emulators.product_endpoints import Endpoint

MISSING = "(absent)"


@dataclass(frozen=True)
class Sent:
    """One request as sent, and the answer to it."""

    params: dict[str, str]
    query: dict[str, str]
    body: Any
    status: int
    answer: Any


def values(body: Any, path: str) -> list[Any]:
    """Every value at `path` (`a.b`, `[].a`, `items[].a`); MISSING where a part is absent."""
    nodes: list[Any] = [body]
    for part in path.split("."):
        found: list[Any] = []
        for node in nodes:
            key, many = (part[:-2], True) if part.endswith("[]") else (part, False)
            value = node if many and not key else _get(node, key)
            if many and isinstance(value, list):
                found += value
            else:
                found.append(MISSING if many else value)
        nodes = found
    return nodes


def _get(node: Any, key: str) -> Any:
    return node.get(key, MISSING) if isinstance(node, dict) else MISSING


def json_type(value: Any) -> str:
    if value is MISSING:
        return "absent"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", dict: "object", list: "array"}[type(value)]


def expected(fact: str, sent: Sent) -> str | None:
    """The value `fact` says the request implies; None when the request lacks what it names."""
    try:
        return fact.format(**sent.params, body=sent.body or {}, query=sent.query)
    except (KeyError, IndexError, TypeError):
        return None


def differences(endpoint: Endpoint, recorded: Sent, ours: Sent) -> dict[str, str]:
    """What differs, by read (or `status`, `message`, `errors`), in words."""
    found: dict[str, str] = {}
    if recorded.status != ours.status:
        found["status"] = f"GitHub answered {recorded.status}, the emulator {ours.status}"
    if recorded.status >= 400 or ours.status >= 400:
        for key in ("message", "errors"):
            theirs, mine = _get(recorded.answer, key), _get(ours.answer, key)
            if (key == "message" or theirs is not MISSING) and theirs != mine:
                found[key] = f"GitHub: {theirs!r}; the emulator: {mine!r}"
        return found
    for read in endpoint.reads:
        found |= _type_difference(read, recorded.answer, ours.answer)
    for read, fact in endpoint.facts:
        found |= _fact_difference(read, fact, recorded, ours)
    for read in endpoint.identical:
        theirs, mine = values(recorded.answer, read)[:1], values(ours.answer, read)[:1]
        if theirs != mine:
            found[read] = f"content-addressed, yet GitHub: {theirs}; the emulator: {mine}"
    return found


def _type_difference(read: str, theirs: Any, mine: Any) -> dict[str, str]:
    recorded, emulated = values(theirs, read), values(mine, read)
    if not recorded or not emulated:
        side = "GitHub's" if not recorded else "the emulator's"
        return {read: f"{side} answer has no element to compare"}
    kinds = json_type(recorded[0]), json_type(emulated[0])
    if kinds[0] != kinds[1]:
        return {read: f"GitHub sends {kinds[0]}, the emulator {kinds[1]}"}
    return {}


def _fact_difference(read: str, fact: str, recorded: Sent, ours: Sent) -> dict[str, str]:
    found = {}
    for who, sent in (("GitHub", recorded), ("the emulator", ours)):
        want = expected(fact, sent)
        if want is None:
            continue
        got = [_text(value) for value in values(sent.answer, read)]
        wrong = [value for value in got if value != want]
        if wrong or not got:
            found[f"{read} (fact)"] = (
                f"{who} answered {wrong or got} where the request says {want!r}"
            )
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
