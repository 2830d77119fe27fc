"""Suggestions that apply: a finding's replacement is posted as a ```suggestion block only
when GitHub's "Commit suggestion" would apply it cleanly; otherwise the comment shows it as
text and says why ("suggested change not attached: ...").

What GitHub does with a block: it replaces the comment's lines, `start_line..line` on the
RIGHT side (a multi-line comment needs `start_line` and `start_side` besides `line` and
`side`, and its range must lie inside one hunk), with the block's text. It refuses to apply a
suggestion on deleted lines ("Applying suggestions on deleted lines is not supported") and one
that changes nothing ("This suggestion is invalid because no changes were made to the code").
What it does not check is what peers' users report breaking: a range wider than the
replacement silently deletes the lines left out, a re-indented block (tabs turned into
spaces) breaks a Python file, and a replacement that does not parse is one click from a red
build. Hence the checks, in order: the finding is on the new side; its lines are all lines
of one hunk (added or context); the replacement differs from them (trailing blanks aside);
its first line keeps the first line's indentation, and it indents with no character the
lines do not use (no spaces into a tab-indented block, no tabs into a spaced one); and for
Python, the file with the replacement applied still parses (`ast.parse`), when it parsed
before (one that did not, say newer syntax than this runner's Python, cannot be judged).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from ci_reviewer.review.diff import ChangedFile
from ci_reviewer.review.findings import Finding

_PYTHON = (".py", ".pyi")


def suggestion_note(
    finding: Finding, changed: ChangedFile | None, head: Sequence[str] | None
) -> str | None:
    """None when the finding's suggestion can be attached as a block, else why not (also
    None when it has no suggestion)."""
    if finding.suggestion is None:
        return None
    start, end = finding.line, finding.end_line or finding.line
    span = f"line {start}" if start == end else f"lines {start}-{end}"
    problem = _range_problem(finding, changed, head, span)
    if problem is not None or head is None:
        return problem
    current = list(head[start - 1 : end])
    replacement = finding.suggestion.removesuffix("\n").split("\n")
    if [line.rstrip() for line in replacement] == [line.rstrip() for line in current]:
        return f"it is identical to {span}"
    indentation = _indentation_problem(current, replacement)
    if indentation is not None or not finding.path.endswith(_PYTHON):
        return indentation
    return _python_problem(head, start, end, replacement)


def _range_problem(
    finding: Finding, changed: ChangedFile | None, head: Sequence[str] | None, span: str
) -> str | None:
    """Why GitHub could not apply a block on the finding's lines, or None."""
    start, end = finding.line, finding.end_line or finding.line
    if finding.side == "LEFT":
        return "it would replace removed lines, and GitHub applies suggestions to new lines only"
    if changed is None:
        return f"{finding.path} is not in this pull request's diff"
    if not _in_one_hunk(changed, start, end):
        if start == end:
            return f"{span} is not an added or context line of the diff"
        return f"{span} are not all added or context lines of one hunk of the diff"
    if head is None or end > len(head):
        return f"{span} of {finding.path} cannot be read at the head"
    return None


def _in_one_hunk(changed: ChangedFile, start: int, end: int) -> bool:
    wanted = set(range(start, end + 1))
    for hunk in changed.hunks:
        right = {line.target_line for line in hunk.lines if line.kind in "+ " and line.target_line}
        if wanted <= right:
            return True
    return False


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _describe(indent: str) -> str:
    if not indent:
        return "no indentation"
    tabs, spaces = indent.count("\t"), indent.count(" ")
    parts = [f"{tabs} tab{'s' if tabs != 1 else ''}"] if tabs else []
    parts += [f"{spaces} space{'s' if spaces != 1 else ''}"] if spaces else []
    return " and ".join(parts)


def _indentation_problem(current: Sequence[str], replacement: Sequence[str]) -> str | None:
    first_now = next((line for line in current if line.strip()), None)
    first_new = next((line for line in replacement if line.strip()), None)
    if first_now is None or first_new is None:
        return None
    if _indent(first_now) != _indent(first_new):
        return (
            f"its first line has {_describe(_indent(first_new))} where the code has "
            f"{_describe(_indent(first_now))}"
        )
    used = set("".join(_indent(line) for line in current if line.strip()))
    brought = set("".join(_indent(line) for line in replacement if line.strip())) - used
    if used and brought:
        kind = "tabs" if "\t" in brought else "spaces"
        other = "spaces" if kind == "tabs" else "tabs"
        return f"it indents with {kind} where the code indents with {other}"
    return None


def _python_problem(
    head: Sequence[str], start: int, end: int, replacement: Sequence[str]
) -> str | None:
    before = "\n".join(head) + "\n"
    try:
        ast.parse(before)
    except (SyntaxError, ValueError):
        return None  # it did not parse before: this Python cannot judge it
    after = "\n".join([*head[: start - 1], *replacement, *head[end:]]) + "\n"
    try:
        ast.parse(after)
    except SyntaxError as error:
        return f"the file would no longer parse as Python ({error.msg}, line {error.lineno})"
    except ValueError as error:
        return f"the file would no longer parse as Python ({error})"
    return None
