"""The candidate's share of traffic over time, as an SVG: one renderer for the live page and
the offline report (no script, no third-party asset, opens anywhere). Pure.

The line steps (traffic holds between two records); a dashed vertical line marks each step
boundary; a dot marks each check (green passed, red failed, grey inconclusive), alarm (red
diamond) and operator request (purple); every mark carries its text as an SVG ``<title>``.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smgitops.dashboard.views import Mark, Point

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 14, 30
COLORS = {True: "#1a7f37", False: "#cf222e", None: "#8c959f"}
OPERATOR = "#8250df"


def _x(at: float, start: float, span: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * ((at - start) / span if span else 0.0)


def _y(weight: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - max(0.0, min(100.0, weight)) / 100)


def _mark(mark: Mark, x: float, y: float) -> str:
    title = f"<title>{escape(mark.label)}</title>"
    if mark.kind == "step":
        return (
            f'<line class="step" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="#8c959f" stroke-dasharray="3 3">{title}</line>'
        )
    if mark.kind == "alarm":
        points = f"{x:.1f},{y - 7:.1f} {x + 7:.1f},{y:.1f} {x:.1f},{y + 7:.1f} {x - 7:.1f},{y:.1f}"
        return f'<polygon class="alarm" points="{points}" fill="{COLORS[False]}">{title}</polygon>'
    color = OPERATOR if mark.kind == "operator" else COLORS[mark.ok]
    return (
        f'<circle class="{escape(mark.kind)}" cx="{x:.1f}" cy="{y:.1f}" r="5" '
        f'fill="{color}">{title}</circle>'
    )


def weight_chart(points: Sequence[Point], now: float | None = None) -> str:
    """The chart of one rollout's timeline; ``now`` extends the line of an active rollout."""
    if not points:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            'role="img" aria-label="no rollout recorded"><text x="20" y="40">no history yet'
            "</text></svg>"
        )
    start = points[0].at
    end = max(points[-1].at, now or points[-1].at)
    span = end - start
    path = []
    for index, point in enumerate(points):
        x, y = _x(point.at, start, span), _y(point.candidate_weight)
        if index:
            path.append(f"H{x:.1f}")  # traffic held until this record
            path.append(f"V{y:.1f}")
        else:
            path.append(f"M{x:.1f},{y:.1f}")
    path.append(f"H{_x(end, start, span):.1f}")
    grid = "".join(
        f'<line x1="{LEFT}" y1="{_y(w):.1f}" x2="{WIDTH - RIGHT}" y2="{_y(w):.1f}" '
        f'stroke="#d0d7de" stroke-width="0.5"/><text x="{LEFT - 6}" y="{_y(w) + 4:.1f}" '
        f'font-size="10" text-anchor="end">{w}%</text>'
        for w in (0, 25, 50, 75, 100)
    )
    marks = "".join(
        _mark(mark, _x(p.at, start, span), _y(p.candidate_weight))
        for p in points
        for mark in p.marks
    )
    seconds = round(span)
    axis = (
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="10">0s</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">'
        f"{seconds}s</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="candidate traffic over time">{grid}{axis}'
        f'<path class="weight" d="{" ".join(path)}" fill="none" stroke="#0969da" '
        f'stroke-width="2"/>{marks}</svg>'
    )
