"""Small deviations in a model's answer, repaired before the answer is validated.

The output schema sent (`structured.sendable_schema`) cannot carry every rule: structured
outputs enforce types, enums and required fields, and the SDK's transform moves the rest
(patterns, lengths, bounds) into descriptions, which the model may not follow to the letter.
What such a rule is for can often be recovered from the answer itself: a CWE written
"CWE 89" or "89" is still CWE-89, an empty test path still belongs to its source file. Each
repair below answers one rule the validators enforce and the sent schema only describes;
what cannot be repaired is left for the validator to refuse, one finding at a time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from ci_reviewer.batch.paths import comment_prefix

# "CWE-89", "CWE 89", "cwe-89", "CWE_89", "CWE:89", "CWE-089", "89"
_CWE = re.compile(r"^\s*(?:cwe)?[\s_:#-]*0*([0-9]+)\s*$", re.IGNORECASE)
_TITLE_CHARS = 100


def cwe(value: Any) -> Any:
    """`value` as CWE-<number> when it names one, else unchanged (for the validator)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return f"CWE-{value}"
    found = _CWE.match(value) if isinstance(value, str) else None
    return f"CWE-{int(found.group(1))}" if found else value


def finding(raw: Any) -> Any:
    """A security finding with its small deviations repaired (a non-object unchanged)."""
    if not isinstance(raw, dict):
        return raw
    fixed = dict(raw)
    if "cwe" in fixed:
        fixed["cwe"] = cwe(fixed["cwe"])
    for key in ("severity", "confidence"):
        if isinstance(fixed.get(key), str):
            fixed[key] = fixed[key].strip().lower()
    line = fixed.get("line")
    if isinstance(line, int) and not isinstance(line, bool) and line < 0:
        fixed["line"] = 0  # "somewhere in the file": published as line 1
    title = fixed.get("title")
    if isinstance(title, str) and not title.strip():
        fixed["title"] = _title_from(fixed.get("description"))
    return fixed


def _title_from(description: Any) -> str:
    """A missing title from the finding's description: its first sentence, bounded."""
    text = " ".join(str(description or "").split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first if len(first) <= _TITLE_CHARS else first[: _TITLE_CHARS - 1] + "…"


def target_path(proposed: Any, source: str, output_dir: str, default: str | None = None) -> Any:
    """A generated test's target path, relative to `output_dir`: the model's, less a
    leading `./` or `output_dir/` it repeated; when that is empty or names a file type
    that cannot carry the generated-file marker, the path derived from the source file
    (`default`, the framework's conventional path, else `default_test_path`). Paths that
    try to leave `output_dir` are left for the path policy to refuse, visibly."""
    if not isinstance(proposed, str):
        return proposed
    path = proposed.strip()
    while path.startswith("./"):
        path = path[2:]
    prefix = output_dir.strip("/") + "/"
    if path.startswith(prefix):
        path = path[len(prefix) :]
    if path and comment_prefix(path) is not None:
        return path
    return default or default_test_path(source) or path


def default_test_path(source: str) -> str | None:
    """Where the repository's conventions put a test of `source` (its language's usual
    test file name), or None for a language without one."""
    name = PurePosixPath(source)
    suffix = name.suffix.lower()
    if suffix in (".py", ".pyi"):
        return f"test_{name.stem}.py"
    if suffix == ".go":
        return f"{name.stem}_test.go"
    if suffix in (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx"):
        return f"{name.stem}.test{suffix}"
    return None


def test_generation_answer(
    raw: Mapping[str, Any], source: str, output_dir: str, default: str | None = None
) -> dict[str, Any]:
    """A test-generation answer with its target path repaired (`default`: the path the
    request gave)."""
    fixed = dict(raw)
    if "target_path" in fixed:
        fixed["target_path"] = target_path(fixed["target_path"], source, output_dir, default)
    return fixed
