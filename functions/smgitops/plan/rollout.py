"""The rollout a change starts, as the pull-request plan shows it: strategy, traffic steps, bake
per step, validation, gates, checks, the minimum duration and the capacity it holds
(:class:`RolloutPlan`; the arithmetic is :mod:`smgitops.rollout.capacity`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from smgitops.declaration.models import Strategy
from smgitops.declaration.safeguards import TrafficSpec
from smgitops.plan.quote import as_is
from smgitops.rollout.capacity import held, of_spec, rollout_capacity, swaps
from smgitops.rollout.strategies import minimum_duration, traffic_steps

if TYPE_CHECKING:
    from collections.abc import Callable

    from smgitops.declaration.models import Declaration, RolloutSpec
    from smgitops.rollout.capacity import CapacityPlan, Resources


def format_duration(seconds: int) -> str:
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
    capacity: CapacityPlan | None = None  # the capacity at each moment (None: not known)
    swap: bool = False  # blueGreen to or from serverless: one update, one bake alone

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
        if self.strategy == Strategy.ALL_AT_ONCE or self.swap:
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
        if self.swap:  # one bake, the new model alone
            return self.rollout.interval_seconds
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
        return " + ".join([format_duration(self.minimum_seconds()), *self.waits_for_people()])

    def headline(self, quote: Callable[[str], str] = as_is) -> str:
        rollout = self.rollout
        bake = f"bake {format_duration(rollout.interval_seconds)} per step"
        steps = quote(self.steps_line())
        if self.first_deploy:
            return "new endpoint: created serving 100 % (no steps: there is no stable model yet)"
        if self.strategy == Strategy.ALL_AT_ONCE:
            return f"allAtOnce: {steps} in one update (no bake, checks, validation or gates)"
        if self.strategy == Strategy.SHADOW:
            shadow = rollout.shadow
            lasting = format_duration(shadow.duration_seconds(rollout.interval_seconds))
            copied = (
                f"shadow: {shadow.sampling_percent} % of requests copied to the new model for "
                f"{lasting} (it answers no one)"
            )
            if shadow.then == "stop":
                return f"{copied}, then stop: a report only, the stable model keeps serving"
            return f"{copied}, then canary {steps}, {bake}"
        if self.swap:
            return (
                f"blueGreen as a swap (a serverless endpoint holds one variant): {steps} in one "
                f"update, the new model bakes {format_duration(rollout.interval_seconds)} alone "
                "with the checks, swapped back on a failure"
            )
        line = f"{self.strategy.value} {steps}, {bake}"
        if self.strategy == Strategy.BLUE_GREEN:
            line += " (the new fleet bakes at 0 % first)"
        if self.strategy == Strategy.AB_TEST:
            line += f", held at {rollout.split} % until {quote('smgitops promote')}, then 100 %"
        return line

    def short(self, quote: Callable[[str], str] = as_is) -> str:
        """The rollout in a few words, for a table cell: ``canary `0 → 10 → 100 %```."""
        if self.first_deploy:
            return "created at 100 %"
        if self.strategy == Strategy.SHADOW:
            then = (
                "stop (report only)" if not self.stepped else f"canary {quote(self.steps_line())}"
            )
            return f"shadow, then {then}"
        if self.swap:
            return f"blueGreen swap {quote(self.steps_line())}"
        held = ", held until promoted" if self.strategy == Strategy.AB_TEST else ""
        return f"{self.strategy.value} {quote(self.steps_line())}{held}"

    def details(self, quote: Callable[[str], str] = as_is, *, moments: bool = True) -> list[str]:
        """One line per declared safeguard that applies (validation, gates, checks…), then the
        capacity (with ``moments``: a line per moment of the rollout, indented)."""
        rollout = self.rollout
        lines: list[str] = []
        if self.package:
            lines.append(
                "model registry: deploys only an Approved package version (waits up to "
                f"{rollout.approval_timeout} while pending; Rejected fails the rollout)"
            )
        if self.first_deploy:
            later = RolloutPlan(rollout, package=self.package)
            created = self._capacity(quote, moments=False)  # one moment: the peak says it
            return [*lines, f"later changes: {later.headline(quote)}", *created]
        if self.strategy == Strategy.ALL_AT_ONCE:
            return [*lines, *self._capacity(quote, moments=moments)]
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
        floor = rollout.analysis.floor
        if isinstance(floor, TrafficSpec) and self.strategy != Strategy.BLUE_GREEN:
            lines.append(f"traffic: {floor.requirement()}")
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
        return [*lines, *self._capacity(quote, moments=moments)]

    def _capacity(self, quote: Callable[[str], str], *, moments: bool) -> list[str]:
        if self.capacity is None:
            return []
        each = [f"  {line}" for line in self.capacity.moment_lines(quote)] if moments else []
        return [*self.capacity.summary(quote), *each]

    def peak(self, quote: Callable[[str], str] = as_is) -> str:
        """The peak capacity in a few words, for a table cell: ``6 × ml.g5.xlarge``."""
        if self.capacity is None:
            return "—"
        peak = self.capacity.peak().items()
        return ", ".join(held(resource, amount, quote) for resource, amount in peak) or "—"

    def _checks(self, quote: Callable[[str], str]) -> str:
        analysis = self.rollout.analysis
        found = [f"alarm {quote(name)}" for name in analysis.alarms]
        found += [f"{quote(m.metric)} {m.statistic} > {m.max:g}" for m in analysis.metrics]
        if not found and not self.rollout.checks:
            return f"checks: {self.rollout.checks_text()}"
        if not found:
            return "alarm checks: none declared (the comparison or golden requests decide)"
        failed = self.rollout.max_failed_checks
        if failed == 1:
            return f"checks each step: {', '.join(found)}; rolls back after 1 failed check"
        return (
            f"checks each step: {', '.join(found)}; rolls back after {failed} failed checks "
            "in the rollout, each one before holds the step's weight for another interval"
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
            "capacity": self.capacity.to_json() if self.capacity is not None else None,
            "swap": self.swap,
            "description": [self.headline(), *self.details()],
        }


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json", by_alias=True)


def planned(
    declaration: Declaration, stable: Resources | None, *, scaled: bool = False, live: bool = False
) -> RolloutPlan:
    """The rollout a push of ``declaration`` starts onto a stable variant holding ``stable``
    (``None``: a new endpoint), with its capacity (:func:`rollout_capacity`); ``scaled``: the
    stable variant is autoscaled; ``live``: ``stable`` is what it runs now."""
    spec = declaration.spec
    scaled = scaled or spec.autoscaling is not None
    new = of_spec(spec)
    capacity = rollout_capacity(spec.rollout, new, stable, autoscaled=scaled, live=live)
    package = spec.model.model_package_arn is not None
    return RolloutPlan(
        spec.rollout, stable is None, package, capacity, swaps(spec.rollout, new, stable)
    )
