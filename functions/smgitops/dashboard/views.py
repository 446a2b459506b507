"""What the dashboard and the audit report show, computed from the same status and history
records as the CLI. Pure: no AWS, no clock (``now`` is given), no HTML.

A rollout's *timeline* is its history records in order, each one a point of the candidate's
traffic share over time with what happened there: a step entered (a step boundary), a check
(the golden requests' score, the canary-vs-stable judgement and its statistics, a failed check),
an alarm, an operator's request, the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smgitops.rollout.progress import duration_text, progress, summaries

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from smgitops.rollout.status import HistoryRecord, RolloutStatus

STEP_PREFIX = "step "
ALARM_WORDS = ("alarm ", "ALARM")
OPERATOR_WORDS = ("aborted by", "promote (", "retry requested")


@dataclass(frozen=True)
class Mark:
    """Something that happened at a point of the timeline, drawn on the chart."""

    kind: str  # step | alarm | judgement | validation | check | operator | end
    label: str
    ok: bool | None = None  # a check's result (None: not a check)


@dataclass(frozen=True)
class Point:
    at: float
    phase: str
    candidate_weight: float
    event: str
    reason: str
    marks: tuple[Mark, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def candidate_weight(record: HistoryRecord, candidate: str) -> float:
    return float(record.weights.get(candidate, 0.0))


def marks_of(record: HistoryRecord) -> tuple[Mark, ...]:
    """What a history record says happened, as chart marks."""
    found: list[Mark] = []
    event, details = record.event, record.details
    for note in (n.strip() for n in event.split(";")):
        if note.startswith(STEP_PREFIX) and "%" in note:
            found.append(Mark("step", note))
        elif note.startswith(STEP_PREFIX) and "passed" in note:
            found.append(Mark("check", note, ok=True))
        elif note.startswith(OPERATOR_WORDS) or "aborted by" in note:
            found.append(Mark("operator", note))
    judgement = details.get("judgement")
    if isinstance(judgement, dict):
        verdict = str(judgement.get("verdict", ""))
        found.append(Mark("judgement", f"canary vs stable: {verdict}", ok=_verdict_ok(verdict)))
    validation = details.get("validation")
    if isinstance(validation, dict):
        score = validation.get("score")
        text = f"golden requests: score {score}" if score is not None else "golden requests"
        found.append(Mark("validation", text, ok=bool(validation.get("ok"))))
    if any(word in record.reason for word in ALARM_WORDS) and record.phase in {
        "RollingBack",
        "RolledBack",
    }:
        found.append(Mark("alarm", record.reason, ok=False))
    elif details.get("failedChecks") and "alarm" in record.reason.lower():
        found.append(Mark("check", record.reason, ok=False))
    if record.phase in {"Succeeded", "RolledBack", "Failed", "Superseded"}:
        found.append(Mark("end", str(record.phase), ok=record.phase == "Succeeded"))
    return tuple(found)


def _verdict_ok(verdict: str) -> bool | None:
    """A judgement's verdict as a check result: None when inconclusive."""
    if verdict in ("pass", "fail"):
        return verdict == "pass"
    return None


def timeline(records: Iterable[HistoryRecord], rollout_id: str, candidate: str) -> list[Point]:
    """The rollout's history records in order, as points of the chart."""
    mine = sorted((r for r in records if r.rollout_id == rollout_id), key=lambda r: r.at)
    return [
        Point(
            at=r.at,
            phase=str(r.phase),
            candidate_weight=candidate_weight(r, candidate),
            event=r.event,
            reason=r.reason,
            marks=marks_of(r),
            details=dict(r.details),
        )
        for r in mine
    ]


def endpoint_row(status: RolloutStatus, drift: str, now: float) -> dict[str, Any]:
    """One line of the endpoints page."""
    view = progress(status, now)
    return {
        "endpoint": status.endpoint,
        "phase": str(status.phase),
        "active": status.active,
        "step": view.step_text(),
        "weights": [{"label": v.label, "name": v.name, "weight": v.weight} for v in view.variants],
        "weightsText": view.weights_text(),
        "owner": owner_of(status),
        "commit": status.commit,
        "updatedAt": status.updated_at,
        "drift": drift,
        "reason": status.reason,
    }


def owner_of(status: RolloutStatus) -> str:
    """The repository identity that owns the endpoint ("-": no owner recorded). Never the
    payload's ``fullName``: that is display only."""
    return status.owner or "-"


def rollout_view(
    status: RolloutStatus, records: Sequence[HistoryRecord], now: float
) -> dict[str, Any]:
    """The live rollout page: where it stands, its timeline, the reason of every transition."""
    view = progress(status, now)
    points = timeline(records, status.rollout_id, status.candidate.name)
    return {
        **endpoint_row(status, "", now),
        "rolloutId": status.rollout_id,
        "strategy": str(status.strategy),
        "bakeLeft": view.bake_text(),
        "checks": view.checks,
        "failedChecks": view.failed_checks,
        "maxFailedChecks": view.max_failed_checks,
        "stable": status.stable.name if status.stable else "",
        "candidate": status.candidate.name,
        "points": [
            {
                "at": p.at,
                "phase": p.phase,
                "weight": p.candidate_weight,
                "event": p.event,
                "reason": p.reason,
                "marks": [{"kind": m.kind, "label": m.label, "ok": m.ok} for m in p.marks],
            }
            for p in points
        ],
    }


def history_rows(records: Iterable[HistoryRecord]) -> list[dict[str, Any]]:
    """One line per rollout, newest first."""
    return [
        {
            "rolloutId": s.rollout_id,
            "commit": s.commit,
            "startedAt": s.started_at,
            "duration": duration_text(s.duration),
            "outcome": str(s.outcome),
            "reason": s.reason,
        }
        for s in reversed(summaries(records))
    ]
