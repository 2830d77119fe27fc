"""YAML loading that remembers where every key and value came from, so that a validation
error can name the file, line and column a user has to fix."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ci_reviewer.errors import ConfigError, Location

Path_ = tuple[str | int, ...]


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
    return _construct(node, (), marks), marks


def _construct(node: yaml.Node, path: Path_, marks: Marks) -> Any:
    marks.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
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
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return node.value
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
