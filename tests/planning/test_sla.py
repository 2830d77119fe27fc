from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ci_reviewer.planning.sla import BatchCannotMeetSla, SlaTerms, plan_submissions
from tests.planning.conftest import Outcome

# (SLA hours, poll, margin) -> submission interval and cron. 24 h processing throughout.
SLA_TABLE = [
    (30, 1, 1, 4, "0 */4 * * *"),
    (27, 1, 1, 1, "0 * * * *"),
    (28, 1, 1, 2, "0 */2 * * *"),
    (29, 1, 1, 3, "0 */3 * * *"),
    (31, 1, 1, 4, "0 */4 * * *"),
    (32, 1, 1, 6, "0 */6 * * *"),
    (34, 1, 1, 8, "0 */8 * * *"),
    (37.5, 1, 1, 8, "0 */8 * * *"),
    (38, 1, 1, 12, "0 */12 * * *"),
    (48, 1, 1, 12, "0 */12 * * *"),
    (50, 1, 1, 24, "0 0 * * *"),
    (168, 1, 1, 24, "0 0 * * *"),
    (30, 0.25, 0.5, 4, "0 */4 * * *"),
    (30, 2, 2, 2, "0 */2 * * *"),
]


@pytest.mark.parametrize(("sla", "poll", "margin", "interval", "cron"), SLA_TABLE)
def test_sla_table(sla: float, poll: float, margin: float, interval: int, cron: str) -> None:
    plan = plan_submissions(SlaTerms(sla, poll, margin))
    assert plan.interval_hours == interval
    assert plan.cron == cron
    assert plan.worst_case_hours + margin <= sla


@pytest.mark.parametrize(
    ("sla", "poll", "margin"), [(26, 1, 1), (24, 1, 1), (12, 1, 1), (26.9, 1, 1), (30, 4, 2)]
)
def test_slas_batch_cannot_meet(sla: float, poll: float, margin: float) -> None:
    with pytest.raises(BatchCannotMeetSla) as raised:
        plan_submissions(SlaTerms(sla, poll, margin))
    assert raised.value.exit_code == 2
    assert "api: sync" in str(raised.value)


def test_sla_json_has_exactly_the_contract_keys(run_cli: Callable[..., Outcome]) -> None:
    done = run_cli("sla", "--hours", "30", "--format", "json")
    assert done.code == 0
    data = json.loads(done.out)
    assert set(data) == {"sla_hours", "interval_hours", "cron", "worst_case_hours", "breakdown"}
    assert data["interval_hours"] == 4
    assert data["cron"] == "0 */4 * * *"
    assert data["worst_case_hours"] == sum(
        v for k, v in data["breakdown"].items() if k != "margin_hours"
    )
    assert done.err == ""


def test_sla_text_shows_cron_verbatim(run_cli: Callable[..., Outcome]) -> None:
    done = run_cli("sla", "--hours", "30")
    assert done.code == 0
    assert "0 */4 * * *" in done.out
    assert "4 h" in done.out


def test_sla_options_change_the_interval(run_cli: Callable[..., Outcome]) -> None:
    done = run_cli(
        "sla",
        "--hours",
        "40",
        "--poll-hours",
        "3",
        "--margin-hours",
        "2",
        "--processing-hours",
        "20",
        "--format",
        "json",
    )
    assert json.loads(done.out)["interval_hours"] == 12


def test_unmeetable_sla_exits_2_with_reason_and_sync_alternative(
    run_cli: Callable[..., Outcome],
) -> None:
    done = run_cli("sla", "--hours", "26", "--format", "json")
    assert done.code == 2
    assert done.out == ""
    assert "batch cannot meet an SLA of 26 h" in done.err
    assert "at least 27 h" in done.err
    assert "synchronous" in done.err


def test_negative_poll_is_usage_error(run_cli: Callable[..., Outcome]) -> None:
    done = run_cli("sla", "--hours", "30", "--poll-hours", "-1")
    assert done.code == 2
    assert done.out == ""


@pytest.mark.parametrize("option", ["--config", "--model", "--repo"])
def test_sla_offers_no_option_it_would_ignore(run_cli: Callable[..., Outcome], option: str) -> None:
    done = run_cli("sla", "--hours", "30", option, "x")
    assert done.code == 2
    assert f"No such option '{option}'" in done.err
    assert option not in run_cli("sla", "--help").out
