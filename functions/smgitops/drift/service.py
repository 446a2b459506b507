"""The drift check: every endpoint with a finished rollout, live vs last applied.

Per endpoint: read the live state (adapter), :func:`smgitops.drift.compare.compare` (pure),
then — only when the drift differs from the last one recorded — a history entry
(``drift: …`` or ``drift resolved``), a notification, and with ``selfHeal`` a rollout back to
the declaration. A drift that stays the same is reported by the metric on every run but
recorded, notified and healed once: a heal that could not repair it never loops. A drift recorded
while healing was off is healed (once) by the first check after it is on: a push said
selfHeal, or the operator turned SMGITOPS_SELF_HEAL on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from smgitops.clock import now as clock_now
from smgitops.drift.compare import DriftReport, compare, not_comparable
from smgitops.errors import SmgitopsError
from smgitops.observability import logger
from smgitops.rollout.status import Context, HistoryRecord

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smgitops.declaration.models import Declaration
    from smgitops.drift.compare import LiveEndpoint
    from smgitops.rollout.status import RolloutStatus

DRIFT_EVENT = "drift: "
RESOLVED_EVENT = "drift resolved"
HISTORY_LOOKBACK = 100


class DriftStorePort(Protocol):
    def list_statuses(self) -> list[RolloutStatus]: ...
    def get(self, endpoint: str) -> RolloutStatus | None: ...
    def history(self, endpoint: str, limit: int = 200) -> list[HistoryRecord]: ...
    def append_history(self, records: Sequence[HistoryRecord]) -> None: ...


class LivePort(Protocol):
    def read(self, endpoint: str) -> LiveEndpoint | None: ...


class DriftNotifierPort(Protocol):
    def drift(self, report: DriftReport) -> None: ...


class Started(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def rollout_id(self) -> str: ...


class HealerPort(Protocol):
    """``RolloutService.start`` with ``force``: start even though the hash did not change."""

    def start(
        self,
        declaration: Declaration,
        *,
        commit: str,
        pushed_at: float,
        source: dict[str, str],
        force: bool = False,
        context: Context | None = None,
    ) -> Started: ...


@dataclass(frozen=True)
class DriftOutcome:
    report: DriftReport
    changed: bool = False  # differs from the last drift state recorded (recorded + notified)
    healed: str = ""  # the rollout started to repair it
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.report.endpoint,
            "drifted": self.report.drifted,
            "summary": self.report.summary(),
            "changed": self.changed,
            "healed": self.healed,
            "error": self.error,
        }


def last_fingerprint(history: Sequence[HistoryRecord]) -> str:
    """The fingerprint of the drift last recorded ("" when none, or resolved since)."""
    for record in history:  # newest first
        if record.event.startswith(DRIFT_EVENT):
            return str(record.details.get("fingerprint", ""))
        if record.event == RESOLVED_EVENT:
            return ""
    return ""


def heal_attempted(history: Sequence[HistoryRecord]) -> bool:
    """Whether the drift last recorded was already healed, or a heal of it was tried."""
    for record in history:  # newest first
        if record.event.startswith(DRIFT_EVENT):
            return "heal" in record.details
        if record.event == RESOLVED_EVENT:
            return False
    return False


def latest_finding(history: Sequence[HistoryRecord]) -> str:
    """The drift last recorded, in words: its summary, "none" once resolved, "-" never checked.
    (``status``'s DRIFT column and the dashboard.)"""
    for record in history:  # newest first
        if record.event.startswith(DRIFT_EVENT):
            return record.event.removeprefix(DRIFT_EVENT)
        if record.event.startswith(RESOLVED_EVENT):
            return "none"
    return "-"


@dataclass
class DriftService:
    store: DriftStorePort
    live: LivePort
    notifier: DriftNotifierPort | None = None
    healer: HealerPort | None = None
    self_heal: bool = False  # the function's upper bound; .smgitops.yaml may turn it off
    clock: Callable[[], float] = clock_now

    def check_all(self, endpoints: Sequence[str] = ()) -> list[DriftOutcome]:
        """Every endpoint with a status (or only ``endpoints``); a failure stops no other."""
        wanted = set(endpoints)
        return [
            self.check(status)
            for status in self.store.list_statuses()
            if not wanted or status.endpoint in wanted
        ]

    def check(self, status: RolloutStatus) -> DriftOutcome:
        skipped = not_comparable(status)
        if skipped:
            return DriftOutcome(DriftReport(endpoint=status.endpoint, skipped=skipped))
        try:
            report = compare(status, self.live.read(status.endpoint))
            if report.skipped:
                return DriftOutcome(report)
            changed = self._changed_since(status)
            if changed:
                return DriftOutcome(DriftReport(endpoint=status.endpoint, skipped=changed))
            return self._record(status, report)
        except SmgitopsError as exc:
            logger().warning(
                "drift check failed", extra={"endpoint": status.endpoint, "error": str(exc)}
            )
            return DriftOutcome(
                DriftReport(endpoint=status.endpoint, skipped=f"check failed: {exc}"),
                error=str(exc),
            )

    def _changed_since(self, status: RolloutStatus) -> str:
        """Why the endpoint just read cannot be judged by ``status`` ("" when it can): the
        statuses are listed first and each endpoint read later, so a rollout may have started
        (or moved) in between — its actions live, ``status`` no longer the current one. Any
        action comes from a newer status version, so the same version before and after the
        read means the endpoint was read under this status."""
        fresh = self.store.get(status.endpoint)
        if fresh is not None and fresh.version == status.version:
            return ""
        now = "gone" if fresh is None else f"version {fresh.version}, {fresh.phase}"
        return (
            f"the status changed during the check (version {status.version} -> {now}); "
            "checked next time"
        )

    def _record(self, status: RolloutStatus, report: DriftReport) -> DriftOutcome:
        history = self.store.history(status.endpoint, limit=HISTORY_LOOKBACK)
        previous = last_fingerprint(history)
        current = report.fingerprint() if report.drifted else ""
        healable = report.drifted and self.heals(status) and report.healable
        if current == previous:
            if healable and not heal_attempted(history):
                return self._heal_recorded(status, report, current)
            return DriftOutcome(report)
        healed, heal_error = "", ""
        if healable and self.healer is not None:
            healed, heal_error = self._heal(status)
        details: dict[str, Any] = {"fingerprint": current}
        if report.drifted:
            details |= {
                "drift": [d.model_dump(mode="json") for d in report.drifts],
                "cause": report.cause,
                "basis": report.basis,
            }
        if healed or heal_error:
            details["heal"] = healed or f"failed: {heal_error}"
        event = f"{DRIFT_EVENT}{report.summary()}" if report.drifted else RESOLVED_EVENT
        self.store.append_history([_history(status, self.clock(), event, details)])
        if self.notifier is not None:
            self.notifier.drift(report)
        logger().info("drift changed", extra={"endpoint": status.endpoint, "event": event})
        return DriftOutcome(report, changed=True, healed=healed, error=heal_error)

    def _heal_recorded(
        self, status: RolloutStatus, report: DriftReport, fingerprint: str
    ) -> DriftOutcome:
        """A drift recorded before selfHeal was on (a later push said ``selfHeal: true``): healed
        now, once, and recorded with the same fingerprint (nothing new to notify)."""
        if self.healer is None:
            return DriftOutcome(report)
        healed, heal_error = self._heal(status)
        details: dict[str, Any] = {
            "fingerprint": fingerprint,
            "drift": [d.model_dump(mode="json") for d in report.drifts],
            "cause": report.cause,
            "basis": report.basis,
            "heal": healed or f"failed: {heal_error}",
        }
        event = f"{DRIFT_EVENT}{report.summary()}"
        self.store.append_history([_history(status, self.clock(), event, details)])
        logger().info("drift healed late", extra={"endpoint": status.endpoint, "heal": healed})
        return DriftOutcome(report, healed=healed, error=heal_error)

    def heals(self, status: RolloutStatus) -> bool:
        """The function's ``SMGITOPS_SELF_HEAL`` is an upper bound: on, an endpoint heals
        unless the app config at its rollout's commit said ``selfHeal: false``; off, none
        heals, whatever a repository said (a repository narrows, never widens)."""
        return self.self_heal and status.self_heal is not False

    def _heal(self, status: RolloutStatus) -> tuple[str, str]:
        assert self.healer is not None  # noqa: S101 - checked by the caller
        context = Context(
            golden=status.golden,
            freeze=status.freeze,
            override=status.override,
            self_heal=status.self_heal,
        )
        try:
            started = self.healer.start(
                status.spec(),
                commit=status.commit,
                pushed_at=status.pushed_at,
                source={**status.source, "provider": "drift", "reason": "selfHeal"},
                force=True,
                context=context,
            )
        except SmgitopsError as exc:
            logger().warning("self-heal failed", extra={"endpoint": status.endpoint})
            return "", str(exc)
        if started.kind not in {"started", "queued"}:
            return "", f"rollout not started ({started.kind})"
        return started.rollout_id, ""


def _history(
    status: RolloutStatus, now: float, event: str, details: dict[str, Any]
) -> HistoryRecord:
    return HistoryRecord.of(status, at=now, event=event, details=details)
