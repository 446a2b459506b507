"""The pull-request plan: the desired state at a head ref against the one at a base ref.

``smgitops plan --base REF --head REF`` reads both refs from a local clone (no AWS) and
says, per endpoint, what merging head changes: created / changed (the deployable fields that
differ) / rollout settings only (no rollout: the content hash is unchanged) / removed
(orphaned) / unchanged, the rollout each change starts (:class:`RolloutPlan`: strategy,
traffic steps, bake per step, validation, gates, checks, minimum duration) and every
validation problem at head. Base stands for what is deployed.

Rendered as text, JSON, or the Markdown comment the GitHub workflow of ``smgitops init``
posts (structure documented in docs/workflow.md).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from smgitops.declaration.models import Strategy
from smgitops.plan.diff import (
    ORPHANED,
    SYMBOLS,
    Action,
    Change,
    cell,
    changed_fields,
    code,
    diff,
    field_lines,
    fields_of,
    same,
    text_changes,
)
from smgitops.rollout.strategies import minimum_duration, traffic_steps

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from smgitops.declaration.models import Declaration, RolloutSpec
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
PRUNED = "declaration removed; the endpoint is deleted (prune: true in .smgitops.yaml)"


# --- the rollout a change starts -------------------------------------------------------------


def human(seconds: int) -> str:
    """``900`` → ``15m``, ``5430`` → ``1h 30m 30s``, ``0`` → ``0s``."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"


class RolloutPlan(NamedTuple):
    """What the engine will do for one endpoint, from its declaration at the head ref."""

    rollout: RolloutSpec
    first_deploy: bool = False  # a new endpoint: created at 100 %, no steps
    package: bool = False  # model.modelPackageArn: approval gating

    @property
    def strategy(self) -> Strategy:
        return self.rollout.strategy

    @property
    def stepped(self) -> bool:
        """Traffic moves in steps with bakes, checks, validation and gates."""
        if self.first_deploy or self.strategy == Strategy.ALL_AT_ONCE:
            return False
        return not (self.strategy == Strategy.SHADOW and self.rollout.shadow.then == "stop")

    def traffic(self) -> list[float]:
        """The new model's share of traffic, in order (``[0, 10, 50, 100]``)."""
        if self.first_deploy:
            return [100.0]
        if self.strategy == Strategy.ALL_AT_ONCE:
            return [0.0, 100.0]
        steps = traffic_steps(self.rollout)
        if not steps:  # shadow, then stop: the new model never serves
            return []
        tail = [] if self.strategy == Strategy.AB_TEST else [100.0]  # held until promoted
        out: list[float] = []
        for percent in [0.0, *steps, *tail]:
            if not out or out[-1] != percent:
                out.append(percent)
        return out

    def steps_line(self) -> str:
        traffic = self.traffic()
        return " → ".join(f"{p:g}" for p in traffic) + " %" if traffic else ""

    def minimum_seconds(self) -> int:
        return 0 if self.first_deploy else minimum_duration(self.rollout)

    def waits_for_people(self) -> list[str]:
        """What else the duration depends on: gates and an A/B hold wait for a person."""
        waits = []
        if self.stepped and self.rollout.gates:
            waits.append("waiting at gates")
        if self.stepped and self.strategy == Strategy.AB_TEST:
            waits.append("holding until promoted")
        return waits

    def minimum(self) -> str:
        """The minimum duration, for people: ``15m``, ``15m + waiting at gates``, ``—``."""
        if self.first_deploy:
            return "—"
        return " + ".join([human(self.minimum_seconds()), *self.waits_for_people()])

    def headline(self, quote: Callable[[str], str] = same) -> str:
        rollout = self.rollout
        bake = f"bake {human(rollout.interval_seconds)} per step"
        steps = quote(self.steps_line())
        if self.first_deploy:
            return "new endpoint: created serving 100 % (no steps: there is no stable model yet)"
        if self.strategy == Strategy.ALL_AT_ONCE:
            return f"allAtOnce: {steps} in one update (no bake, checks, validation or gates)"
        if self.strategy == Strategy.SHADOW:
            shadow = rollout.shadow
            copied = (
                f"shadow: {shadow.sampling_percent} % of requests copied to the new model for "
                f"{human(shadow.duration_seconds(rollout.interval_seconds))} (it answers no one)"
            )
            if shadow.then == "stop":
                return f"{copied}, then stop: a report only, the stable model keeps serving"
            return f"{copied}, then canary {steps}, {bake}"
        line = f"{self.strategy.value} {steps}, {bake}"
        if self.strategy == Strategy.BLUE_GREEN:
            line += " (the new fleet bakes at 0 % first)"
        if self.strategy == Strategy.AB_TEST:
            line += f", held at {rollout.split} % until {quote('smgitops promote')}, then 100 %"
        return line

    def short(self, quote: Callable[[str], str] = same) -> str:
        """The rollout in a few words, for a table cell: ``canary `0 → 10 → 100 %```."""
        if self.first_deploy:
            return "created at 100 %"
        if self.strategy == Strategy.SHADOW:
            then = (
                "stop (report only)" if not self.stepped else f"canary {quote(self.steps_line())}"
            )
            return f"shadow, then {then}"
        held = ", held until promoted" if self.strategy == Strategy.AB_TEST else ""
        return f"{self.strategy.value} {quote(self.steps_line())}{held}"

    def details(self, quote: Callable[[str], str] = same) -> list[str]:
        """One line per declared safeguard that applies (validation, gates, checks…)."""
        rollout = self.rollout
        lines: list[str] = []
        if self.package:
            lines.append(
                "model registry: deploys only an Approved package version (waits up to "
                f"{rollout.approval_timeout} while pending; Rejected fails the rollout)"
            )
        if self.first_deploy:
            later = RolloutPlan(rollout, package=self.package)
            return [*lines, f"later changes: {later.headline(quote)}"]
        if self.strategy == Strategy.ALL_AT_ONCE:
            return lines
        if self.stepped and rollout.validation is not None:
            patterns = ", ".join(quote(p) for p in rollout.validation.requests)
            lines.append(
                f"validation: golden requests {patterns} sent to the new model before any "
                f"traffic shifts (minScore {rollout.validation.min_score:g})"
            )
        if self.stepped and rollout.gates:
            gates = ", ".join(quote(g) for g in rollout.gates)
            lines.append(
                f"gates: {gates}: each waits for {quote('smgitops promote')} "
                f"(rolls back after {rollout.gate_timeout})"
            )
        lines.append(self._checks(quote))
        compare = rollout.analysis.compare
        if compare is not None:
            judged = ", ".join(
                f"{quote(m.label)} ({m.direction}, tolerance {m.tolerance * 100:g} %)"
                for m in compare.metrics
            )
            lines.append(
                f"compare with the stable model each step: {judged}; at least "
                f"{compare.min_samples} invocations per variant"
            )
        lines.append(f"minimum duration: {self.minimum()}")
        return lines

    def _checks(self, quote: Callable[[str], str]) -> str:
        analysis = self.rollout.analysis
        found = [f"alarm {quote(name)}" for name in analysis.alarms]
        found += [f"{quote(m.metric)} {m.statistic} > {m.max:g}" for m in analysis.metrics]
        if not found:
            return "checks: none declared (only a failed endpoint update rolls it back)"
        failed = self.rollout.max_failed_checks
        return (
            f"checks each step: {', '.join(found)}; rolls back after {failed} failed "
            f"check{'s' if failed != 1 else ''}"
        )

    def to_json(self) -> dict[str, Any]:
        rollout = self.rollout
        return {
            "strategy": self.strategy.value,
            "firstDeploy": self.first_deploy,
            "traffic": self.traffic(),
            "steps": self.steps_line(),
            "bakeSeconds": 0 if not self.stepped else rollout.interval_seconds,
            "minimumSeconds": self.minimum_seconds(),
            "minimum": self.minimum(),
            "gates": list(rollout.gates) if self.stepped else [],
            "validation": _dump(rollout.validation) if self.stepped else None,
            "compare": _dump(rollout.analysis.compare),
            "description": [self.headline(), *self.details()],
        }


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json", by_alias=True)


# --- the pull-request plan: the desired state at head against the one at base ----------------


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
            plan = RolloutPlan(after.spec.rollout, True, _package(after))
            deployed = diff({}, review_fields(after))  # what it serves, as added fields
            changes.append(Change(name, "create", file, deployed, rollout=plan))
        else:
            changes.append(_reviewed(name, before, after, file, base_file))
    order = sorted(changes, key=lambda c: (REVIEW_ORDER.index(c.action), c.endpoint))
    return Review(tuple(order), problems, dict(header), len(base.problems))


def _package(declaration: Declaration) -> bool:
    return declaration.spec.model.model_package_arn is not None


def _reviewed(name: str, before: Declaration, after: Declaration, file: str, was: str) -> Change:
    moved = was if was != file else ""
    settings = diff(settings_of(before), settings_of(after), unset=True)
    if before.content_hash() != after.content_hash():
        diffs = diff(review_fields(before), review_fields(after), unset=True) + settings
        plan = RolloutPlan(after.spec.rollout, package=_package(after))
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
            "| | endpoint | change | what | rollout | minimum |",
            "|---|---|---|---|---|---|",
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
    rollout, minimum = "none", "—"
    if change.rollout is not None:
        rollout, minimum = change.rollout.short(cell), change.rollout.minimum()
        if change.action == "create":
            values = {d.field: d.after for d in change.diffs}
            what = f"{cell(str(values.get('instanceType')))} × {values.get('instanceCount')}"
    return (
        f"| {SYMBOLS[change.action]} | {cell(change.endpoint)} | {LABELS[change.action]} "
        f"| {what} | {rollout} | {minimum} |"
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
        bullets = [f"- {line}" for line in change.rollout.details(code)]
        lines.append("\n".join([f"**Rollout:** {change.rollout.headline(code)}", *bullets]))
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
