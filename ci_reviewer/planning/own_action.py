"""Whether a checkout is this action's own repository, where `uses: ./` runs ci-reviewer.

In any other repository `uses: ./` runs that repository's own action: actions/checkout's
self-tests are `uses: ./` steps that check out code, not reviews. The root `action.yml`
says which action lives there; its `name` is the identity GitHub's marketplace uses too.
"""

from __future__ import annotations

from pathlib import Path

from ci_reviewer.config_yaml import load_yaml
from ci_reviewer.errors import ConfigError

ACTION_NAME = "Claude CI Reviewer"  # the `name:` of this repository's action.yml
_METADATA = ("action.yml", "action.yaml")  # GitHub reads either, in this order


def is_own_repository(workdir: Path) -> bool:
    """True when the root action metadata declares this action."""
    for name in _METADATA:
        path = workdir / name
        if path.is_file():
            return _declared_name(path) == ACTION_NAME
    return False


def _declared_name(path: Path) -> str | None:
    try:
        data, _ = load_yaml(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name.strip() if isinstance(name, str) else None
