"""Freeze windows and the ``Deploy-Override`` trailer, pure (the clock is passed in).

A window is wall-clock time in its own IANA time zone, so it follows daylight saving time:
``fri 18:00-08:00 Europe/Paris`` starts at 18:00 Paris time every Friday, summer or winter,
and ends at 08:00 on Saturday (``end`` not after ``start`` = the next day; equal = 24 hours).
``days`` are the days on which a window *starts*.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from smgitops.declaration.freeze import WEEKDAYS, FreezeWindow

if TYPE_CHECKING:
    from collections.abc import Sequence

OVERRIDE_TRAILER = "deploy-override"
MAX_CHAIN = 64  # windows that follow each other back to back, followed to their end
_TRAILER = re.compile(r"(?P<key>[A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(?P<value>.*)")
_GIT_GENERATED = ("(cherry picked from commit ",)


# --- windows ------------------------------------------------------------------------------------


def _local(window: FreezeWindow, now_epoch: float) -> datetime:
    return datetime.fromtimestamp(now_epoch, ZoneInfo(window.timezone))


def is_active(window: FreezeWindow, now_epoch: float) -> bool:
    local = _local(window, now_epoch)
    clock = local.time().replace(tzinfo=None)
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    if not window.overnight:
        return today in window.days and window.start_time <= clock < window.end_time
    return (today in window.days and clock >= window.start_time) or (
        yesterday in window.days and clock < window.end_time
    )


def window_end(window: FreezeWindow, now_epoch: float) -> float:
    """When the occurrence of ``window`` that is active at ``now_epoch`` ends (epoch seconds);
    an end time skipped by a DST change ends the window at the change."""
    local = _local(window, now_epoch)
    ends_tomorrow = window.overnight and local.time().replace(tzinfo=None) >= window.start_time
    day = local.date() + timedelta(days=1 if ends_tomorrow else 0)
    end = _instant(datetime.combine(day, window.end_time, tzinfo=local.tzinfo))
    return end if end > now_epoch else now_epoch + 60.0


def _instant(wall: datetime) -> float:
    """The first instant at which the local clock reads ``wall`` or later.

    An ambiguous wall time (clocks going back) is its first occurrence. A wall time skipped by
    clocks going forward is reached at the change itself: found between the two readings
    Python offers (``fold=1`` before the gap, ``fold=0`` after it) to the second.
    """
    after_gap = wall.replace(fold=0).timestamp()
    before_gap = wall.replace(fold=1).timestamp()
    if before_gap >= after_gap:
        return min(after_gap, before_gap)  # an ordinary or an ambiguous time
    target = wall.replace(tzinfo=None)
    low, high = math.floor(before_gap), math.ceil(after_gap)  # clock < wall at low, >= at high
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, wall.tzinfo).replace(tzinfo=None) >= target:
            high = middle
        else:
            low = middle
    return float(high)


def frozen(windows: Sequence[FreezeWindow], now_epoch: float) -> FreezeWindow | None:
    """The first window active at ``now_epoch``, or None."""
    return next((w for w in windows if is_active(w, now_epoch)), None)


def opens_at(windows: Sequence[FreezeWindow], now_epoch: float) -> float | None:
    """When no window is active any more (windows back to back are followed); None when not
    frozen now; ``math.inf`` when the windows never open (e.g. every day, all day)."""
    if frozen(windows, now_epoch) is None:
        return None
    moment = now_epoch
    for _ in range(MAX_CHAIN):
        active = [w for w in windows if is_active(w, moment)]
        if not active:
            return moment
        moment = max(window_end(w, moment) for w in active)
    return math.inf


# --- the override trailer -----------------------------------------------------------------------


def _paragraphs(message: str) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in message.replace("\r\n", "\n").split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def trailers(commit_message: str) -> list[tuple[str, str]]:
    """The trailers of a commit message, as git reads them: ``Key: value`` lines forming the
    last paragraph (not the subject), continuation lines indented. Keys keep their case.

    Stricter than git in one way: every line of that paragraph must be a trailer (git accepts
    a paragraph that is only 25 % trailers when one of them is git-generated).
    """
    paragraphs = _paragraphs(commit_message)
    if len(paragraphs) < 2:
        return []
    found: list[tuple[str, str]] = []
    for line in paragraphs[-1]:
        if line[:1] in (" ", "\t") and found:
            key, value = found[-1]
            found[-1] = (key, f"{value} {line.strip()}".strip())
            continue
        if line.startswith(_GIT_GENERATED):
            continue
        match = _TRAILER.fullmatch(line)
        if match is None:
            return []  # not a trailer block: a plain last paragraph
        found.append((match["key"], match["value"].strip()))
    return found


def override(commit_message: str) -> str | None:
    """The reason of a ``Deploy-Override: <reason>`` trailer (the last one), or None.

    An override without a reason is no override: the reason is what the history records.
    """
    reasons = [value for key, value in trailers(commit_message) if key.lower() == OVERRIDE_TRAILER]
    return reasons[-1] if reasons and reasons[-1] else None


# --- what the engine asks -------------------------------------------------------------------------


def _when(epoch: float) -> str:
    if math.isinf(epoch):
        return "further notice"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class FreezeCheck:
    """Whether a rollout may start now."""

    window: FreezeWindow | None = None
    until: float | None = None
    override: str | None = None

    @property
    def waits(self) -> bool:
        """Frozen and not overridden: the rollout stays Pending."""
        return self.window is not None and self.override is None

    @property
    def reason(self) -> str:
        if self.window is None:
            return ""
        frozen_text = f"frozen: {self.window.describe()} until {_when(self.until or math.inf)}"
        if self.override is not None:
            return f"{frozen_text}; overridden by the commit: {self.override}"
        return frozen_text

    def wait_seconds(self, now_epoch: float, cap: int = 3600) -> int:
        """How long the engine should sleep before looking again (at most ``cap``)."""
        if not self.waits or self.until is None:
            return 0
        if math.isinf(self.until):
            return cap
        return max(1, min(cap, math.ceil(self.until - now_epoch)))


def check(
    windows: Sequence[FreezeWindow], now_epoch: float, commit_message: str = ""
) -> FreezeCheck:
    """Is ``now_epoch`` inside a freeze window, until when, and does the commit override it?"""
    window = frozen(windows, now_epoch)
    if window is None:
        return FreezeCheck()
    return FreezeCheck(
        window=window, until=opens_at(windows, now_epoch), override=override(commit_message)
    )
