from __future__ import annotations

import pytest

from ci_reviewer.planning.cron import CronError, longest_gap_together, parse_schedule
from ci_reviewer.planning.workflows import parse_cli_arguments, parse_triggers


@pytest.mark.parametrize(
    ("cron", "longest", "shortest"),
    [
        ("0 */4 * * *", 4, 4),
        ("0 */5 * * *", 5, 4),  # 20:00 -> 00:00 is 4 h: real gaps, not the step
        ("0 */9 * * *", 9, 6),
        ("30 2 * * 1-5", 72, 24),  # Friday to Monday
        ("0 0 1 * *", 31 * 24, 28 * 24),
    ],
)
def test_real_gaps_between_firings(cron: str, longest: float, shortest: float) -> None:
    schedule = parse_schedule(cron)
    assert schedule.longest_gap_hours == longest
    assert schedule.shortest_gap.total_seconds() / 3600 == shortest


@pytest.mark.parametrize(
    ("crons", "longest"),
    [
        (("0 0 * * *", "0 12 * * *"), 12),
        (("0 2 * * *", "0 8 * * *"), 18),  # 02 -> 08 is 6 h, 08 -> 02 the next day 18 h
        (("0 0 * * *", "0 0 * * *"), 24),  # the same cron twice adds no run
        (("0 0 1 * *", "0 0 15 * *"), 17 * 24),  # 15 Jan -> 1 Feb
        # Every 5 minutes stops at the firing cap (about two weeks): the monthly cron next to
        # it must not open a gap past that cap.
        (("*/5 * * * *", "0 0 1 * *"), 5 / 60),
    ],
)
def test_longest_gap_of_several_crons_together(crons: tuple[str, ...], longest: float) -> None:
    assert longest_gap_together(crons).total_seconds() / 3600 == pytest.approx(longest)


@pytest.mark.parametrize("cron", ["@daily", "0 0 * * * *", "61 * * * *", "0 0 31 2 *"])
def test_schedules_github_would_not_run(cron: str) -> None:
    with pytest.raises(CronError):
        parse_schedule(cron)


def test_yaml_on_as_true_string_and_list() -> None:
    assert parse_triggers("push").events == ("push",)
    assert parse_triggers(["push", "pull_request"]).blocking_events(["main"]) == (
        "pull_request",
        "push",
    )
    ignored = parse_triggers({"push": {"branches-ignore": ["main"]}})
    assert ignored.blocking_events(["main"]) == ()


def test_cli_arguments_skip_global_options() -> None:
    words = ["--config", "x.yml", "--workdir", ".", "batch", "run", "--job", "nightly"]
    assert parse_cli_arguments(words) == ("batch run", "nightly")
    assert parse_cli_arguments(["review", "--fail-on", "high", "&&", "echo"]) == ("review", None)
