"""Where GitHub lets a review comment sit: the lines of a file's patch.

RIGHT-side comments can anchor on new-file lines shown as context or additions, LEFT-side
ones on old-file lines shown as context or removals; a range must stay inside one hunk. The
legacy `position` counts lines from the first hunk header (which is position 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class PatchLine:
    position: int
    hunk: int  # index of the line's hunk header in the patch
    kind: str  # " ", "+" or "-"
    old: int | None
    new: int | None


@dataclass(frozen=True)
class Anchor:
    """A comment's resolved place in the diff, as GitHub reports it back."""

    line: int
    side: str
    start_line: int | None
    start_side: str | None
    position: int
    diff_hunk: str


class UnresolvableLine(ValueError):
    """The requested line (or range) is not part of the diff."""


def patch_lines(patch: str) -> list[PatchLine]:
    lines: list[PatchLine] = []
    old = new = 0
    hunk = 0
    for position, text in enumerate(patch.split("\n")):
        header = _HUNK.match(text)
        if header:
            old, new, hunk = int(header.group(1)), int(header.group(2)), position
            continue
        kind = text[:1] or " "
        if kind == "\\":  # "\ No newline at end of file" is not a line of either file
            continue
        if kind == "+":
            lines.append(PatchLine(position, hunk, kind, None, new))
            new += 1
        elif kind == "-":
            lines.append(PatchLine(position, hunk, kind, old, None))
            old += 1
        else:
            lines.append(PatchLine(position, hunk, " ", old, new))
            old += 1
            new += 1
    return lines


def commentable_lines(patch: str, side: str = "RIGHT") -> set[int]:
    """The line numbers a comment on `side` may use in this patch."""
    attr = "new" if side == "RIGHT" else "old"
    return {getattr(p, attr) for p in patch_lines(patch) if getattr(p, attr) is not None}


def _find(lines: list[PatchLine], line: int, side: str) -> PatchLine:
    for candidate in lines:
        shown = {" ", "+" if side == "RIGHT" else "-"}
        if (candidate.new if side == "RIGHT" else candidate.old) == line and (
            candidate.kind in shown
        ):
            return candidate
    raise UnresolvableLine(f"line {line} ({side}) is not part of the diff")


def resolve(patch: str, comment: dict[str, Any]) -> Anchor:
    """Where `comment` (line/side/start_line/start_side or position) lands in `patch`."""
    lines = patch_lines(patch)
    if comment.get("line") is None and comment.get("position") is not None:
        at = next((p for p in lines if p.position == comment["position"]), None)
        if at is None:
            raise UnresolvableLine(f"position {comment['position']} is not part of the diff")
        side = "LEFT" if at.kind == "-" else "RIGHT"
        line = at.old if side == "LEFT" else at.new
        assert line is not None
        return Anchor(line, side, None, None, at.position, _hunk_text(patch, at))
    if comment.get("line") is None:
        raise UnresolvableLine("a comment needs line or position")
    side = str(comment.get("side") or "RIGHT").upper()
    end = _find(lines, int(comment["line"]), side)
    start_line = comment.get("start_line")
    start_side = None
    if start_line is not None:
        start_side = str(comment.get("start_side") or side).upper()
        start = _find(lines, int(start_line), start_side)
        if start.hunk != end.hunk or start.position > end.position:
            raise UnresolvableLine("start_line must be in the same hunk, before line")
    line = end.new if side == "RIGHT" else end.old
    assert line is not None  # _find only returns lines present on that side
    return Anchor(
        line,
        side,
        start_line,
        start_side,
        end.position,
        _hunk_text(patch, end),
    )


def _hunk_text(patch: str, at: PatchLine) -> str:
    """GitHub's `diff_hunk`: the hunk header through the commented line."""
    return "\n".join(patch.split("\n")[at.hunk : at.position + 1])
