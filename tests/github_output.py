"""A reader of the `GITHUB_OUTPUT` file written from GitHub's documentation, not from the
product's writer, so tests of what a step outputs do not check the product against itself.

The format, as docs.github.com "Workflow commands for GitHub Actions" describes it: each
output is a line `{name}={value}`, or, for values with newlines, the heredoc form

    {name}<<{delimiter}
    {value, any number of lines}
    {delimiter}

The runner reads the heredoc form when `<<` comes before any `=` on the line.
"""

from __future__ import annotations

import re

_HEREDOC = re.compile(r"(?P<name>[^=\n]+?)<<(?P<delimiter>[^\n]+)")
_SINGLE = re.compile(r"(?P<name>[^=\n]+?)=(?P<value>[^\n]*)")


def read_github_output(text: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if not line.strip():
            continue
        heredoc = _HEREDOC.fullmatch(line)
        if heredoc:
            body: list[str] = []
            for inner in lines:
                if inner == heredoc["delimiter"]:
                    break
                body.append(inner)
            else:
                raise AssertionError(f"heredoc {heredoc['delimiter']!r} never closed")
            outputs[heredoc["name"]] = "\n".join(body)
            continue
        single = _SINGLE.fullmatch(line)
        if single is None:
            raise AssertionError(f"not a GITHUB_OUTPUT line: {line!r}")
        outputs[single["name"]] = single["value"]
    return outputs
