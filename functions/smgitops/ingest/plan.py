"""What a push would change: desired declarations against what is there now.

Pure: the "now" side is given as :class:`Current` values, built from the live endpoints and
the status table (``smgitops plan``) or from the declarations at a base ref (a pull request
plan), so one comparison and one set of renderers serve both.

Only the deployable part counts (model, instance type and count): that is what the content
hash covers and what a rollout changes. A change to rollout settings alone starts nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from smgitops.declaration.models import Declaration

Action = Literal["create", "update", "unchanged", "orphaned"]
ORDER: tuple[Action, ...] = ("create", "update", "unchanged", "orphaned")
SYMBOLS = {"create": "+", "update": "~", "unchanged": "=", "orphaned": "-"}
MODEL_FIELDS = ("image", "modelDataUrl", "modelPackageArn", "executionRoleArn", "environment")


def fields_of(declaration: Declaration) -> dict[str, Any]:
    """The comparable fields of a declaration: ``model.image``, ``instanceCount``…"""
    deployable = declaration.deployable()
    model = deployable["model"]
    out: dict[str, Any] = {f"model.{name}": model.get(name) for name in MODEL_FIELDS}
    out["model.environment"] = dict(model.get("environment") or {})
    out["instanceType"] = deployable["instanceType"]
    out["instanceCount"] = deployable["instanceCount"]
    return out


class Current(NamedTuple):
    """One endpoint as it is now."""

    fields: dict[str, Any] | None  # None: not known (e.g. the endpoint does not exist)
    spec_hash: str | None = None  # the last-applied hash, when the status table has one
    exists: bool = True  # the endpoint exists (live) / is declared (base ref)
    managed: bool | None = None  # has a status record; None when no table was consulted


class Diff(NamedTuple):
    field: str
    before: Any
    after: Any


class Change(NamedTuple):
    endpoint: str
    action: Action
    file: str = ""
    diffs: tuple[Diff, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "action": self.action,
            "file": self.file,
            "diffs": [d._asdict() for d in self.diffs],
            "note": self.note,
        }


class Plan(NamedTuple):
    changes: tuple[Change, ...]
    header: dict[str, Any]  # where the desired state came from: repository, ref, commit…

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> dict[str, int]:
        return {action: self.count(action) for action in ORDER}

    def to_json(self) -> dict[str, Any]:
        return {
            **self.header,
            "summary": self.summary(),
            "changes": [c.to_json() for c in self.changes],
        }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[Diff, ...]:
    """The fields that differ; a field the declaration leaves unset is not compared."""
    return tuple(
        Diff(name, before.get(name), value)
        for name, value in after.items()
        if value is not None and before.get(name) != value
    )


def compare(
    desired: Mapping[str, Declaration],
    current: Mapping[str, Current],
    *,
    paths: Mapping[str, str] | None = None,
    tracked: Iterable[str] = (),
) -> tuple[Change, ...]:
    """Per endpoint: create / update (with the fields that differ) / unchanged, then every
    ``tracked`` endpoint (known to smgitops) with no declaration any more as orphaned."""
    paths = paths or {}
    changes = [
        _change(name, declaration, current.get(name), paths.get(name, ""))
        for name, declaration in sorted(desired.items())
    ]
    changes += [
        Change(name, "orphaned", note="declaration removed; deleted only with prune: true")
        for name in sorted(set(tracked) - set(desired))
    ]
    return tuple(sorted(changes, key=lambda c: (ORDER.index(c.action), c.endpoint)))


def _change(name: str, declaration: Declaration, now: Current | None, file: str) -> Change:
    wanted = fields_of(declaration)
    if now is None or (not now.exists and now.spec_hash is None):
        return Change(name, "create", file)
    diffs = diff(now.fields, wanted) if now.fields is not None else ()
    if now.spec_hash is not None:  # the engine decides on the last-applied hash
        if now.spec_hash == declaration.content_hash():
            note = "" if now.exists else "endpoint missing although applied: drift"
            if now.exists and diffs:
                note = "live endpoint differs from the applied declaration: drift"
            return Change(name, "unchanged", file, note=note)
        return Change(name, "update", file, diffs)
    if not now.exists:
        return Change(name, "create", file)
    if diffs:
        return Change(name, "update", file, diffs)
    if now.managed is False:
        return Change(name, "update", file, note="not managed yet: a first rollout adopts it")
    return Change(name, "unchanged", file)


# --- rendering ------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True) if value else "{}"
    return "(none)" if value is None else str(value)


def render_text(plan: Plan) -> str:
    header = plan.header
    summary = ", ".join(
        f"{plan.count(a)} {'to ' + a if a in ('create', 'update') else a}" for a in ORDER
    )
    lines = [f"plan for {header.get('ref', '')} ({str(header.get('commit', ''))[:12]}): {summary}"]
    width = max((len(c.endpoint) for c in plan.changes), default=0)
    for change in plan.changes:
        line = f"  {SYMBOLS[change.action]} {change.action:<9}  {change.endpoint:<{width}}"
        if change.file:
            line += f"  {change.file}"
        if change.note:
            line += f"  ({change.note})"
        lines.append(line.rstrip())
        lines.extend(
            f"      {d.field}: {_value(d.before)} -> {_value(d.after)}" for d in change.diffs
        )
    return "\n".join(lines)


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: one row per endpoint, the differing fields in a list."""
    rows = ["| | endpoint | action | details |", "|---|---|---|---|"]
    for change in plan.changes:
        details = "<br>".join(
            f"`{d.field}`: `{_value(d.before)}` → `{_value(d.after)}`" for d in change.diffs
        )
        if change.note:
            details = f"{details}<br>{change.note}" if details else change.note
        rows.append(
            f"| {SYMBOLS[change.action]} | `{change.endpoint}` | {change.action} | {details} |"
        )
    summary = ", ".join(f"{plan.count(a)} {a}" for a in ORDER)
    return f"**smgitops plan** ({summary})\n\n" + "\n".join(rows)
