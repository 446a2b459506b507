"""`smgitops demo` as a newcomer runs it: exit 0 only when every act ends as it must."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.e2e.conftest import SMGITOPS

pytestmark = pytest.mark.e2e


def test_the_demo_tells_the_whole_story_and_checks_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    result = subprocess.run(
        [*SMGITOPS, "demo", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout)
    assert answer["ok"] is True and answer["failures"] == []
    outcomes = [(row["model"], row["outcome"]) for row in answer["history"]]
    assert outcomes == [
        ("v1", "Succeeded"),
        ("v2", "Succeeded"),
        ("v3", "RolledBack"),
        ("v4", "RolledBack"),
    ]
    v3, v4 = answer["history"][2:]
    assert v3["reason"].startswith("alarm ")
    assert v4["reason"].startswith("judged worse than stable: ModelLatency")
    assert v4["durationSeconds"] > 300  # emulated minutes: at least one 5-minute step
    assert "4/4 slow model" in result.stderr  # progress goes to stderr with --output json
