"""Can a job's or step's `if:` be true on a given event? GitHub's expression language, read
only as far as that question needs.

`github.event_name` (and `github.event.schedule`, the cron that fired) is known; every other
context, and any function whose answer depends on the run, is unknown. Unknown stays unknown
through `!` and comparisons, and `&&` / `||` decide only when a known side decides: so an
`if:` is "false" here only when it is false whatever the unknown parts hold. Anything this
module cannot read counts as "may run": a check must not pass because a condition was odd.
Strings compare case-insensitively and mixed types compare as numbers, as GitHub does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[!<>()\[\].,*])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_WHOLE = re.compile(r"^\s*\$\{\{(?P<body>.*)\}\}\s*$", re.DOTALL)


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class _Unreadable(Exception):
    """The expression is outside what this module reads."""


def may_run(condition: object, event: str, schedule: str | None = None) -> bool:
    """False only when `condition` (an `if:` value) is certainly false on `event`; for a
    `schedule` event, `schedule` is the cron that fired."""
    if condition is None or isinstance(condition, bool):
        return condition is not False
    if not isinstance(condition, str):
        return _truthy(condition) is not False
    text = condition
    whole = _WHOLE.match(text)
    if whole and "${{" not in whole.group("body"):
        text = whole.group("body")
    elif "${{" in text:
        return True  # text around `${{ }}` is a non-empty string: always true on GitHub
    github = {
        "event_name": event,
        "event": _Partial({"schedule": schedule if event == "schedule" else None}),
    }
    try:
        value = _Parser(text, {"github": _Partial(github)}).parse()
    except (_Unreadable, RecursionError):
        return True
    return _truthy(value) is not False


class _Partial:
    """A context of which some properties are known and the rest unknown."""

    def __init__(self, known: Mapping[str, Any]) -> None:
        self.known = {key.casefold(): value for key, value in known.items()}

    def get(self, name: str) -> Any:
        return self.known.get(name.casefold(), UNKNOWN)


class _Parser:
    """Precedence, loosest first: `||`, `&&`, `==` `!=`, `<` `<=` `>` `>=`, `!`, access."""

    def __init__(self, text: str, contexts: Mapping[str, Any]) -> None:
        self.tokens = _tokenize(text)
        self.at = 0
        self.contexts = contexts

    def parse(self) -> Any:
        value = self._or()
        if self.at != len(self.tokens):
            raise _Unreadable
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens) or (expected and self.tokens[self.at][1] != expected):
            raise _Unreadable
        self.at += 1
        return self.tokens[self.at - 1]

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            value = _either(value, self._and())
        return value

    def _and(self) -> Any:
        value = self._equality()
        while self._peek() == "&&":
            self._take()
            value = _both(value, self._equality())
        return value

    def _equality(self) -> Any:
        value = self._order()
        while self._peek() in {"==", "!="}:
            negate = self._take()[1] == "!="
            same = _equal(value, self._order())
            value = same if same is UNKNOWN or not negate else not same
        return value

    def _order(self) -> Any:
        value = self._unary()
        while self._peek() in {"<", "<=", ">", ">="}:
            value = _compare(self._take()[1], value, self._unary())
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            truth = _truthy(self._unary())
            return UNKNOWN if truth is None else not truth
        return self._access()

    def _access(self) -> Any:
        value = self._primary()
        while self._peek() in {".", "["}:
            if self._take()[1] == ".":
                kind, name = self._take()
                value = UNKNOWN if kind != "name" else _property(value, name)
            else:
                index = self._or()
                self._take("]")
                value = _property(value, index) if isinstance(index, str) else UNKNOWN
        return value

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        if text == "(":
            value = self._or()
            self._take(")")
            return value
        if kind == "op":
            raise _Unreadable
        if text in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[text]
        if self._peek() == "(":
            return self._call(text)
        return self.contexts.get(text.casefold(), UNKNOWN)

    def _call(self, name: str) -> Any:
        self._take("(")
        args = []
        while self._peek() != ")":
            args.append(self._or())
            if self._peek() == ",":
                self._take()
        self._take(")")
        function = _FUNCTIONS.get(name.casefold())
        if function is None or any(arg is UNKNOWN for arg in args):
            return UNKNOWN
        return function(*args)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    at = 0
    while text[at:].strip():
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise _Unreadable
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        at = match.end()
    return tokens


def _property(value: Any, name: str) -> Any:
    if isinstance(value, _Partial):
        return value.get(name)
    if isinstance(value, dict):
        return {str(k).casefold(): v for k, v in value.items()}.get(name.casefold())
    return UNKNOWN if value is UNKNOWN else None


def _truthy(value: Any) -> bool | None:
    if value is UNKNOWN or isinstance(value, _Partial):
        return None if value is UNKNOWN else True
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    return value not in (None, False, "")


def _either(left: Any, right: Any) -> Any:
    truth = _truthy(left)
    if truth is None:
        return True if _truthy(right) is True else UNKNOWN
    return left if truth else right


def _both(left: Any, right: Any) -> Any:
    truth = _truthy(left)
    if truth is None:
        return False if _truthy(right) is False else UNKNOWN
    return right if truth else left


def _number(value: Any) -> float:
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip() or "0")
        except ValueError:
            return math.nan
    return math.nan


def _equal(left: Any, right: Any) -> Any:
    if UNKNOWN in (left, right) or isinstance(left, _Partial) or isinstance(right, _Partial):
        return UNKNOWN
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, (dict, list)):
        return left == right
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return UNKNOWN
    return _number(left) == _number(right)


def _compare(op: str, left: Any, right: Any) -> Any:
    if UNKNOWN in (left, right):
        return UNKNOWN
    if isinstance(left, str) and isinstance(right, str):
        a: Any = left.casefold()
        b: Any = right.casefold()
    else:
        a, b = _number(left), _number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _contains(search: Any, item: Any) -> Any:
    if isinstance(search, list):
        found = [_equal(entry, item) for entry in search]
        return True if True in found else (UNKNOWN if UNKNOWN in found else False)
    if isinstance(search, str) and isinstance(item, str):
        return item.casefold() in search.casefold()
    return UNKNOWN


def _from_json(text: Any) -> Any:
    try:
        value = json.loads(text) if isinstance(text, str) else UNKNOWN
    except ValueError:
        return UNKNOWN
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _affix(test: Callable[[str, str], bool]) -> Callable[[Any, Any], Any]:
    def check(text: Any, part: Any) -> Any:
        if isinstance(text, str) and isinstance(part, str):
            return test(text.casefold(), part.casefold())
        return UNKNOWN

    return check


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": _affix(str.startswith),
    "endswith": _affix(str.endswith),
    "fromjson": _from_json,
    # The job's status does not depend on the event; only "can it be true" is asked.
    "success": lambda: True,
    "always": lambda: True,
}
