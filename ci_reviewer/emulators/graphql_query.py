"""A small reader of GraphQL documents for the GitHub emulator: one operation (query or
mutation) with variables, fields with aliases and arguments, nested selections.

It reads what clients send for the operations the emulator answers; it is no validator.
The test suite checks every document sent to an emulator against GitHub's published schema
(tests/emulators/graphql_schema.py), so the emulator need not know the schema. Fragments and
directives are refused with a syntax error (the product sends none).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<name>[_A-Za-z][_0-9A-Za-z]*)
    |(?P<punct>\.\.\.|[!$():=@\[\]{}|&])
    """,
    re.VERBOSE,
)


class GraphQLSyntaxError(ValueError):
    """A document this reader cannot read; `line`/`column` where it stopped."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Field:
    name: str
    alias: str | None = None
    arguments: tuple[tuple[str, Any], ...] = ()  # values: Python values or Variable
    selections: tuple[Field, ...] = ()
    line: int = 1
    column: int = 1

    @property
    def key(self) -> str:
        """The name this field has in the answer."""
        return self.alias or self.name

    def argument(self, name: str, variables: dict[str, Any], default: Any = None) -> Any:
        for key, value in self.arguments:
            if key == name:
                return resolve(value, variables)
        return default


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Operation:
    kind: str  # "query" | "mutation"
    name: str | None
    variables: tuple[str, ...]
    selections: tuple[Field, ...] = field(default=())


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """An argument's value with its variables filled in."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    return value


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str, int, int]] = []
        position = 0
        while position < len(text):
            found = _TOKEN.match(text, position)
            if found is None:
                line, column = _where(text, position)
                raise GraphQLSyntaxError(f"Unexpected character {text[position]!r}", line, column)
            kind = found.lastgroup or ""
            if kind != "skip":
                line, column = _where(text, position)
                self.tokens.append((kind, found.group(), line, column))
            position = found.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int, int]:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        last = self.tokens[-1] if self.tokens else ("", "", 1, 1)
        return ("end", "", last[2], last[3])

    def take(self, text: str | None = None, kind: str | None = None) -> str:
        token_kind, token, line, column = self.peek()
        if (text is not None and token != text) or (kind is not None and token_kind != kind):
            wanted = text or kind
            raise GraphQLSyntaxError(f"Expected {wanted}, found {token or 'end'}", line, column)
        self.index += 1
        return token

    def at(self, text: str) -> bool:
        return self.peek()[1] == text


def _where(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def parse(text: str) -> Operation:
    """The one operation of `text`."""
    reader = _Reader(text)
    kind, name = "query", None
    variables: tuple[str, ...] = ()
    if reader.peek()[1] in ("query", "mutation"):
        kind = reader.take()
        if reader.peek()[0] == "name":
            name = reader.take()
        if reader.at("("):
            variables = _variable_definitions(reader)
    selections = _selections(reader)
    if reader.peek()[0] != "end":
        _, token, line, column = reader.peek()
        raise GraphQLSyntaxError(f"Expected end of document, found {token}", line, column)
    return Operation(kind, name, variables, selections)


def _variable_definitions(reader: _Reader) -> tuple[str, ...]:
    names = []
    reader.take("(")
    while not reader.at(")"):
        reader.take("$")
        names.append(reader.take(kind="name"))
        reader.take(":")
        _type(reader)
        if reader.at("="):
            reader.take("=")
            _value(reader)
    reader.take(")")
    return tuple(names)


def _type(reader: _Reader) -> None:
    if reader.at("["):
        reader.take("[")
        _type(reader)
        reader.take("]")
    else:
        reader.take(kind="name")
    if reader.at("!"):
        reader.take("!")


def _selections(reader: _Reader) -> tuple[Field, ...]:
    reader.take("{")
    fields = []
    while not reader.at("}"):
        fields.append(_field(reader))
    reader.take("}")
    if not fields:
        _, _, line, column = reader.peek()
        raise GraphQLSyntaxError("Expected a field, found }", line, column)
    return tuple(fields)


def _field(reader: _Reader) -> Field:
    _, _, line, column = reader.peek()
    if reader.at("...") or reader.at("@"):
        raise GraphQLSyntaxError("Fragments and directives are not emulated", line, column)
    name, alias = reader.take(kind="name"), None
    if reader.at(":"):
        reader.take(":")
        alias, name = name, reader.take(kind="name")
    arguments: list[tuple[str, Any]] = []
    if reader.at("("):
        reader.take("(")
        while not reader.at(")"):
            key = reader.take(kind="name")
            reader.take(":")
            arguments.append((key, _value(reader)))
        reader.take(")")
    selections = _selections(reader) if reader.at("{") else ()
    return Field(name, alias, tuple(arguments), selections, line, column)


def _value(reader: _Reader) -> Any:
    kind, text, line, column = reader.peek()
    if text == "$":
        reader.take("$")
        return Variable(reader.take(kind="name"))
    if text == "[":
        reader.take("[")
        items = []
        while not reader.at("]"):
            items.append(_value(reader))
        reader.take("]")
        return items
    if text == "{":
        reader.take("{")
        members = {}
        while not reader.at("}"):
            key = reader.take(kind="name")
            reader.take(":")
            members[key] = _value(reader)
        reader.take("}")
        return members
    reader.take()
    if kind == "string":
        return json.loads(text)
    if kind == "number":
        return float(text) if any(c in text for c in ".eE") else int(text)
    if kind == "name":
        return {"true": True, "false": False, "null": None}.get(text, text)
    raise GraphQLSyntaxError(f"Unexpected {text}", line, column)
