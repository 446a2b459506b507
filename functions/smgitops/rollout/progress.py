"""Where a rollout stands, in an operator's words: step N of M, bake time left, which variant is
stable and which the candidate, what the last check said. Pure: the CLI (``status``,
``status --watch``, ``wait``) renders it; nothing here reads AWS or the clock."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smgitops.rollout.ownership import ADOPTED
from smgitops.rollout.status import TERMINAL_PHASES, HistoryRecord, Phase, RolloutStatus
from smgitops.rollout.strategies import traffic_steps

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from smgitops.rollout.analysis import VariantSeries

# Phases a wait ends on, and whether they count as success.
SUCCESS_PHASES = frozenset({Phase.SUCCEEDED})
FAILURE_PHASES = frozenset(TERMINAL_PHASES - SUCCESS_PHASES)
STABLE = "stable"
CANDIDATE = "candidate"


@dataclass(frozen=True)
class VariantWeight:
    label: str  # "stable" | "candidate" | "" (a variant smgitops does not know)
    name: str
    weight: float


@dataclass(frozen=True)
class Progress:
    endpoint: str
    rollout_id: str
    commit: str
    phase: Phase
    strategy: str
    step: int  # 1-based step being baked; 0 before the first traffic step
    steps: int  # traffic steps before promotion (0: the strategy has none)
    variants: tuple[VariantWeight, ...]
    bake_left: float | None  # seconds left of the current step's bake, when one is running
    checks: str  # what gates traffic, in words ("no checks" when nothing does)
    failed_checks: int
    max_failed_checks: int
    reason: str

    @property
    def done(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def succeeded(self) -> bool:
        return self.phase in SUCCESS_PHASES

    def step_text(self) -> str:
        if self.steps == 0:
            return "-"
        if self.phase in {Phase.PROMOTING, Phase.FINALIZING, Phase.SUCCEEDED}:
            return f"{self.steps}/{self.steps} done"
        return f"{self.step}/{self.steps}"

    def weights_text(self) -> str:
        """``stable smg-…=90% · candidate smg-…=10%``; a variant at 0 % that is not the
        candidate of an active rollout is left out (it is leaving the endpoint)."""
        shown = [
            v for v in self.variants if v.weight > 0 or (v.label == CANDIDATE and not self.done)
        ]
        return (
            " · ".join(f"{v.label + ' ' if v.label else ''}{v.name}={v.weight:g}%" for v in shown)
            or "-"
        )

    def bake_text(self) -> str:
        if self.bake_left is None:
            return "-"
        return duration_text(self.bake_left)

    def line(self) -> str:
        """One line for a progress log (``wait``): phase, step, weights, bake, reason."""
        parts = [f"{self.endpoint}: {self.phase}"]
        if self.steps:
            parts.append(f"step {self.step_text()}")
        parts.append(self.weights_text())
        if self.bake_left is not None:
            parts.append(f"bake {self.bake_text()} left")
        if self.reason:
            parts.append(self.reason)
        return " · ".join(parts)


def promote_text(status: RolloutStatus, *, full: bool, by: str, now: float) -> str:
    """What ``promote`` did, in words: acted on now, or when it takes effect."""
    asked = ("promote --full" if full else "promote") + (f" by {by}" if by else "")
    where = progress(status, now).line()
    if status.gate and status.promote:
        return f"{asked}: gate {status.gate} released; the rollout moves on now · {where}"
    if status.promote:  # the tick could not act now: the request waits for the next one
        when = "at the rollout's next tick"
        bake = progress(status, now).bake_left
        if bake is not None:
            when += f", at the latest when this step's bake ends ({duration_text(bake)})"
        return f"{asked}: recorded; takes effect {when} · {where}"
    return f"{asked}: done · {where}"


def duration_text(seconds: float) -> str:
    """``1h05m``, ``4m30s``, ``12s``: whole seconds, the two largest units."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def checks_text(status: RolloutStatus) -> str:
    """What gates this rollout's traffic, in words."""
    rollout = status.spec().spec.rollout
    analysis = rollout.analysis
    parts = []
    if analysis.alarms:
        parts.append(_count(len(analysis.alarms), "alarm"))
    if analysis.metrics:
        parts.append(_count(len(analysis.metrics), "metric check"))
    if analysis.compare is not None:
        parts.append("comparison with stable")
    if rollout.validation is not None:
        parts.append("golden requests")
    return ", ".join(parts) if parts else rollout.checks_text()  # "no checks: …", in words


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def progress(status: RolloutStatus, now: float) -> Progress:
    rollout = status.spec().spec.rollout
    steps = traffic_steps(rollout)
    stable = status.stable.name if status.stable else ""
    candidate = status.candidate.name
    variants = tuple(
        VariantWeight(
            STABLE if name == stable else CANDIDATE if name == candidate else "", name, weight
        )
        for name, weight in sorted(
            status.weights.items(), key=lambda item: (item[0] != stable, item[0])
        )
    )
    baking = status.phase == Phase.PROGRESSING and status.step_since is not None
    interval = (
        rollout.shadow.duration_seconds(rollout.interval_seconds)
        if status.shadow
        else rollout.interval_seconds
    )
    bake_left = (
        max(0.0, interval - (now - status.step_since))
        if baking and status.step_since is not None
        else None
    )
    return Progress(
        endpoint=status.endpoint,
        rollout_id=status.rollout_id,
        commit=status.commit,
        phase=status.phase,
        strategy=str(status.strategy),
        step=min(status.step_index + 1, len(steps)) if status.step_index >= 0 else 0,
        steps=len(steps),
        variants=variants,
        bake_left=bake_left,
        checks=checks_text(status),
        failed_checks=status.failed_checks,
        max_failed_checks=rollout.max_failed_checks,
        reason=status.reason,
    )


# --- per-variant numbers: what an operator decides an A/B test (or a canary) on -------------

ERRORS = ("Invocation5XXErrors", "Sum")
LATENCY = ("ModelLatency", "Average")


@dataclass(frozen=True)
class VariantNumbers:
    variant: str
    label: str
    invocations: float
    errors_5xx: float
    latency_us: float | None  # invocation-weighted mean of the periods' averages

    @property
    def error_rate(self) -> float | None:
        return self.errors_5xx / self.invocations if self.invocations else None

    def text(self) -> str:
        if not self.invocations:
            return f"{self.label or 'variant'} {self.variant}: no invocations yet"
        rate = self.error_rate or 0.0
        latency = "-" if self.latency_us is None else f"{self.latency_us / 1000:.1f} ms"
        return (
            f"{self.label or 'variant'} {self.variant}: {self.invocations:g} invocations, "
            f"{self.errors_5xx:g} 5xx ({rate:.2%}), model latency {latency}"
        )


def variant_numbers(view: Progress, series: Mapping[str, VariantSeries]) -> list[VariantNumbers]:
    """Totals per variant over the window the series were read for."""
    out = []
    for variant in view.variants:
        found = series.get(variant.name)
        if found is None:
            continue
        errors = math.fsum(found.metrics.get(ERRORS, {}).values())
        latencies = found.metrics.get(LATENCY, {})
        weights = [(found.invocations.get(at, 0.0), value) for at, value in latencies.items()]
        total = math.fsum(w for w, _ in weights)
        latency = math.fsum(w * v for w, v in weights) / total if total else None
        out.append(
            VariantNumbers(variant.name, variant.label, found.total_invocations, errors, latency)
        )
    return out


# --- one line per rollout: `history --rollouts`, the demo's closing table ---------------------


@dataclass(frozen=True)
class RolloutSummary:
    rollout_id: str
    commit: str
    started_at: float
    ended_at: float
    outcome: Phase  # the last phase recorded
    reason: str

    @property
    def duration(self) -> float:
        return self.ended_at - self.started_at


def summaries(records: Iterable[HistoryRecord]) -> list[RolloutSummary]:
    """The rollouts of an endpoint's history, oldest first, each with its last phase."""
    found: dict[str, RolloutSummary] = {}
    for record in sorted(records, key=lambda r: r.at):
        if record.rollout_id == ADOPTED:
            continue  # an operator's adoption: no rollout ran
        previous = found.get(record.rollout_id)
        found[record.rollout_id] = RolloutSummary(
            rollout_id=record.rollout_id,
            commit=record.commit,
            started_at=previous.started_at if previous else record.at,
            ended_at=record.at,
            outcome=record.phase,
            reason=record.reason or (previous.reason if previous else ""),
        )
    return list(found.values())


SUMMARY_HEADERS = ("COMMIT", "STARTED (UTC)", "TIME", "OUTCOME", "REASON")


def summary_rows(rows: Iterable[RolloutSummary]) -> list[list[str]]:
    return [
        [
            s.commit[:12],
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s.started_at)),
            duration_text(s.duration),
            str(s.outcome),
            s.reason or "-",
        ]
        for s in rows
    ]


def text_table(rows: list[list[str]], headers: list[str]) -> str:
    """Columns padded to their widest cell, two spaces apart (every CLI table, the demo's)."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
