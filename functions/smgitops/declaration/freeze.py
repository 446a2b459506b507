"""The freeze windows of ``.smgitops.yaml`` (``freeze:``), as declared: :class:`FreezeWindow`,
for :class:`smgitops.reconcile.appconfig.AppConfig`, which owns that file. When a window is open
is :mod:`smgitops.rollout.freeze`."""

from __future__ import annotations

import re
from datetime import time
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from smgitops.declaration.base import DeclarationModel

if TYPE_CHECKING:
    from pydantic.config import JsonDict

CLOCK = re.compile(r"(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)", re.ASCII)
CLOCK_SCHEMA: JsonDict = {"pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_clock(value: str) -> time:
    match = CLOCK.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00-23:59)")
    return time(int(match["hour"]), int(match["minute"]))


class FreezeWindow(DeclarationModel):
    """A recurring time when rollouts wait (validated and planned, not applied)."""

    timezone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone of start and end, e.g. Europe/Paris; daylight saving "
        "time is applied. Default UTC.",
        examples=["Europe/Paris", "America/New_York"],
    )
    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS),
        min_length=1,
        max_length=7,
        description="Days on which the window starts (mon..sun). Default every day.",
        examples=[["fri"], ["sat", "sun"]],
        json_schema_extra={"default": list(WEEKDAYS)},
    )
    start: str = Field(
        description="Local time the freeze starts, HH:MM (24h).",
        examples=["18:00"],
        json_schema_extra=CLOCK_SCHEMA,
    )
    end: str = Field(
        description="Local time the freeze ends, HH:MM. Not after start means the next day "
        "(an overnight window); equal to start means 24 hours.",
        examples=["08:00"],
        json_schema_extra=CLOCK_SCHEMA,
    )
    reason: str = Field(
        default="",
        max_length=256,
        description="Shown with the waiting rollouts (e.g. 'weekend freeze').",
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name like Europe/Paris)"
            ) from exc
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each day may be listed once")
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value

    @property
    def start_time(self) -> time:
        return parse_clock(self.start)

    @property
    def end_time(self) -> time:
        return parse_clock(self.end)

    @property
    def overnight(self) -> bool:
        return self.end_time <= self.start_time

    def describe(self) -> str:
        days = ",".join(self.days) if len(self.days) < 7 else "daily"
        label = f"{days} {self.start}-{self.end} {self.timezone}"
        return f"{self.reason} ({label})" if self.reason else label
