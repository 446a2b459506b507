"""Freeze windows (time zones, DST, overnight, back-to-back) and the override trailer."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from smgitops.declaration.freeze import FreezeWindow
from smgitops.rollout.freeze import check, frozen, opens_at, override, trailers

PARIS = ZoneInfo("Europe/Paris")


def window(**fields: Any) -> FreezeWindow:
    return FreezeWindow.model_validate({"timezone": "Europe/Paris", **fields})


def at(year: int, month: int, day: int, hour: int, minute: int = 0, *, tz: Any = PARIS) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=tz).timestamp()


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


WEEKEND = window(days=["fri"], start="18:00", end="08:00", reason="weekend")


@pytest.mark.parametrize(
    "moment, is_frozen",
    [
        (at(2024, 6, 14, 17, 59), False),  # Friday, before
        (at(2024, 6, 14, 18, 0), True),  # Friday 18:00 sharp
        (at(2024, 6, 15, 7, 59), True),  # Saturday morning: the overnight part
        (at(2024, 6, 15, 8, 0), False),  # Saturday 08:00: open
        (at(2024, 6, 13, 19, 0), False),  # Thursday evening: not a freeze day
        (at(2024, 6, 14, 7, 0), False),  # Friday morning: Thursday did not start a window
    ],
)
def test_overnight_window(moment: float, is_frozen: bool) -> None:
    assert (frozen([WEEKEND], moment) is not None) is is_frozen


def test_windows_follow_wall_clock_across_daylight_saving_time() -> None:
    # 18:00 in Paris is 16:00 UTC in summer and 17:00 UTC in winter.
    summer = datetime(2024, 6, 14, 16, 30, tzinfo=UTC).timestamp()
    winter = datetime(2024, 12, 13, 16, 30, tzinfo=UTC).timestamp()
    assert frozen([WEEKEND], summer) is WEEKEND
    assert frozen([WEEKEND], winter) is None
    assert utc(opens_at([WEEKEND], summer) or 0) == "2024-06-15 06:00:00"
    assert utc(opens_at([WEEKEND], winter + 3600) or 0) == "2024-12-14 07:00:00"


def test_a_window_over_the_autumn_change_lasts_one_hour_more() -> None:
    # Paris leaves summer time on Sunday 2024-10-27 at 03:00 (back to 02:00).
    night = window(days=["sat"], start="22:00", end="06:00")
    start = at(2024, 10, 26, 22, 0)
    assert utc(start) == "2024-10-26 20:00:00"
    assert utc(opens_at([night], start) or 0) == "2024-10-27 05:00:00"  # 9 hours later


def test_a_window_ending_inside_the_spring_gap_ends_at_the_change() -> None:
    # 2024-03-31 02:00 → 03:00 in Paris: 02:30 does not exist; the clock reaches it at 01:00 UTC.
    early = window(days=["sun"], start="00:00", end="02:30")
    inside = at(2024, 3, 31, 1, 30)
    assert frozen([early], inside) is early
    assert utc(opens_at([early], inside) or 0) == "2024-03-31 01:00:00"
    assert frozen([early], datetime(2024, 3, 31, 1, 0, tzinfo=UTC).timestamp()) is None
    assert frozen([early], datetime(2024, 3, 31, 0, 59, tzinfo=UTC).timestamp()) is early


def test_the_same_instant_in_different_time_zones() -> None:
    tokyo_office = FreezeWindow(
        timezone="Asia/Tokyo", days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00"
    )
    new_york_office = tokyo_office.model_copy(update={"timezone": "America/New_York"})
    moment = datetime(2024, 6, 12, 2, 0, tzinfo=UTC).timestamp()  # 11:00 Tokyo, 22:00 New York
    assert frozen([tokyo_office], moment) is tokyo_office
    assert frozen([new_york_office], moment) is None


def test_back_to_back_windows_are_followed_to_their_end() -> None:
    windows = [
        window(days=["fri"], start="18:00", end="00:00"),
        window(days=["sat"], start="00:00", end="00:00"),  # 24 hours
        window(days=["sun"], start="00:00", end="08:00"),
    ]
    friday = at(2024, 6, 14, 19, 0)
    assert datetime.fromtimestamp(opens_at(windows, friday) or 0, PARIS) == datetime(
        2024, 6, 16, 8, 0, tzinfo=PARIS
    )
    assert opens_at(windows, at(2024, 6, 14, 12, 0)) is None


def test_a_freeze_that_never_opens() -> None:
    always = window(start="00:00", end="00:00")
    moment = at(2024, 6, 14, 12, 0)
    assert opens_at([always], moment) == math.inf
    result = check([always], moment)
    assert result.waits
    assert result.wait_seconds(moment) == 3600
    assert "until further notice" in result.reason


def test_check_reports_the_reason_the_end_and_the_override() -> None:
    friday = at(2024, 6, 14, 19, 0)
    held = check([WEEKEND], friday, "Retrain churn model")
    assert held.waits
    assert (
        held.reason == "frozen: weekend (fri 18:00-08:00 Europe/Paris) until 2024-06-15 06:00 UTC"
    )
    assert held.wait_seconds(friday) == 3600  # capped: the engine looks again every hour
    assert held.wait_seconds(at(2024, 6, 15, 7, 30)) == 1800
    released = check([WEEKEND], friday, "Hotfix\n\nDeploy-Override: incident 4711")
    assert not released.waits
    assert released.override == "incident 4711"
    assert released.reason.endswith("overridden by the commit: incident 4711")
    assert not check([WEEKEND], at(2024, 6, 14, 12, 0)).waits


# --- the override trailer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message, reason",
    [
        ("Hotfix\n\nDeploy-Override: incident 4711\n", "incident 4711"),
        ("Hotfix\n\nbody text\n\ndeploy-override:   urgent  ", "urgent"),
        ("Hotfix\r\n\r\nDeploy-Override: windows line ends\r\n", "windows line ends"),
        (
            "Hotfix\n\nSigned-off-by: A <a@example.com>\nDeploy-Override: long\n  reason here",
            "long reason here",
        ),
        ("Hotfix\n\nDeploy-Override: first\nDeploy-Override: second", "second"),
        ("Fix\n\nDeploy-Override: picked\n(cherry picked from commit abc123)", "picked"),
        ("Deploy-Override: only a subject line", None),
        ("Hotfix\n\nDeploy-Override: not last\n\nMore prose after it.", None),
        ("Hotfix\n\nSome prose here.\nDeploy-Override: inside prose", None),
        ("Hotfix\n\nDeploy-Override:", None),
        ("Hotfix\n\nDeploy-Override-Later: no", None),
        ("", None),
    ],
)
def test_override_trailer(message: str, reason: str | None) -> None:
    assert override(message) == reason


def test_trailers_keep_keys_and_order() -> None:
    message = "Subject\n\nBody.\n\nReviewed-by: B\nDeploy-Override : spaced key"
    assert trailers(message) == [("Reviewed-by", "B"), ("Deploy-Override", "spaced key")]


# --- the freeze: setting ------------------------------------------------------------------------


def test_freeze_window_defaults() -> None:
    parsed = FreezeWindow.model_validate({"start": "18:00", "end": "08:00"})
    assert parsed.timezone == "UTC"
    assert parsed.days == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert parsed.overnight
    assert parsed.describe() == "daily 18:00-08:00 UTC"
    assert not window(start="08:00", end="18:00").overnight


@pytest.mark.parametrize(
    "data, message",
    [
        ({"timezone": "Mars/Olympus", "start": "01:00", "end": "02:00"}, "time zone"),
        ({"timezone": "../etc", "start": "01:00", "end": "02:00"}, "time zone"),
        ({"timezone": "Europe", "start": "01:00", "end": "02:00"}, "time zone"),
        ({"start": "24:00", "end": "02:00"}, "HH:MM"),
        ({"start": "7:00", "end": "08:00"}, "HH:MM"),
        ({"days": ["mon", "mon"], "start": "07:00", "end": "08:00"}, "once"),
        ({"days": ["monday"], "start": "07:00", "end": "08:00"}, "mon"),
        ({"days": [], "start": "07:00", "end": "08:00"}, "at least 1"),
        ({"start": "07:00"}, "end"),
        ({"start": "07:00", "end": "08:00", "tz": "UTC"}, "Extra inputs"),
    ],
)
def test_freeze_window_rejects(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FreezeWindow.model_validate(data)
