"""Grounded findings and suggestions that apply, end to end: the model (the Claude emulator)
answers findings quoting code, the review runs through `run_github_review` with the real
SDKs, and the test reads what the emulated GitHub holds."""

from __future__ import annotations

from typing import Any

from tests.github.test_review_fixtures import World, numbered, world

__all__ = ["world"]

# app.py on the branch: line 5 changed, line 30 removed (two hunks: around 5, around 30).
BRANCH_APP = numbered({5: "eval(input())"}).replace("line 30\n", "")


def inline(world: World, number: int) -> dict[str, dict[str, Any]]:
    """The inline comments by the first line of their body (the finding's title)."""
    return {c["body"].split("\n")[0]: c for c in world.comments(number)}


def test_a_finding_quoting_code_that_is_not_there_is_dropped_and_counted(world: World) -> None:
    world.push({"app.py": BRANCH_APP})
    number = world.open_pr()
    world.findings(
        "app.py",
        {"line": 5, "title": "eval of user input", "severity": "high"},
        {
            "line": 6,
            "title": "shell injection",
            "severity": "critical",
            "excerpt": "os.system(cmd)",
        },
    )

    outcome = world.run(number)

    [comment] = world.comments(number)
    assert comment["line"] == 5 and "eval of user input" in comment["body"]
    assert not any("shell injection" in r["body"] for r in world.reviews(number))
    summary = world.summaries(number)[0]["body"]
    assert "1 finding dropped: the code it quotes is not in the file" in summary
    assert "`app.py:6`: shell injection (the code it quotes is not in app.py near line 6)" in (
        summary
    )
    assert outcome.outputs["findings-dropped"] == "1"
    assert outcome.outputs["findings-count"] == "1"
    assert outcome.exit_code == 1  # the high finding blocks; the invented critical one is out
    assert outcome.result is not None
    document = outcome.result.to_json()
    assert document["dropped_findings"] == [
        {
            "path": "app.py",
            "line": 6,
            "severity": "critical",
            "title": "shell injection",
            "excerpt": "os.system(cmd)",
            "reason": "the code it quotes is not in app.py near line 6",
        }
    ]


def test_a_line_off_by_three_is_moved_to_the_code_it_quotes(world: World) -> None:
    world.push({"app.py": BRANCH_APP})
    number = world.open_pr()
    # Re-indented, with trailing blanks: indentation and runs of whitespace do not count.
    world.findings(
        "app.py",
        {"line": 8, "title": "eval", "severity": "low", "excerpt": "\teval(input())  "},
    )

    world.run(number)

    [comment] = world.comments(number)
    assert (comment["line"], comment["side"]) == (5, "RIGHT")


def test_an_excerpt_further_than_twenty_lines_away_is_not_grounded(world: World) -> None:
    world.push({"app.py": BRANCH_APP})
    number = world.open_pr()
    world.findings(
        "app.py",
        {"line": 26, "title": "eval far away", "severity": "low", "excerpt": "eval(input())"},
    )

    outcome = world.run(number)

    assert world.comments(number) == []
    assert outcome.outputs["findings-dropped"] == "1"


def test_a_finding_on_a_removed_line_sits_on_the_old_side(world: World) -> None:
    world.push({"app.py": BRANCH_APP})
    number = world.open_pr()
    world.findings(
        "app.py", {"line": 30, "title": "removed check", "severity": "low", "excerpt": "line 30"}
    )

    world.run(number)

    [comment] = world.comments(number)
    assert (comment["line"], comment["side"]) == (30, "LEFT")


def test_a_suggestion_across_two_hunks_is_posted_as_text(world: World) -> None:
    world.push({"app.py": BRANCH_APP})
    number = world.open_pr()
    world.findings(
        "app.py",
        {
            "line": 5,
            "end_line": 29,
            "title": "rewrite",
            "severity": "low",
            "suggestion": "safe()",
        },
    )

    world.run(number)

    [comment] = world.comments(number)
    assert comment["line"] == 5 and comment.get("start_line") is None
    assert "```suggestion" not in comment["body"]
    assert (
        "Suggested change not attached: lines 5-29 are not all added or context lines of one "
        "hunk of the diff." in comment["body"]
    )
    assert "safe()" in comment["body"]


CALC = "def add(a, b):\n    total = a - b\n    return total\n"


def test_a_multi_line_python_suggestion_that_parses_is_a_block_on_its_range(
    world: World,
) -> None:
    world.push({"calc.py": CALC})
    number = world.open_pr()
    world.findings(
        "calc.py",
        {
            "line": 2,
            "end_line": 3,
            "title": "subtracts",
            "severity": "low",
            "suggestion": "    total = a + b\n    return total",
        },
    )

    world.run(number)

    [comment] = world.comments(number)
    assert (comment["start_line"], comment["start_side"], comment["line"], comment["side"]) == (
        2,
        "RIGHT",
        3,
        "RIGHT",
    )
    assert "```suggestion\n    total = a + b\n    return total\n```" in comment["body"]


def test_a_python_suggestion_that_breaks_the_syntax_is_posted_as_text(world: World) -> None:
    world.push({"calc.py": CALC})
    number = world.open_pr()
    world.findings(
        "calc.py",
        {
            "line": 2,
            "title": "subtracts",
            "severity": "low",
            "suggestion": "    total = (a + b",
        },
    )

    world.run(number)

    [comment] = world.comments(number)
    assert "```suggestion" not in comment["body"]
    assert (
        "Suggested change not attached: the file would no longer parse as Python"
        in (comment["body"])
    )


def test_a_suggestion_identical_to_the_lines_is_posted_as_text(world: World) -> None:
    world.push({"calc.py": CALC})
    number = world.open_pr()
    world.findings(
        "calc.py",
        {"line": 2, "title": "same", "severity": "low", "suggestion": "    total = a - b"},
    )

    world.run(number)

    [comment] = world.comments(number)
    assert "```suggestion" not in comment["body"]
    assert "Suggested change not attached: it is identical to line 2." in comment["body"]


def test_a_suggestion_indenting_with_spaces_in_a_tab_indented_file_is_posted_as_text(
    world: World,
) -> None:
    world.push({"Makefile": "build:\n\tcc -o app app.c\n\tstrip app\n"})
    number = world.open_pr()
    world.findings(
        "Makefile",
        {"line": 2, "title": "flags", "severity": "low", "suggestion": "    cc -O2 -o app app.c"},
    )

    world.run(number)

    [comment] = world.comments(number)
    assert "```suggestion" not in comment["body"]
    assert (
        "Suggested change not attached: its first line has 4 spaces where the code has 1 tab."
        in comment["body"]
    )


def test_a_tab_indented_suggestion_that_keeps_the_tab_is_a_block(world: World) -> None:
    world.push({"Makefile": "build:\n\tcc -o app app.c\n\tstrip app\n"})
    number = world.open_pr()
    world.findings(
        "Makefile",
        {"line": 2, "title": "flags", "severity": "low", "suggestion": "\tcc -O2 -o app app.c"},
    )

    world.run(number)

    [comment] = world.comments(number)
    assert "```suggestion\n\tcc -O2 -o app app.c\n```" in comment["body"]
