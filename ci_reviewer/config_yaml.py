"""YAML loading that remembers where every key and value came from, so that a validation
error can name the file, line and column a user has to fix."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ci_reviewer.errors import ConfigError, Location

Path_ = tuple[str | int, ...]
# Aliases are expanded as they are read: a few lines of nested `*refs` can name billions of
# nodes ("billion laughs"). No workflow or config comes near this many.
MAX_NODES = 200_000


@dataclass
class Marks:
    """Source positions by path into the document: where each key and each value sits."""

    file: str
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_, prefer_key: bool = False) -> Location:
        """The closest known position for `path`, walking up to a parent when needed."""
        probe = tuple(path)
        while True:
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for source in table:
                if probe in source:
                    line, column = source[probe]
                    return Location(self.file, line, column)
            if not probe:
                return Location(self.file)
            probe = probe[:-1]


def load_yaml(text: str, file: str) -> tuple[Any, Marks]:
    """Parse YAML into plain data and the marks of every key and value (1-based)."""
    marks = Marks(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = error.problem or error.context or "invalid YAML"
        raise ConfigError(
            f"YAML syntax error: {problem}",
            where,
            hint="fix the YAML at that position (indentation, quotes, a missing colon)",
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"YAML error: {error}", Location(file)) from None
    if node is None:
        return None, marks
    try:
        return _construct(node, (), marks), marks
    except yaml.MarkedYAMLError as error:  # an unknown tag, bad base64 after !!binary
        mark = error.problem_mark or error.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = error.problem or error.context or "a value YAML cannot read"
        raise ConfigError(
            f"YAML error: {problem}", where, hint="remove the tag or fix the value there"
        ) from None
    except RecursionError:
        raise ConfigError(
            "YAML error: an alias refers to the node that holds it (it never ends)",
            Location(file),
            hint="replace the `*alias` inside its own `&anchor` with the value",
        ) from None


def _construct(node: yaml.Node, path: Path_, marks: Marks) -> Any:
    marks.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if len(marks.values) > MAX_NODES:
        raise ConfigError(
            f"YAML error: more than {MAX_NODES:,} values (aliases expanding into each other?)",
            _at(marks.file, node.start_mark),
            hint="write the values out instead of nesting `*aliases`",
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _complex_key(key_node, marks.file)
            key = _scalar(key_node, marks.file)
            if not isinstance(key, str):
                # YAML 1.1 reads `on`, `yes`, `no` as booleans; config keys are always text.
                key = key_node.value
            child = (*path, key)
            if key in result:
                line = key_node.start_mark.line + 1
                raise ConfigError(
                    f"duplicate key {key!r}",
                    Location(marks.file, line, key_node.start_mark.column + 1),
                    hint="remove one of the two entries",
                )
            marks.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _construct(value_node, child, marks)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), marks) for i, item in enumerate(node.value)]
    return _scalar(node, marks.file)


def _complex_key(node: yaml.Node, file: str) -> ConfigError:
    """A key that is itself a mapping or a list. `key: {{ name }}` (a template placeholder
    left in, or an expression missing its `$`) reads as a mapping whose key is a mapping."""
    if isinstance(node, yaml.SequenceNode):
        return ConfigError(
            "YAML error: a list used as a key", _at(file, node.start_mark), hint="quote the key"
        )
    return ConfigError(
        "YAML error: a mapping used as a key; `{{ ... }}` without a `$` is a template "
        "placeholder, not a GitHub expression",
        _at(file, node.start_mark),
        hint="replace the placeholder with a value, write the expression as `${{ ... }}`, "
        "or quote it",
    )


def _at(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _scalar(node: yaml.Node, file: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return node.value
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as error:  # a timestamp that is no date: `2001-02-30`
        raise ConfigError(
            f"YAML error: {node.value!r} reads as a date but is none ({error})",
            _at(file, node.start_mark),
            hint="quote the value to keep it as text",
        ) from None
    finally:
        loader.dispose()
