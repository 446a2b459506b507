"""``smgitops plan`` against the live endpoints, rendered: text for a terminal, Markdown for a
pull-request comment; the field and environment lines the pull-request plan shares."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from smgitops.plan.diff import ENVIRONMENT, ORDER, SYMBOLS
from smgitops.plan.quote import as_is, cell

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from smgitops.plan.diff import Change, Diff, Plan


def _value(value: Any, field: str = "") -> str:
    if field == "model.framework" and isinstance(value, dict):
        return f"{value.get('name')} {value.get('version')} ({value.get('processor', 'cpu')})"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True) if value else json.dumps(value)
    return "(none)" if value is None else str(value)


def environment_line(diffs: Iterable[Diff], quote: Callable[[str], str] = as_is) -> str:
    """``added A; changed B; removed C (values not shown)``, or "" when none differ."""
    kinds: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    for d in diffs:
        if d.field.startswith(ENVIRONMENT + "."):
            kind = "added" if d.before is None else "removed" if d.after is None else "changed"
            kinds[kind].append(quote(d.field.removeprefix(ENVIRONMENT + ".")))
    listed = [f"{kind} {', '.join(names)}" for kind, names in kinds.items() if names]
    return "; ".join(listed) + " (values not shown)" if listed else ""


def changed_fields(change: Change) -> list[str]:
    """The deployable fields that differ, every environment name counted as one."""
    names = [
        ENVIRONMENT if d.field.startswith(ENVIRONMENT + ".") else d.field
        for d in change.deployable_diffs
    ]
    return list(dict.fromkeys(names))


def field_lines(
    diffs: Iterable[Diff], quote: Callable[[str], str] = as_is
) -> list[tuple[str, str | None, str]]:
    """(field, before, after) per diff; the environment as one line of names (before None)."""
    diffs = list(diffs)
    rows: list[tuple[str, str | None, str]] = [
        (d.field, _value(d.before, d.field), _value(d.after, d.field))
        for d in diffs
        if not d.field.startswith(ENVIRONMENT + ".")
    ]
    env = environment_line(diffs, quote)
    if env:
        at = next(i for i, d in enumerate(diffs) if d.field.startswith(ENVIRONMENT + "."))
        rows.insert(at, (ENVIRONMENT, None, env))
    return rows


def render_text(plan: Plan) -> str:
    header = plan.header
    summary = ", ".join(
        f"{plan.count(a)} {'to ' + a if a in ('create', 'update') else a}" for a in ORDER
    )
    lines = [f"plan for {header.get('ref', '')} ({str(header.get('commit', ''))[:12]}): {summary}"]
    lines += text_changes(plan.changes)
    return "\n".join(lines)


def text_changes(changes: Iterable[Change]) -> list[str]:
    changes = list(changes)
    lines = []
    width = max((len(c.endpoint) for c in changes), default=0)
    for change in changes:
        line = f"  {SYMBOLS[change.action]} {change.action:<9}  {change.endpoint:<{width}}"
        if change.file:
            line += f"  {change.file}"
        if change.base_file:
            line += f"  (moved from {change.base_file})"
        if change.note:
            line += f"  ({change.note})"
        lines.append(line.rstrip())
        for field, before, after in field_lines(change.diffs):
            shown = after if before is None or change.action == "create" else f"{before} -> {after}"
            lines.append(f"      {field}: {shown}")
        if change.rollout is not None:
            lines.append(f"      rollout: {change.rollout.headline()}")
            lines.extend(f"        {line}" for line in change.rollout.details())
    return lines


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: one row per endpoint, the differing fields in a list, then the
    capacity the rollout needs (its peak, and the quota that must allow it)."""
    rows = [
        "| | endpoint | action | details | peak capacity |",
        "|---|---|---|---|---|",
    ]
    for change in plan.changes:
        lines = [
            f"{cell(field)}: {cell(before)} → {cell(after)}"
            if before is not None
            else f"{cell(field)}: {after}"
            for field, before, after in field_lines(change.diffs, cell)
        ]
        if change.note:
            lines.append(change.note)
        peak = "—"
        if change.rollout is not None and change.rollout.capacity is not None:
            lines += change.rollout.capacity.summary(cell)
            peak = change.rollout.peak(cell)
        rows.append(
            f"| {SYMBOLS[change.action]} | {cell(change.endpoint)} | {change.action} "
            f"| {'<br>'.join(lines)} | {peak} |"
        )
    summary = ", ".join(f"{plan.count(a)} {a}" for a in ORDER)
    return f"**smgitops plan** ({summary})\n\n" + "\n".join(rows)
