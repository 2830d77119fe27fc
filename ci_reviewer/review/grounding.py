"""Grounded findings: a finding is published only when the code it quotes (`excerpt`) is in
its file at the reviewed commit, near the line it names.

Where the excerpt is looked for: the file at the head (added and unchanged lines), within
`WINDOW` lines of the finding's line; failing that, the lines the diff removes (a finding
about deleted code), near the line in either numbering (the prompt numbers lines by the new
file, so a model may give a removed line the new file's number nearby). The nearest
occurrence wins (a tie: the earlier; both quote the same code), and the finding's line moves
there: a line that is off by a few is corrected. A finding whose excerpt is nowhere near is
dropped, with its reason, and counted in the summary: the commonest noise of AI reviewers is
a finding about code that is not there.

Whitespace does not count: each line is compared with its runs of spaces and tabs collapsed
and its ends stripped. A model re-indents what it quotes (a JSON string loses a tab, a nested
block is quoted without its common indentation, trailing blanks go), and an invented line
differs from the file in its tokens, not its spacing. Blank lines are skipped on both sides.
A quote copied from the diff with its `+`/`-` marker (or the prompt's line number) is also
tried without it. Too short a quote (under `MIN_CHARACTERS` non-blank characters, such as a
lone `})`) grounds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from ci_reviewer.review.diff import ChangedFile
from ci_reviewer.review.findings import DroppedFinding, Finding

WINDOW = 20
MIN_CHARACTERS = 3
# The prompt's diff lines read "    12 + code": a quote may carry the number and the marker.
_PROMPT_PREFIX = re.compile(r"^\s*\d+ [+\- ] ?")

HeadLines = Callable[[str], "Sequence[str] | None"]


@dataclass(frozen=True)
class Grounded:
    kept: tuple[Finding, ...]
    dropped: tuple[DroppedFinding, ...]


def ground(
    findings: Iterable[Finding],
    changed_of: Callable[[str], ChangedFile | None],
    head_lines: HeadLines,
) -> Grounded:
    """Keep the findings whose excerpt is near their line (the line corrected to it); drop
    the others with the reason. `head_lines(path)` is the file at the head, or None when it
    cannot be read there (deleted, withheld)."""
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []
    for finding in findings:
        outcome = ground_one(finding, changed_of(finding.path), head_lines(finding.path))
        if isinstance(outcome, Finding):
            kept.append(outcome)
        else:
            dropped.append(DroppedFinding(finding, outcome))
    return Grounded(tuple(kept), tuple(dropped))


def ground_one(
    finding: Finding, changed: ChangedFile | None, head: Sequence[str] | None
) -> Finding | str:
    """The finding placed where its excerpt is, or why it cannot be grounded."""
    variants = _variants(finding.excerpt)
    if not variants:
        return "it quotes no code (an excerpt is required)"
    if sum(len(line.replace(" ", "")) for line in variants[0]) < MIN_CHARACTERS:
        return f"its excerpt {finding.excerpt.strip()!r} is too short to locate"
    if head is not None:
        numbered = [(number, line) for number, line in enumerate(head, start=1)]
        found = _nearest(_occurrences(numbered, variants), finding.line, lambda n: (n,))
        if found is not None:
            return _moved(finding, found, head[found - 1], "RIGHT")
    removed = _removed_lines(changed)
    where = {number: near for number, near, _ in removed}
    found = _nearest(
        _occurrences([(n, text) for n, _, text in removed], variants),
        finding.line,
        lambda n: (n, where[n]),
    )
    if found is not None:
        text = next(text for number, _, text in removed if number == found)
        return _moved(finding, found, text, "LEFT")
    if head is None:
        return f"{finding.path} cannot be read at the reviewed commit to check its excerpt"
    return f"the code it quotes is not in {finding.path} near line {finding.line}"


def _moved(finding: Finding, line: int, text: str, side: str) -> Finding:
    end = None
    if finding.end_line is not None:
        end = finding.end_line + (line - finding.line)
    return replace(
        finding,
        line=line,
        end_line=end if end is not None and end > line else None,
        line_text=text.rstrip("\n"),
        side="LEFT" if side == "LEFT" else "RIGHT",
    )


def _normal(text: str) -> str:
    return " ".join(text.split())


def _variants(excerpt: str) -> list[list[str]]:
    """The quote's non-blank lines, normalised; then without a diff marker or a prompt line
    number, when every line carries one."""
    raw = [line for line in excerpt.splitlines() if line.strip()]
    if not raw:
        return []
    variants = [[_normal(line) for line in raw]]
    if all(line.lstrip()[:1] in ("+", "-") for line in raw):
        variants.append([_normal(line.lstrip()[1:]) for line in raw])
    if all(_PROMPT_PREFIX.match(line) for line in raw):
        variants.append([_normal(_PROMPT_PREFIX.sub("", line, count=1)) for line in raw])
    return [variant for variant in variants if any(variant)]


def _occurrences(
    numbered: Sequence[tuple[int, str]], variants: Sequence[Sequence[str]]
) -> list[int]:
    """Line numbers where one of the variants starts, over the non-blank lines in order."""
    lines = [(number, _normal(text)) for number, text in numbered if text.strip()]
    found: list[int] = []
    for variant in variants:
        count = len(variant)
        for index in range(len(lines) - count + 1):
            if _matches([text for _, text in lines[index : index + count]], variant):
                found.append(lines[index][0])
        if found:
            return found
    return found


def _matches(window: Sequence[str], quote: Sequence[str]) -> bool:
    """One line: the quote is inside it. Several: the first ends the first line, the last
    starts the last line, the ones between are whole lines."""
    if len(quote) == 1:
        return quote[0] in window[0]
    if not (window[0].endswith(quote[0]) and window[-1].startswith(quote[-1])):
        return False
    return all(a == b for a, b in zip(window[1:-1], quote[1:-1], strict=True))


def _nearest(
    found: Iterable[int], line: int, positions: Callable[[int], tuple[int, ...]]
) -> int | None:
    """The occurrence nearest `line` within WINDOW (any of its positions counts)."""
    best: tuple[int, int] | None = None
    for number in found:
        distance = min(abs(position - line) for position in positions(number))
        if distance <= WINDOW and (best is None or (distance, number) < best):
            best = (distance, number)
    return best[1] if best is not None else None


def _removed_lines(changed: ChangedFile | None) -> list[tuple[int, int, str]]:
    """(base line, where it sits in the new file's numbering, text) of each removed line."""
    if changed is None:
        return []
    removed: list[tuple[int, int, str]] = []
    for hunk in changed.hunks:
        near = next((line.target_line for line in hunk.lines if line.target_line), 1)
        for diff_line in hunk.lines:
            if diff_line.target_line:
                near = diff_line.target_line + 1
            if diff_line.kind == "-" and diff_line.source_line:
                removed.append((diff_line.source_line, near, diff_line.text))
    return removed
