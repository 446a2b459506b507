"""The audit report of one rollout: a single self-contained HTML file (inline style, inline SVG,
no script, nothing fetched) to attach to an audit ticket. Which commit put which model in front
of users, when, and why traffic moved: every step with its checks and their numbers, the
canary-vs-stable statistics, the outcome. Pure: given the records, returns the HTML."""

from __future__ import annotations

import json
import time
from html import escape
from typing import TYPE_CHECKING, Any

from smgitops.dashboard.chart import weight_chart
from smgitops.dashboard.views import timeline
from smgitops.rollout.progress import duration_text, summaries

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smgitops.rollout.status import HistoryRecord, RolloutStatus

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1f2328}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5em 0}
td,th{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}.ok{color:#1a7f37}.bad{color:#cf222e}code,pre{font-size:12px}
pre{background:#f6f8fa;padding:.8em;overflow:auto}svg{width:100%;height:auto}
"""


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _pick(
    status: RolloutStatus | None, records: Sequence[HistoryRecord], wanted: str | None
) -> str | None:
    """The rollout id the report is about: ``wanted`` (a rollout id or a commit prefix), else
    the endpoint's current rollout, else the newest one recorded."""
    rollouts = summaries(records)
    if wanted:
        for summary in reversed(rollouts):
            if summary.rollout_id == wanted or summary.commit.startswith(wanted.lower()):
                return summary.rollout_id
        return None
    if status is not None:
        return status.rollout_id
    return rollouts[-1].rollout_id if rollouts else None


def _judgement_table(judgement: dict[str, Any]) -> str:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(j.get(key, '')))}</td>"
            for key in (
                "metric",
                "verdict",
                "meanCandidate",
                "meanStable",
                "effect",
                "pValue",
                "samplesCandidate",
                "samplesStable",
                "reason",
            )
        )
        + "</tr>"
        for j in judgement.get("judgements", [])
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "metric",
            "verdict",
            "candidate mean",
            "stable mean",
            "effect",
            "p-value",
            "n candidate",
            "n stable",
            "reason",
        )
    )
    invocations = (
        f"invocations: candidate {judgement.get('invocationsCandidate')}, "
        f"stable {judgement.get('invocationsStable')}"
    )
    return f"<p>{escape(invocations)}</p><table><tr>{head}</tr>{rows}</table>"


def _candidate_of(records: Sequence[HistoryRecord]) -> str:
    """An older rollout's candidate: the variant its records added after the first one."""
    ordered = sorted(records, key=lambda r: r.at)
    if not ordered:
        return ""
    before = set(ordered[0].weights) if ordered[0].weights and len(ordered) > 1 else set()
    added = sorted({name for r in ordered for name in r.weights} - before)
    return added[0] if len(added) == 1 else ""


def render_report(
    endpoint: str,
    status: RolloutStatus | None,
    records: Sequence[HistoryRecord],
    rollout: str | None = None,
    generated_at: float | None = None,
) -> str | None:
    """The report's HTML, or None when no such rollout is recorded."""
    rollout_id = _pick(status, records, rollout)
    if rollout_id is None:
        return None
    summary = next(s for s in summaries(records) if s.rollout_id == rollout_id) if records else None
    current = status if status is not None and status.rollout_id == rollout_id else None
    candidate = current.candidate.name if current else ""
    mine = [r for r in records if r.rollout_id == rollout_id]
    if not candidate:
        candidate = _candidate_of(mine)
    points = timeline(records, rollout_id, candidate)
    commit = summary.commit if summary else (current.commit if current else "")
    outcome = str(summary.outcome) if summary else (str(current.phase) if current else "")
    facts = [
        ("endpoint", endpoint),
        ("rollout", rollout_id),
        ("commit", commit),
        ("outcome", outcome),
        ("reason", summary.reason if summary else ""),
    ]
    if summary:
        facts += [
            ("started", _when(summary.started_at)),
            ("ended", _when(summary.ended_at)),
            ("duration", duration_text(summary.duration)),
        ]
    if current is not None:
        facts += [
            ("strategy", str(current.strategy)),
            ("source", ", ".join(f"{k}: {v}" for k, v in sorted(current.source.items()))),
            ("stable variant", current.stable.name if current.stable else "(first deploy)"),
            ("candidate variant", f"{current.candidate.name} (model {current.candidate.model})"),
        ]
    fact_rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    steps = []
    for point in points:
        marks = "".join(
            f'<li class="{"ok" if m.ok else "bad" if m.ok is False else ""}">'
            f"{escape(m.kind)}: {escape(m.label)}</li>"
            for m in point.marks
        )
        judgement = point.details.get("judgement")
        extra = _judgement_table(judgement) if isinstance(judgement, dict) else ""
        steps.append(
            f"<tr><td>{_when(point.at)}</td><td>{escape(point.phase)}</td>"
            f"<td>{point.candidate_weight:g} %</td><td>{escape(point.event or point.reason)}"
            f"<ul>{marks}</ul>{extra}</td></tr>"
        )
    declaration = (
        f"<h2>Declaration</h2><pre>{escape(json.dumps(current.declaration, indent=2))}</pre>"
        if current is not None
        else "<p>The declaration is in the repository at the commit above.</p>"
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>smgitops rollout report: {escape(endpoint)} {escape(commit[:12])}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Rollout of {escape(endpoint)} at {escape(commit[:12])}: {escape(outcome)}</h1>"
        f"<table>{fact_rows}</table>"
        f"<h2>Traffic on the candidate</h2>{weight_chart(points)}"
        "<h2>Every step, check and transition</h2>"
        "<table><tr><th>at</th><th>phase</th><th>candidate</th><th>what happened</th></tr>"
        f"{''.join(steps)}</table>{declaration}"
        f"{_generated(generated_at)}</body></html>"
    )


def _generated(at: float | None) -> str:
    if at is None:
        return ""
    return f"<p>Generated by smgitops at {_when(at)} from the status table's history.</p>"
