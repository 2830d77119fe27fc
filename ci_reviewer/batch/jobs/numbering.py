"""A file's lines numbered for the model, as `cat -n` shows them (`{n:>5}  ` before each).

This runs over every line of every audited file (millions in a large first run): the number
prefixes come from a table built once and shared by every file, joined to the lines by `map`
without a Python-level loop per line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

_NUMBERS: list[str] = []  # "    1  ", "    2  ", ...
_NUMBERS_KEPT = 20_000  # lines numbered from the table; a longer file's rest are made anew


def numbered(text: str) -> str:
    """`text` with each line (`str.splitlines`) led by its number, lines joined by `\\n`."""
    lines = text.splitlines()
    return "\n".join(map(str.__add__, _prefixes(len(lines)), lines))


def _prefixes(count: int) -> Iterable[str]:
    for n in range(len(_NUMBERS) + 1, min(count, _NUMBERS_KEPT) + 1):
        _NUMBERS.append(f"{n:>5}  ")
    if count <= len(_NUMBERS):
        return _NUMBERS
    rest = (f"{n:>5}  " for n in range(len(_NUMBERS) + 1, count + 1))
    return itertools.chain(_NUMBERS, rest)
