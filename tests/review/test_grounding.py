"""Grounding on its own: where a quote is found, with the file's lines written out here."""

from __future__ import annotations

from ci_reviewer.review.findings import Finding
from ci_reviewer.review.grounding import ground_one

HEAD = [
    "def load(path):",
    "    if not path:",
    "        raise ValueError('path')",
    "    with open(path) as handle:",
    "        return handle.read()",
    "",
    "def save(path, text):",
    "    with open(path) as handle:",
    "        handle.write(text)",
]


def finding(line: int, excerpt: str) -> Finding:
    return Finding("a.py", line, "low", "correctness", "t", "b", excerpt=excerpt)


def test_a_multi_line_quote_is_found_where_its_lines_follow_each_other() -> None:
    grounded = ground_one(
        finding(2, "with open(path) as handle:\n  handle.write(text)"), None, HEAD
    )
    assert isinstance(grounded, Finding)
    assert grounded.line == 8  # not 4, where the first line also occurs


def test_a_quote_copied_with_the_prompts_line_number_and_marker_is_found() -> None:
    grounded = ground_one(finding(1, "     3 +         raise ValueError('path')"), None, HEAD)
    assert isinstance(grounded, Finding) and grounded.line == 3


def test_of_two_equal_quotes_the_nearest_to_the_line_wins() -> None:
    grounded = ground_one(finding(7, "with open(path) as handle:"), None, HEAD)
    assert isinstance(grounded, Finding) and grounded.line == 8


def test_a_lone_bracket_grounds_nothing() -> None:
    assert ground_one(finding(3, " ) "), None, HEAD) == "its excerpt ')' is too short to locate"


def test_a_finding_without_a_quote_is_not_grounded() -> None:
    assert ground_one(finding(3, ""), None, HEAD) == "it quotes no code (an excerpt is required)"
