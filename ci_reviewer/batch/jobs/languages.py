"""The language of a source file: by its extension, or, for an extensionless script, by the
interpreter its shebang line names.

Languages that share a test framework share a family (TypeScript is tested by the
JavaScript runners), and the family is what framework detection works on.
"""

from __future__ import annotations

import re

from ci_reviewer.batch.path_names import suffix

_BY_SUFFIX = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".rb": "ruby",
    ".c": "c",
    ".h": "c",
    ".cc": "c++",
    ".cpp": "c++",
    ".hpp": "c++",
    ".cs": "c#",
    ".php": "php",
    ".swift": "swift",
    ".scala": "scala",
    ".sh": "shell",
    ".bash": "shell",
    ".lua": "lua",
}
# `#!/usr/bin/env python3`, `#!/usr/bin/python3.11 -u`, `#!/usr/bin/env -S node --flag`
_SHEBANG = re.compile(r"^#!\s*(?:\S*/)?(?:env\s+(?:-\S+\s+)*)?([A-Za-z]+)")
_BY_INTERPRETER = {
    "python": "python",
    "node": "javascript",
    "deno": "typescript",
    "bun": "javascript",
    "ruby": "ruby",
    "sh": "shell",
    "bash": "shell",
    "zsh": "shell",
    "dash": "shell",
    "perl": "perl",
}
FAMILY = {"typescript": "javascript"}
# How a language is named in a prompt or a skip reason.
DISPLAY = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "rust": "Rust",
    "go": "Go",
    "java": "Java",
    "kotlin": "Kotlin",
    "ruby": "Ruby",
    "shell": "shell",
}


def language_of(path: str, text: str = "") -> str | None:
    """The language of the file at `path` whose content starts with `text` (None: unknown)."""
    extension = suffix(path).lower()
    if extension:
        return _BY_SUFFIX.get(extension)
    found = _SHEBANG.match(text[:200])
    if found is None:
        return None
    return _BY_INTERPRETER.get(found.group(1).lower())


def family_of(language: str) -> str:
    """The language whose test frameworks serve `language`."""
    return FAMILY.get(language, language)


def display(language: str) -> str:
    return DISPLAY.get(language, language)
