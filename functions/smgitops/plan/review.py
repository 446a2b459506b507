"""The pull-request plan: the desired state at a head ref against the one at a base ref.

``smgitops plan --base REF --head REF`` reads both refs from a local clone (no AWS) and
says, per endpoint, what merging head changes: created / changed (the deployable fields that
differ) / rollout settings only (no rollout: the content hash is unchanged) / removed
(orphaned) / unchanged, the rollout each change starts
(:class:`~smgitops.plan.rollout.RolloutPlan`: strategy, traffic steps, bake per step,
validation, gates, checks, minimum duration) and every validation problem at head. Base stands
for what is deployed.

Rendered as text, JSON, or the Markdown comment the GitHub workflow of ``smgitops init``
posts (structure documented in docs/workflow.md).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from smgitops.plan.diff import ORPHANED, SYMBOLS, Action, Change, diff, fields_of
from smgitops.plan.quote import cell, code
from smgitops.plan.render import changed_fields, field_lines, text_changes
from smgitops.plan.rollout import planned
from smgitops.rollout.capacity import of_spec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from smgitops.declaration.models import Declaration
    from smgitops.reconcile.tree import DesiredState

REVIEW_ORDER: tuple[Action, ...] = (
    "create",
    "update",
    "settings",
    "invalid",
    "orphaned",
    "unchanged",
)  # the order a reviewer reads them in
LABELS = {
    "create": "created",
    "update": "changed",
    "settings": "rollout settings only",
    "invalid": "invalid at head",
    "orphaned": "removed",
    "unchanged": "unchanged",
}
SETTINGS_ONLY = (
    "no rollout will run: the content hash (model, instanceType, instanceCount) is "
    "unchanged; the new settings apply to the next rollout"
)
PRUNED = "declaration removed; the endpoint is deleted (SMGITOPS_PRUNE is on)"


class Located(NamedTuple):
    """A validation problem: ``file:line: field: reason``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.file else self.message


_LOCATED = re.compile(r"(?P<file>.+?):(?P<line>\d+): (?P<message>.*)", re.DOTALL)
_GOT = re.compile(r" \(got .*\)(?=;|$)", re.DOTALL)  # the loader's "(got <the value>)"


def locate(problem: str) -> Located:
    """A problem string split into file, line and message; the value of an environment
    variable the loader quotes (``(got 12345)``) is left out."""
    match = _LOCATED.fullmatch(problem)
    if match is None:
        return Located("", 0, problem)
    message = match["message"]
    if message.startswith("spec.model.environment"):
        message = _GOT.sub(" (value not shown)", message)
    return Located(match["file"], int(match["line"]), message)


class Review(NamedTuple):
    """The pull-request plan: per endpoint what merging head changes, and head's problems."""

    changes: tuple[Change, ...]
    problems: tuple[Located, ...]
    header: dict[str, Any]  # base / head refs and commits, declarationsDir
    base_problems: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def invalid_files(self) -> int:
        return len({p.file for p in self.problems})

    def summary(self) -> dict[str, int]:
        return {
            **{action: self.count(action) for action in REVIEW_ORDER},
            "invalidFiles": self.invalid_files(),
        }

    def summary_line(self) -> str:
        """``smgitops plan: 2 endpoints change (1 created, 1 changed), 1 unchanged, …``"""
        created, changed = self.count("create"), self.count("update")
        rollouts = created + changed
        parts = [f"{rollouts} endpoint{'s change' if rollouts != 1 else ' changes'}"]
        kinds = [f"{n} {kind}" for n, kind in ((created, "created"), (changed, "changed")) if n]
        if kinds:
            parts[0] += f" ({', '.join(kinds)})"
        others: tuple[tuple[Action, str], ...] = (
            ("settings", "rollout settings only"),
            ("orphaned", "removed"),
            ("invalid", "not planned (invalid)"),
        )
        for action, label in others:
            if self.count(action):
                parts.append(f"{self.count(action)} {label}")
        parts.append(f"{self.count('unchanged')} unchanged")
        files = self.invalid_files()
        if files:
            parts.append(f"{files} invalid file{'s' if files != 1 else ''}")
        return "smgitops plan: " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.header,
            "valid": self.valid,
            "summaryLine": self.summary_line(),
            "summary": self.summary(),
            "problems": [p._asdict() for p in self.problems],
            "baseProblems": self.base_problems,
            "changes": [c.to_json() for c in self.changes],
        }


def review_fields(declaration: Declaration) -> dict[str, Any]:
    """:func:`fields_of` and ``model.framework``: every deployable field, in reading order."""
    fields = fields_of(declaration)
    framework = declaration.deployable()["model"].get("framework")
    return {"model.image": fields.pop("model.image"), "model.framework": framework, **fields}


def settings_of(declaration: Declaration) -> dict[str, Any]:
    """What is declared beside the deployable part: the rollout settings and the tags."""
    rollout = declaration.spec.rollout.model_dump(mode="json", by_alias=True)
    out = _flatten("rollout", rollout)
    out["metadata.tags"] = dict(declaration.metadata.tags)
    return out


def _flatten(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out |= _flatten(f"{prefix}.{key}", value)
        else:
            out[f"{prefix}.{key}"] = value
    return out


def review(base: DesiredState, head: DesiredState, header: Mapping[str, Any]) -> Review:
    """Compare the desired state at head with the one at base, endpoint by endpoint.

    Base stands for what is deployed. An endpoint declared at base whose file is invalid at
    head (or every one, when head's ``.smgitops.yaml`` is invalid and nothing was read) is
    ``invalid``, not orphaned: merging would not remove it.
    """
    problems = tuple(locate(p) for p in head.problems)
    unreadable = {p.file for p in problems}
    nothing_read = any(p.file == ".smgitops.yaml" for p in problems)
    changes = []
    for name in sorted(base.declarations.keys() | head.declarations.keys()):
        before, after = base.declarations.get(name), head.declarations.get(name)
        base_file, file = base.paths.get(name, ""), head.paths.get(name, "")
        if after is None:
            if nothing_read or base_file in unreadable:
                note = "its file is invalid at head: not planned"
                changes.append(Change(name, "invalid", base_file, note=note))
            else:
                note = PRUNED if head.config.prune else ORPHANED
                changes.append(Change(name, "orphaned", base_file, note=note))
        elif before is None:
            deployed = diff({}, review_fields(after))  # what it serves, as added fields
            changes.append(Change(name, "create", file, deployed, rollout=planned(after, None)))
        else:
            changes.append(_reviewed(name, before, after, file, base_file))
    order = sorted(changes, key=lambda c: (REVIEW_ORDER.index(c.action), c.endpoint))
    return Review(tuple(order), problems, dict(header), len(base.problems))


def _reviewed(name: str, before: Declaration, after: Declaration, file: str, was: str) -> Change:
    moved = was if was != file else ""
    settings = diff(settings_of(before), settings_of(after), unset=True)
    if before.content_hash() != after.content_hash():
        diffs = diff(review_fields(before), review_fields(after), unset=True) + settings
        scaled = before.spec.autoscaling is not None
        plan = planned(after, of_spec(before.spec), scaled=scaled)
        return Change(name, "update", file, diffs, rollout=plan, base_file=moved)
    if settings:
        return Change(name, "settings", file, settings, SETTINGS_ONLY, base_file=moved)
    return Change(name, "unchanged", file, base_file=moved)


# --- rendering ------------------------------------------------------------------------------

MAX_LISTED = 50  # problems, table rows and unchanged names in a comment; the rest are counted
MAX_SECTIONS = 25  # per-endpoint sections in a comment (GitHub caps a comment at 65,536 chars)
MARKER = "<!-- smgitops-plan -->"


def _where(review: Review) -> tuple[str, str, str]:
    """(folder, base, head), each side as ``ref (commit)`` or the short commit alone."""
    sides = []
    for side in ("base", "head"):
        info = review.header.get(side) or {}
        ref, commit = str(info.get("ref", "")), str(info.get("commit", ""))
        named = ref and not commit.startswith(ref)  # a branch or tag, not (part of) the sha
        sides.append(f"{ref} ({commit[:12]})" if named else commit[:12])
    return str(review.header.get("declarationsDir", "")), sides[0], sides[1]


def _refused(review: Review) -> str:
    count = len(review.problems)
    which = "this problem is" if count == 1 else f"these {count} problems are"
    return f"head is invalid: merged as it is, it deploys nothing until {which} fixed"


def render_review_text(review: Review) -> str:
    folder, base, head = _where(review)
    lines = [review.summary_line(), f"{folder}: base {base} -> head {head}"]
    if review.problems:
        lines += ["", f"{_refused(review)}:"]
        lines += [f"  {problem}" for problem in review.problems]
    if review.changes:
        lines += ["", *text_changes(review.changes)]
    return "\n".join(lines)


def render_review_markdown(review: Review) -> str:
    """The pull-request comment (structure documented in docs/workflow.md)."""
    folder, base, head = _where(review)
    parts = [
        MARKER,
        f"### {review.summary_line()}",
        f"Declarations in {code(folder)} · base {code(base)} → head {code(head)}",
    ]
    if review.problems:
        parts.append(f"**:x: {_refused(review).capitalize()}.**")  # no proper nouns in it
        shown = [
            f"- {code(f'{p.file}:{p.line}' if p.file else '(repository)')}: {code(p.message)}"
            for p in review.problems[:MAX_LISTED]
        ]
        shown += _more(len(review.problems), "problems: run `smgitops validate` for all")
        parts += [f"#### Validation errors ({len(review.problems)})", "\n".join(shown)]
    parts += _endpoint_table(review)
    detailed = [c for c in review.changes if c.action in ("create", "update", "settings")]
    parts += [_section(change) for change in detailed[:MAX_SECTIONS]]
    if len(detailed) > MAX_SECTIONS:
        parts.append(
            f"_{len(detailed) - MAX_SECTIONS} more endpoints not detailed here: run "
            "`smgitops plan --base BASE --head HEAD` for all._"
        )
    return "\n\n".join(parts) + "\n"


def _more(total: int, what: str) -> list[str]:
    return [f"- … and {total - MAX_LISTED} more {what}"] if total > MAX_LISTED else []


def _endpoint_table(review: Review) -> list[str]:
    listed = [c for c in review.changes if c.action != "unchanged"]
    unchanged = [c.endpoint for c in review.changes if c.action == "unchanged"]
    parts = ["#### Endpoints"]
    if listed:
        rows = [
            "| | endpoint | change | what | rollout | minimum | peak capacity |",
            "|---|---|---|---|---|---|---|",
        ]
        rows += [_row(change) for change in listed[:MAX_LISTED]]
        rows += _more(len(listed), "endpoints")
        parts.append("\n".join(rows))
    if unchanged:
        names = ", ".join(code(name) for name in unchanged[:MAX_LISTED])
        extra = f" and {len(unchanged) - MAX_LISTED} more" if len(unchanged) > MAX_LISTED else ""
        parts.append(f"Unchanged ({len(unchanged)}): {names}{extra}")
    if not review.changes:
        parts.append("No endpoints declared.")
    return parts


def _row(change: Change) -> str:
    what = {
        "update": ", ".join(cell(f) for f in changed_fields(change)),
        "settings": ", ".join(cell(d.field) for d in change.settings_diffs),
        "invalid": "its file is invalid at head",
        "orphaned": change.note,
    }.get(change.action, "")
    rollout, minimum, peak = "none", "—", "—"
    if change.rollout is not None:
        rollout, minimum = change.rollout.short(cell), change.rollout.minimum()
        peak = change.rollout.peak(cell)
        if change.action == "create":
            values = {d.field: d.after for d in change.diffs}
            what = f"{cell(str(values.get('instanceType')))} × {values.get('instanceCount')}"
    return (
        f"| {SYMBOLS[change.action]} | {cell(change.endpoint)} | {LABELS[change.action]} "
        f"| {what} | {rollout} | {minimum} | {peak} |"
    )


def _section(change: Change) -> str:
    file = code(change.file)
    if change.base_file:
        file += f" (moved from {code(change.base_file)})"
    lines = [f"#### {code(change.endpoint)}: {LABELS[change.action]}", file]
    if change.action == "settings":
        lines[-1] += f": {change.note}."
    lines += _field_table(change)
    if change.rollout is not None:
        bullets = [f"- {line}" for line in change.rollout.details(code, moments=False)]
        lines.append("\n".join([f"**Rollout:** {change.rollout.headline(code)}", *bullets]))
        capacity = change.rollout.capacity
        if capacity is not None and len(capacity.moments) > 1:
            lines.append(capacity.markdown_table(cell))
    return "\n\n".join(lines)


def _field_table(change: Change) -> list[str]:
    rows = field_lines(change.diffs, cell)
    if not rows:
        return []
    if change.action == "create":  # nothing to compare with: what it will serve
        table = ["| field | head |", "|---|---|"]
        table += [f"| {cell(f)} | {a if b is None else cell(a)} |" for f, b, a in rows]
    else:
        table = ["| field | base | head |", "|---|---|---|"]
        table += [
            f"| {cell(f)} | {cell(b or '')} | {a if b is None else cell(a)} |" for f, b, a in rows
        ]
    return ["\n".join(table)]
