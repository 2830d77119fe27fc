"""The adapters (github/, claude.py) publish and fetch records; they know neither the CLI nor
the review engine nor the flows that tie the two together. Read from the source, so an import
inside a function or under TYPE_CHECKING counts as much as one at the top."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ci_reviewer

PACKAGE = Path(ci_reviewer.__file__).parent
FORBIDDEN = ("ci_reviewer.cli", "ci_reviewer.review.engine", "ci_reviewer.flows")


def _adapters() -> list[Path]:
    return [*sorted((PACKAGE / "github").glob("*.py")), PACKAGE / "claude.py"]


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from ci_reviewer import cli` imports ci_reviewer.cli as much as `import` does.
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str) -> bool:
    return any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)


def test_adapters_import_neither_the_cli_nor_the_engine_nor_the_flows() -> None:
    offences = {
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in _adapters()
        for name in _imported(path)
        if _forbidden(name)
    }
    assert offences == set()


def test_the_check_reads_every_adapter_module() -> None:
    # The review publishers and the Claude client are among them: an empty or wrong glob
    # would pass the test above for nothing.
    names = {path.name for path in _adapters()}
    assert {"claude.py", "publish_review.py", "summary.py", "client.py"} <= names


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ci_reviewer import flows\n"
        "def f():\n    from ci_reviewer.review.engine import run_review\n"
        "    import ci_reviewer.cli.review\n"
    )
    found = {name for name in _imported(module) if _forbidden(name)}
    assert found == {
        "ci_reviewer.flows",
        "ci_reviewer.review.engine",
        "ci_reviewer.review.engine.run_review",
        "ci_reviewer.cli.review",
    }


def test_reading_a_pull_request_does_not_wait_for_the_claude_sdk() -> None:
    # The review on GitHub reads the pull request (flow, publishers, PyGithub) while the SDK,
    # most of the start-up, loads on a thread: nothing on the reading side may import it.
    code = (
        "import sys\n"
        "import github, ci_reviewer.flows.review_pr, ci_reviewer.github.review_source\n"
        "print(sorted(m for m in ('anthropic', 'ci_reviewer.review.engine') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
