"""Commit statuses of a push's endpoints: sent concurrently, bounded in number and in time."""

from __future__ import annotations

import threading
import time
from typing import Any

from smgitops.ingest.allowlist import AllowList
from smgitops.ingest.work import PushWork
from smgitops.reconcile.reconciler import STATUS_WORKERS, Reconciler
from smgitops.rollout.start import StartOutcome


class SlowGitHub:
    """Each post waits until ``release`` is set; counts what is in flight."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.posted: list[tuple[str, str, str]] = []

    def post(self, full_name: str, sha: str, state: str, context: str, text: str, **_: Any) -> bool:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        self.release.wait(10)
        with self.lock:
            self.in_flight -= 1
            self.posted.append((full_name, context, state))
        return True


def _reconciler(github: SlowGitHub, budget: float) -> Reconciler:
    unused: Any = None
    return Reconciler(
        fetcher=unused,
        engine=unused,
        pushes=unused,
        allow=AllowList(()),
        statuses=lambda: github,
        status_budget=budget,
    )


WORK = PushWork(
    provider="github",
    repository="https://github.com/acme/models.git",
    full_name="acme/models",
    ref="refs/heads/main",
    commit="a" * 40,
    pushed_at=1.0,
    delivery="d-1",
)


def _outcomes(count: int) -> list[StartOutcome]:
    kinds = ["started", "unchanged", "refused", "stale"]
    return [
        StartOutcome(f"m-{n:03d}", kinds[n % 4], f"r-{n}", "why")  # type: ignore[arg-type]
        for n in range(count)
    ]


def test_statuses_are_sent_by_a_bounded_pool_and_only_where_something_happened() -> None:
    github = SlowGitHub()
    releaser = threading.Timer(0.5, github.release.set)
    releaser.start()
    _reconciler(github, budget=30)._endpoint_statuses(WORK, _outcomes(40))
    releaser.join()
    assert github.most == STATUS_WORKERS  # concurrently, never more than the pool at once
    contexts = sorted(context for _, context, _ in github.posted)
    assert contexts == [f"smgitops/m-{n:03d}" for n in range(40) if n % 4 in (0, 2)]
    assert {target for target, _, _ in github.posted} == {"acme/models"}  # from the identity


def test_statuses_never_hold_the_push_past_the_budget() -> None:
    github = SlowGitHub()  # GitHub hangs (each call would time out after 3 s)
    started = time.monotonic()
    _reconciler(github, budget=0.3)._endpoint_statuses(WORK, _outcomes(100))
    elapsed = time.monotonic() - started
    github.release.set()
    assert elapsed < 2.0
    assert github.most == STATUS_WORKERS
