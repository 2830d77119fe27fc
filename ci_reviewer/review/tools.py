"""The read-only repository tools the model may call, and their JSON-schema declarations.

Every outcome, including a refusal or a bad argument, is a `ToolOutcome` the model reads
(`is_error` for refusals): a tool never raises into the loop. Output is bounded (lines,
characters, matches) with a note saying what was left out and how to ask for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ci_reviewer.git import run_git
from ci_reviewer.review.sandbox import Refusal, Sandbox, is_binary

MAX_FILE_BYTES = 400_000
MAX_OUTPUT_CHARS = 60_000
MAX_LINES = 1_500
MAX_ENTRIES = 300
MAX_MATCHES = 50
MAX_MATCH_CHARS = 240
# Outcomes shared between a run's conversations; at most MAX_OUTPUT_CHARS each, so <= ~15 MB.
MAX_SHARED_OUTCOMES = 256

_PATH = {"type": "string", "description": "Path relative to the repository root."}
_RANGE = {
    "start_line": {"type": "integer", "minimum": 1, "description": "First line (1-based)."},
    "end_line": {"type": "integer", "minimum": 1, "description": "Last line (inclusive)."},
}
TOOL_DEFINITIONS: tuple[dict[str, Any], ...] = (
    {
        "name": "read_file",
        "description": "Read a text file of the repository at the PR head, with line numbers. "
        "Large files are truncated: ask for a line range.",
        "input_schema": {
            "type": "object",
            "properties": {"path": _PATH, **_RANGE},
            "required": ["path"],
            "additionalProperties": False,
        },
    },
    {
        "name": "read_base_file",
        "description": "Read a text file as it was at the base of the PR (before the change).",
        "input_schema": {
            "type": "object",
            "properties": {"path": _PATH, **_RANGE},
            "required": ["path"],
            "additionalProperties": False,
        },
    },
    {
        "name": "list_directory",
        "description": "List a directory of the repository ('.' for the root).",
        "input_schema": {
            "type": "object",
            "properties": {"path": _PATH},
            "required": ["path"],
            "additionalProperties": False,
        },
    },
    {
        "name": "search_code",
        "description": "Search the repository's tracked files for a literal string (default) or "
        f"an extended regular expression. Returns up to {MAX_MATCHES} matches as file:line.",
        "input_schema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "regex": {"type": "boolean", "description": "Treat query as a regex."},
                "path": {"type": "string", "description": "Limit to this folder or file."},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
    },
)


@dataclass(frozen=True)
class ToolOutcome:
    """A tool's answer as the model will read it."""

    text: str
    is_error: bool = False

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))

    def result_block(self, tool_use_id: str) -> dict[str, Any]:
        """The `tool_result` block that answers the model's `tool_use_id` with this outcome."""
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": self.text or "(empty)",
        }
        if self.is_error:
            block["is_error"] = True
        return block


def _error(message: str) -> ToolOutcome:
    return ToolOutcome(message, is_error=True)


class RepoTools:
    """The tools over one checkout; `base_sha` is the commit `read_base_file` reads.

    A run reviews one snapshot (the PR head), so an outcome depends only on the call: the
    conversations of a run share their outcomes, as the files of a PR tend to read the same
    modules (shared imports, base classes, tests). Bounded in entries; thread-safe, as a
    dict's get and set are atomic and a call computed twice at once gives the same outcome."""

    def __init__(self, sandbox: Sandbox, base_sha: str) -> None:
        self.sandbox = sandbox
        self.base_sha = base_sha
        self._outcomes: dict[tuple[str, tuple[tuple[str, Any], ...]], ToolOutcome] = {}
        self._tools: dict[str, Callable[[Mapping[str, Any]], ToolOutcome]] = {
            "read_file": self._read_file,
            "read_base_file": self._read_base_file,
            "list_directory": self._list_directory,
            "search_code": self._search_code,
        }

    def run(self, name: str, arguments: Any) -> ToolOutcome:
        """Run one tool call; unknown tools and bad arguments are error outcomes."""
        tool = self._tools.get(name)
        if tool is None:
            return _error(f"unknown tool {name!r}; available: {', '.join(self._tools)}")
        if not isinstance(arguments, Mapping):
            return _error("tool input must be a JSON object")
        key = _call_key(name, arguments)
        outcome = self._outcomes.get(key) if key is not None else None
        if outcome is None:
            try:
                outcome = tool(arguments)
            except (TypeError, ValueError) as error:
                outcome = _error(f"bad arguments for {name}: {error}")
            if key is not None and len(self._outcomes) < MAX_SHARED_OUTCOMES:
                self._outcomes[key] = outcome
        return outcome

    def _read_file(self, arguments: Mapping[str, Any]) -> ToolOutcome:
        found = self.sandbox.read_text(arguments.get("path"), MAX_FILE_BYTES)
        if isinstance(found, Refusal):
            return _error(found.reason)
        note = f" (first {MAX_FILE_BYTES} of {found.size} bytes)" if found.truncated else ""
        return _numbered(found.path + note, found.text, arguments)

    def _read_base_file(self, arguments: Mapping[str, Any]) -> ToolOutcome:
        parts = self.sandbox.relative_parts(arguments.get("path"))
        if isinstance(parts, Refusal):
            return _error(parts.reason)
        path = "/".join(parts)
        result = run_git(
            self.sandbox.root, ["cat-file", "blob", f"{self.base_sha}:{path}"], check=False
        )
        if result.returncode != 0:
            return _error(f"{path}: not a file at the base commit {self.base_sha[:12]}")
        if is_binary(result.stdout):
            return _error(f"{path}: binary file at the base commit; only text can be read")
        data = result.stdout[:MAX_FILE_BYTES]
        secret = self.sandbox.content_refusal(path, data)
        if secret:
            return _error(f"{path} at base {self.base_sha[:12]}: {secret}")
        text = data.decode("utf-8", errors="replace")
        return _numbered(f"{path} at base {self.base_sha[:12]}", text, arguments)

    def _list_directory(self, arguments: Mapping[str, Any]) -> ToolOutcome:
        listed = self.sandbox.children(arguments.get("path", "."))
        if isinstance(listed, Refusal):
            return _error(listed.reason)
        base, children = listed
        prefix = () if base == "." else tuple(base.split("/"))
        entries, hidden = [], 0
        for name, is_dir in children:
            if self.sandbox.name_refusal((*prefix, name)):
                hidden += 1
                continue
            entries.append(name + ("/" if is_dir else ""))
        shown = entries[:MAX_ENTRIES]
        lines = [f"{base}/ ({len(entries)} entries)", *shown]
        if len(entries) > len(shown):
            lines.append(f"... {len(entries) - len(shown)} more entries not shown")
        if hidden:
            lines.append(f"({hidden} secret-looking or internal entries hidden)")
        return ToolOutcome("\n".join(lines))

    def _search_code(self, arguments: Mapping[str, Any]) -> ToolOutcome:
        query = arguments.get("query")
        if not isinstance(query, str) or not query:
            return _error("query must be a non-empty string")
        scope: list[str] = []
        if arguments.get("path"):
            parts = self.sandbox.relative_parts(arguments["path"])
            if isinstance(parts, Refusal):
                return _error(parts.reason)
            scope = ["--", "/".join(parts) or "."]
        mode = "-E" if arguments.get("regex") else "-F"
        options = ["-c", "core.quotepath=false", "grep", "-n", "-I", "-z", "--no-color"]
        result = self.sandbox.grep([*options, mode, "-e", query], scope)
        if isinstance(result, Refusal):
            return _error(result.reason)
        if result.returncode == 1:
            return ToolOutcome(f"no matches for {query!r}")
        if result.returncode != 0:
            said = result.stderr.strip().splitlines()
            return _error(f"search failed: {said[-1] if said else 'git grep error'}")
        return ToolOutcome(self._matches(query, result.text))

    def _matches(self, query: str, output: str) -> str:
        matches: list[str] = []
        total = 0
        refused: dict[str, bool] = {}  # path -> whether its lines must not be shown
        for line in output.splitlines():
            path, _, rest = line.partition("\x00")
            number, _, text = rest.partition("\x00")
            if path not in refused:
                # By name and by content: a matching line of a file holding a key or a
                # token may be that very secret.
                refused[path] = self.sandbox.secret_in(path) is not None
            if refused[path]:
                # Never a line of a refused file, nor a count of them: "3 matches in
                # withheld files" would let a query probe a secret one character at a time.
                continue
            total += 1
            if len(matches) < MAX_MATCHES:
                matches.append(f"{path}:{number}: {text.strip()[:MAX_MATCH_CHARS]}")
        if total > len(matches):
            matches.append(f"... {total - len(matches)} more matches; narrow the query or path")
        return "\n".join(matches) if matches else f"no matches for {query!r}"


def _call_key(name: str, arguments: Mapping[str, Any]) -> tuple[str, Any] | None:
    """What identifies a call among the run's outcomes; None for arguments that are not
    plain JSON scalars (such a call is run every time)."""
    items = tuple(sorted(arguments.items()))
    if all(isinstance(value, (str, int, float, bool)) or value is None for _, value in items):
        return (name, items)
    return None


def _numbered(title: str, text: str, arguments: Mapping[str, Any]) -> ToolOutcome:
    """The file's lines with numbers, in the asked range, bounded in lines and characters."""
    lines = text.splitlines()
    start = int(arguments.get("start_line") or 1)
    end = int(arguments.get("end_line") or len(lines))
    if lines and start > len(lines):
        return _error(f"{title}: start_line {start} is past the end ({len(lines)} lines)")
    start, end = max(1, start), min(max(start, end), len(lines))
    end = min(end, start + MAX_LINES - 1)
    width = len(str(end))
    out = [
        f"{str(number).rjust(width)}| {line}"
        for number, line in enumerate(lines[start - 1 : end], start)
    ]
    out = _within_chars(out, MAX_OUTPUT_CHARS)
    end = start + len(out) - 1
    header = f"{title} (lines {start}-{end} of {len(lines)})"
    if end < len(lines) or start > 1:
        header += "; ask for start_line/end_line to read other parts"
    return ToolOutcome("\n".join([header, *out]))


def _within_chars(lines: list[str], limit: int) -> list[str]:
    """The leading lines whose text (one newline each) fits in `limit` characters."""
    if sum(map(len, lines)) + len(lines) <= limit:
        return lines
    chars = 0
    for kept, line in enumerate(lines):
        chars += len(line) + 1
        if chars > limit:
            return lines[:kept]
    return lines
