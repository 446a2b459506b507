"""The capacity a rollout holds at each moment, and at its peak: what the account's quotas must
allow (:func:`rollout_capacity`).

SageMaker counts capacity per resource: instances per instance type (the quota
"<type> for endpoint usage"), and for serverless endpoints the concurrency of all of them in the
region ("Maximum total concurrency that can be allocated across all serverless endpoints") and
their provisioned concurrency. A variant holds one of those: ``instanceCount`` × its
``instanceType``, or its ``serverless.maxConcurrency`` (and ``provisionedConcurrency``).

The moments follow what the engine does (rollout/decide): every ``UpdateEndpoint`` deploys the
new endpoint config on a new fleet, the variant that stays included, and stops the old fleet
only once the new one is in service (botocore ``UpdateEndpoint``: "Deploys the EndpointConfig
... to a new fleet of instances"), so during an update both configs' capacity runs at once.
Weight shifts (``UpdateEndpointWeightsAndCapacities``) start no fleet. Whether a serverless
update holds the old config's concurrency until the new one serves is not documented; it is
counted like instances (the larger figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smgitops.declaration.models import Strategy
from smgitops.rollout.strategies import traffic_steps

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from smgitops.declaration.models import EndpointSpec, RolloutSpec

Resources = dict[str, int]
"""Resource → amount: ``{"ml.g5.xlarge": 2}`` or ``{SERVERLESS: 20, PROVISIONED: 2}``."""

SERVERLESS = "serverless concurrency"
PROVISIONED = "serverless provisioned concurrency"
# The serverless quotas' names: the total one as AWS re:Post answers quote the Service Quotas
# console; the provisioned one is this module's wording (not checked against the console).
QUOTAS = {
    SERVERLESS: "Maximum total concurrency that can be allocated across all serverless endpoints",
    PROVISIONED: "Total provisioned concurrency across serverless endpoints",
}


def as_is(text: str) -> str:
    """Plain text: ``text`` unchanged (the renderers pass their own quote)."""
    return text


def quota_name(resource: str) -> str:
    """The Service Quotas name (SageMaker) that bounds ``resource`` in the account and region."""
    return QUOTAS.get(resource, f"{resource} for endpoint usage")


def held(resource: str, amount: int, quote: Callable[[str], str] = as_is) -> str:
    """``6 × ml.g5.xlarge`` (instances), ``serverless concurrency 40``."""
    return f"{quote(resource)} {amount}" if resource in QUOTAS else f"{amount} × {quote(resource)}"


def of_spec(spec: EndpointSpec) -> Resources:
    """What one variant of ``spec`` may hold: an autoscaled variant up to ``maxInstances`` (the
    stable one keeps its live count through a rollout, the candidate scales out under load)."""
    if spec.autoscaling is not None and spec.instance_type:
        return {spec.instance_type: spec.autoscaling.max_instances}
    if spec.serverless is not None:
        return _serverless(spec.serverless.max_concurrency, spec.serverless.provisioned_concurrency)
    return {spec.instance_type: spec.instance_count} if spec.instance_type else {}


def _serverless(concurrency: int, provisioned: int | None) -> Resources:
    held = {SERVERLESS: concurrency}
    if provisioned:
        held[PROVISIONED] = int(provisioned)
    return held


def _plus(*parts: Resources) -> Resources:
    total: Resources = {}
    for part in parts:
        for resource, amount in part.items():
            total[resource] = total.get(resource, 0) + amount
    return total


def _times(held: Resources, factor: int) -> Resources:
    return {resource: amount * factor for resource, amount in held.items()}


@dataclass(frozen=True)
class Moment:
    """What runs at one moment of the rollout: the stable model's and the new model's capacity
    (both fleets counted during an update)."""

    label: str
    stable: Resources
    new: Resources
    weight: float | None = None  # the new model's share of traffic, while it serves
    update: bool = False  # an UpdateEndpoint in flight: two fleets
    step: bool = False  # a traffic step (weights only): steps in a row are shown as one

    @property
    def total(self) -> Resources:
        return _plus(self.stable, self.new)

    def to_json(self) -> dict[str, Any]:
        return {
            "moment": self.label,
            "weight": self.weight,
            "update": self.update,
            "stable": self.stable,
            "new": self.new,
            "total": self.total,
        }


@dataclass(frozen=True)
class CapacityPlan:
    """Every moment of one endpoint's rollout, in order (a rollback last: it may come from any
    step)."""

    moments: tuple[Moment, ...]
    autoscaled: bool = False  # a variant's amounts are its autoscaling maxInstances
    live: bool = False  # the stable variant's amounts are what it runs now (DescribeEndpoint)

    def peak(self) -> Resources:
        """Per resource, the most held at any moment."""
        peak: Resources = {}
        for moment in self.moments:
            for resource, amount in moment.total.items():
                peak[resource] = max(peak.get(resource, 0), amount)
        return peak

    def peak_moment(self, resource: str) -> Moment:
        """The first moment at which ``resource`` reaches its peak."""
        top = self.peak()[resource]
        return next(m for m in self.moments if m.total.get(resource, 0) == top)

    def summary(self, quote: Callable[[str], str] = as_is) -> list[str]:
        """``capacity: peak …`` per resource, with the quota that must allow it."""
        scaled = ""
        if self.live:
            maximum = ", an autoscaled new variant at maxInstances" if self.autoscaled else ""
            scaled = f" (the stable variant at the count it runs now{maximum})"
        elif self.autoscaled:
            scaled = " (autoscaled variants counted at maxInstances)"
        return [
            f"capacity: up to {held(resource, amount, quote)} at once{scaled} "
            f"({self.peak_moment(resource).label}): the quota {quote(quota_name(resource))} "
            "must allow it, or SageMaker refuses the update with ResourceLimitExceeded"
            for resource, amount in self.peak().items()
        ]

    def moment_lines(self, quote: Callable[[str], str] = as_is) -> list[str]:
        """One line per moment (steps in a row holding the same capacity merged)."""
        return [f"{label}: {_amounts(moment, quote)}" for label, moment in self.grouped()]

    def markdown_table(self, quote: Callable[[str], str] = as_is) -> str:
        """The moments as a Markdown table: stable, new and total per resource."""
        rows = ["| moment | stable | new | total |", "|---|---|---|---|"]
        for label, moment in self.grouped():
            stable, new, total = (
                ", ".join(held(r, n, quote) for r, n in part.items()) or "—"
                for part in (moment.stable, moment.new, moment.total)
            )
            rows.append(f"| {label} | {stable} | {new} | {total} |")
        return "\n".join(rows)

    def grouped(self) -> list[tuple[str, Moment]]:
        """The moments for people: steps in a row that hold the same capacity in one line."""
        rows: list[tuple[str, Moment]] = []
        run: list[Moment] = []

        def close() -> None:
            if run:
                weights = " → ".join(f"{m.weight:g}" for m in run)
                rows.append((f"serving at {weights} %", run[0]))
                run.clear()

        for moment in self.moments:
            if moment.step:
                if run and (run[0].stable, run[0].new) != (moment.stable, moment.new):
                    close()
                run.append(moment)
                continue
            close()
            rows.append((moment.label, moment))
        close()
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "autoscaled": self.autoscaled,
            "stableLive": self.live,
            "peak": self.peak(),
            "quotas": [
                {
                    "resource": resource,
                    "quota": quota_name(resource),
                    "peak": amount,
                    "at": self.peak_moment(resource).label,
                }
                for resource, amount in self.peak().items()
            ],
            "moments": [moment.to_json() for moment in self.moments],
        }


def _amounts(moment: Moment, quote: Callable[[str], str]) -> str:
    parts = []
    for resource, total in moment.total.items():
        stable, new = moment.stable.get(resource, 0), moment.new.get(resource, 0)
        split = f" ({stable} stable + {new} new)" if stable and new else ""
        parts.append(f"{held(resource, total, quote)}{split}")
    return ", ".join(parts) or "nothing"


def rollout_capacity(
    rollout: RolloutSpec,
    new: Resources,
    stable: Resources | None,
    *,
    autoscaled: bool = False,
    live: bool = False,
) -> CapacityPlan:
    """The moments of the rollout of a variant holding ``new`` onto an endpoint whose stable
    variant holds ``stable`` (``None``: a new endpoint, created serving); ``autoscaled``: the
    amounts are maxInstances (:func:`of_spec`), which the summary says; ``live``: ``stable``
    is what the live variant runs now (:func:`of_live`), not what its declaration says."""
    return CapacityPlan(_moments(rollout, new, stable), autoscaled, live)


def of_live(
    instance_type: str, count: int, serverless: Mapping[str, Any] | None = None
) -> Resources:
    """What a live variant holds now: ``count`` instances (DescribeEndpoint's desired count: an
    autoscaled variant's, whatever its declaration says; the stable variant keeps it through a
    rollout, rollout/decide/scaling.py), or its ``ServerlessConfig``'s concurrency."""
    if serverless is not None:
        provisioned = serverless.get("ProvisionedConcurrency")
        return _serverless(int(serverless.get("MaxConcurrency", 0)), provisioned)
    return {instance_type: count} if instance_type and count > 0 else {}


def swaps(rollout: RolloutSpec, new: Resources, stable: Resources | None) -> bool:
    """A blueGreen rollout to or from serverless: SageMaker holds one production variant on a
    serverless endpoint, so the new model replaces the stable one in one update, bakes alone,
    and a rollback swaps the stable one back (rollout/decide/resources.swapped): never two
    variants side by side."""
    serverless = SERVERLESS in new or SERVERLESS in (stable or {})
    return stable is not None and serverless and rollout.strategy == Strategy.BLUE_GREEN


def _moments(rollout: RolloutSpec, new: Resources, stable: Resources | None) -> tuple[Moment, ...]:
    none: Resources = {}
    if stable is None:
        return (Moment("created serving 100 %", none, new, 100.0),)
    two_stable, two_new = _times(stable, 2), _times(new, 2)
    moments = [Moment("before: the stable model alone", stable, none)]
    after = Moment("after: the new model alone", none, new, 100.0)
    if swaps(rollout, new, stable):
        swap = "the swap to the new model: both configs during the update"
        back = "a rollback: the swap back, both configs during the update"
        baking = "the new model alone, baking with the checks"
        return (
            *moments,
            Moment(swap, stable, new, update=True),
            Moment(baking, none, new, 100.0),
            Moment(back, stable, new, update=True),
        )
    if rollout.strategy == Strategy.ALL_AT_ONCE:
        switch = Moment("the update to the new model: both fleets", stable, new, update=True)
        return (*moments, switch, after)
    if rollout.strategy == Strategy.SHADOW:
        adding = "adding the shadow variant: the old fleet and the new"
        copied = f"the shadow run ({rollout.shadow.sampling_percent} % of requests copied)"
        moments += [
            Moment(adding, two_stable, new, update=True),
            Moment(copied, stable, new, 0.0),
        ]
        if rollout.shadow.then == "stop":
            removing = "removing the shadow variant: both fleets"
            return (*moments, Moment(removing, two_stable, new, update=True))
        becoming = "the shadow becomes a canary at 0 %: both fleets"
        moments.append(Moment(becoming, two_stable, two_new, update=True))
    else:
        adding = "adding the new model at 0 %: the old fleet and the new"
        moments.append(Moment(adding, two_stable, new, update=True))
    moments += [Moment(f"serving at {w:g} %", stable, new, w, step=True) for w in _steps(rollout)]
    promoting = "promoting: both fleets until the new model alone serves"
    rollback = "a rollback (from any step): both fleets until the stable model alone serves"
    moments += [
        Moment(promoting, stable, two_new, update=True),
        after,
        Moment(rollback, two_stable, new, update=True),
    ]
    return tuple(moments)


def _steps(rollout: RolloutSpec) -> Iterable[float]:
    steps = traffic_steps(rollout)
    return steps if steps and steps[0] == 0.0 else [0.0, *steps]
