"""CloudWatch's timestamp format, shared by the alarm evaluation (reason data) and the alarm
state-change events the emulator's EventBridge delivers."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_millis(epoch: float) -> str:
    """CloudWatch's timestamp format in reasons and events: 2019-10-02T17:04:40.989+0000."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
