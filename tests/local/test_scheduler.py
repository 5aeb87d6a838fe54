"""Schedule expressions as EventBridge reads them: rate(...) and six-field cron(...) in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.local.clock import Clock
from infra.local.scheduler import Cron, ScheduleError, Scheduler, parse_rate
from infra.wiring import WIRING, with_sweep_interval


def test_rate_uses_the_singular_unit_for_one_and_the_plural_otherwise() -> None:
    assert parse_rate("rate(5 minutes)") == timedelta(minutes=5)
    assert parse_rate("rate(1 hour)") == timedelta(hours=1)
    assert parse_rate("cron(0 * * * ? *)") is None
    with pytest.raises(ScheduleError):
        parse_rate("rate(1 minutes)")


def test_cron_finds_the_next_weekday_morning() -> None:
    # 08:30 UTC Monday to Friday; 2024-06-07 is a Friday
    cron = Cron.parse("30 8 ? * MON-FRI *")
    assert cron.next_after(datetime(2024, 6, 7, 9, 0, tzinfo=UTC)) == datetime(2024, 6, 10, 8, 30, tzinfo=UTC)
    assert cron.next_after(datetime(2024, 6, 10, 8, 0, tzinfo=UTC)) == datetime(
        2024, 6, 10, 8, 30, tzinfo=UTC
    )


def test_cron_steps_and_day_of_month() -> None:
    cron = Cron.parse("0/15 * 1 * ? *")
    assert cron.next_after(datetime(2024, 1, 31, 23, 59, tzinfo=UTC)) == datetime(
        2024, 2, 1, 0, 0, tzinfo=UTC
    )
    assert cron.next_after(datetime(2024, 2, 1, 0, 0, tzinfo=UTC)) == datetime(2024, 2, 1, 0, 15, tzinfo=UTC)


def test_cron_needs_one_question_mark_and_six_fields() -> None:
    with pytest.raises(ScheduleError):
        Cron.parse("0 8 * * * *")
    with pytest.raises(ScheduleError):
        Cron.parse("0 8 * * ?")


class _Recorder:
    def __init__(self) -> None:
        self.invoked: list[str] = []

    def invoke(self, function: str, event: dict[str, object]) -> None:
        self.invoked.append(function)


def test_the_catch_up_sweep_fires_at_the_interval_the_deployment_chose() -> None:
    # given the sweep set to every 5 minutes instead of the default 15
    clock, recorder = Clock(fast_forward=True), _Recorder()
    scheduler = Scheduler(
        with_sweep_interval(WIRING, 5), recorder, clock, rule_arns={}, account_id="1", region="us-east-1"
    )
    # when 10 minutes pass, 5 at a time
    for _ in range(2):
        clock.advance(5 * 60)
        scheduler.tick()
    # then it swept twice (the 15-minute default would not have swept yet)
    assert recorder.invoked.count("account_sweep") == 2
