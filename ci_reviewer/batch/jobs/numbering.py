"""A file's lines numbered for the model, as `cat -n` shows them (`{n:>5}  ` before each).

This runs over every line of every audited file (millions in a large first run): the number
prefixes come from a table built once and shared by every file, each but the first led by
the newline that ends the line before, so the text is one `str.join` of prefixes and lines
interleaved (by `zip`, in C), without a string made per line beyond the line itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

_LEADS: list[str] = []  # "    1  ", "\n    2  ", "\n    3  ", ...
_LEADS_KEPT = 20_000  # lines numbered from the table; a longer file's rest are made anew


def numbered(text: str) -> str:
    """`text` with each line (`str.splitlines`) led by its number, lines joined by `\\n`."""
    lines = text.splitlines()
    leads = _leads(len(lines))  # as many as the lines, or more
    return "".join(itertools.chain.from_iterable(zip(leads, lines, strict=False)))


def _leads(count: int) -> Iterable[str]:
    for n in range(len(_LEADS) + 1, min(count, _LEADS_KEPT) + 1):
        _LEADS.append(f"{n:>5}  " if n == 1 else f"\n{n:>5}  ")
    if count <= len(_LEADS):
        return _LEADS
    rest = (f"\n{n:>5}  " for n in range(len(_LEADS) + 1, count + 1))
    return itertools.chain(_LEADS, rest)
