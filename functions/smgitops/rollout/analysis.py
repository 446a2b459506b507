"""Canary-vs-stable judgement (Kayenta's approach), pure: stdlib ``math`` only.

* :func:`mann_whitney_u` — the Mann-Whitney U test, matching
  ``scipy.stats.mannwhitneyu`` (``method="auto"|"asymptotic"|"exact"``, ``use_continuity``):
  average ranks for ties, the tie-corrected normal approximation with continuity correction,
  and the exact null distribution for small samples without ties.
* :func:`relative_effect` — effect size: the relative difference of the means,
  ``(mean(candidate) - mean(stable)) / |mean(stable)|`` (Kayenta compares the mean ratio,
  which is this plus one).
* :func:`judge` — one metric: fail when the candidate is significantly worse (one-sided test
  in the declared direction, ``p < alpha``) *and* worse by more than the tolerance.
* :func:`judge_step` / :func:`compare_step` — a step: every metric, the ``minSamples`` rule
  (too few invocations → ``extend``, up to ``maxExtensions``, then the ``inconclusive`` policy).
* :func:`judge_traffic` — the same rule alone for a step checked by alarms: the candidate's
  ``traffic.minInvocations`` (an alarm on a variant nobody calls sees nothing).

One sample is one CloudWatch period's statistic of one variant (e.g. the average ModelLatency
of one minute); ``perInvocation`` samples are each period's Sum divided by its Invocations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, TypedDict

from smgitops.declaration.safeguards import CompareMetric, CompareSpec, StepFloor, TrafficSpec

Alternative = Literal["two-sided", "greater", "less"]
Method = Literal["auto", "asymptotic", "exact"]
Verdict = Literal["pass", "fail", "inconclusive"]
StepVerdict = Literal["pass", "fail", "extend"]

MIN_POINTS = 3
"""Fewer samples (periods) per variant than this and a metric is inconclusive."""
EXACT_MAX_SIZE = 8
"""scipy's rule: the exact distribution when a sample has at most 8 values and no ties."""
EXACT_MAX_CELLS = 200_000
"""Guard on the exact method's cost (n1 × n2 coefficients); scipy has none."""


# --- Mann-Whitney U ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MannWhitney:
    statistic: float
    """U of the first sample (scipy's ``statistic``): pairs (x, y) with x > y, ties half."""
    p_value: float
    method: Literal["asymptotic", "exact"]


def average_ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """1-based ranks (ties get the average of their ranks) and the size of each tie group."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    groups: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        rank = (start + end) / 2 + 1
        for index in order[start : end + 1]:
            ranks[index] = rank
        groups.append(end - start + 1)
        start = end + 1
    return ranks, groups


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z (scipy's ``ndtr(-z)``)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


@lru_cache(maxsize=64)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1+n2, n1) orderings give U = 0, 1, …, n1·n2 (no ties).

    The coefficients of the Gaussian binomial [n1+n2 choose m]_q, built as the product of
    (1 - q^(n+i)) / (1 - q^i) for i = 1..m (m = min, n = max): exact integers throughout.
    """
    small, large = min(n1, n2), max(n1, n2)
    size = small * large
    counts = [1] + [0] * size
    for i in range(1, small + 1):
        step = large + i
        for k in range(size, step - 1, -1):
            counts[k] -= counts[k - step]
        for k in range(i, size + 1):
            counts[k] += counts[k - i]
    return tuple(counts)


def _exact_sf(u: float, n1: int, n2: int) -> float:
    """P(U ≥ u) under the null hypothesis, from the exact distribution."""
    counts = _u_counts(n1, n2)
    first = max(0, math.ceil(u - 1e-9))
    return sum(counts[first:]) / sum(counts)


def _asymptotic_sf(u: float, n1: int, n2: int, ties: Sequence[int], continuity: bool) -> float:
    n = n1 + n2
    tie_term = sum(t**3 - t for t in ties)
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return 1.0  # every value is equal: no evidence either way
    numerator = u - n1 * n2 / 2 - (0.5 if continuity else 0.0)
    return normal_sf(numerator / math.sqrt(variance))


def choose_method(n1: int, n2: int, has_ties: bool) -> Literal["asymptotic", "exact"]:
    if (n1 > EXACT_MAX_SIZE and n2 > EXACT_MAX_SIZE) or has_ties or n1 * n2 > EXACT_MAX_CELLS:
        return "asymptotic"
    return "exact"


def mann_whitney_u(
    x: Sequence[float],
    y: Sequence[float],
    alternative: Alternative = "two-sided",
    *,
    method: Method = "auto",
    use_continuity: bool = True,
) -> MannWhitney:
    """Is ``x`` stochastically greater (``greater``), smaller (``less``) or different from ``y``?

    Same statistic and p-value as ``scipy.stats.mannwhitneyu(x, y, use_continuity,
    alternative, method)``.
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    if any(math.isnan(v) for v in (*x, *y)):
        raise ValueError("samples must not contain NaN")
    ranks, ties = average_ranks([*x, *y])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    if alternative == "greater":
        u, factor = u1, 1
    elif alternative == "less":
        u, factor = u2, 1
    else:
        u, factor = max(u1, u2), 2
    chosen = choose_method(n1, n2, any(t > 1 for t in ties)) if method == "auto" else method
    if chosen == "exact":
        p = _exact_sf(u, n1, n2)
    else:
        p = _asymptotic_sf(u, n1, n2, ties, use_continuity)
    return MannWhitney(statistic=u1, p_value=min(1.0, max(0.0, p * factor)), method=chosen)


# --- effect size --------------------------------------------------------------------------------


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else math.nan


def relative_effect(candidate: Sequence[float], stable: Sequence[float]) -> float:
    """``(mean(candidate) - mean(stable)) / |mean(stable)|``: +0.2 = the candidate is 20 % higher.

    A stable mean of 0 gives 0 when the candidate's is 0 too, else ±infinity (any increase
    over nothing exceeds every tolerance; the significance test still has to agree).
    """
    c, s = mean(candidate), mean(stable)
    if math.isnan(c) or math.isnan(s):
        return math.nan
    if s == 0:
        return 0.0 if c == 0 else math.copysign(math.inf, c)
    return (c - s) / abs(s)


# --- one metric ---------------------------------------------------------------------------------


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _percent(effect: float) -> str:
    if math.isinf(effect):
        return "∞ %"
    return f"{abs(effect) * 100:.1f} %"


class JudgementRecord(TypedDict):
    """A metric's judgement as the history keeps it (JSON: non-finite numbers are null)."""

    metric: str
    statistic: float | None
    pValue: float | None
    effect: float | None
    meanCandidate: float | None
    meanStable: float | None
    samplesCandidate: int
    samplesStable: int
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class Judgement:
    metric: str
    statistic: float
    p_value: float
    effect: float
    samples_candidate: int
    samples_stable: int
    verdict: Verdict
    reason: str
    mean_candidate: float = math.nan
    mean_stable: float = math.nan

    def as_dict(self) -> JudgementRecord:
        """JSON-safe (non-finite numbers become null) for the history."""
        return {
            "metric": self.metric,
            "statistic": _finite(self.statistic),
            "pValue": _finite(self.p_value),
            "effect": _finite(self.effect),
            "meanCandidate": _finite(self.mean_candidate),
            "meanStable": _finite(self.mean_stable),
            "samplesCandidate": self.samples_candidate,
            "samplesStable": self.samples_stable,
            "verdict": self.verdict,
            "reason": self.reason,
        }


def smallest_p(n1: int, n2: int) -> float:
    """The smallest one-sided p-value the U test can give with these sample sizes: every sample
    of one side above every sample of the other, 1 / C(n1 + n2, n1) (ties only raise it).
    3 against 3 gives 0.05, so a three-period step could never fail at the default alpha."""
    return 1.0 / math.comb(n1 + n2, n1)


def judge(candidate: Sequence[float], stable: Sequence[float], spec: CompareMetric) -> Judgement:
    """Is the candidate worse than stable on this metric, beyond chance and the tolerance?"""
    label = spec.label
    effect = relative_effect(candidate, stable)
    common: dict[str, Any] = {
        "metric": label,
        "effect": effect,
        "samples_candidate": len(candidate),
        "samples_stable": len(stable),
        "mean_candidate": mean(candidate),
        "mean_stable": mean(stable),
    }
    if min(len(candidate), len(stable)) < MIN_POINTS:
        reason = (
            f"{label}: too few samples ({len(candidate)} candidate, {len(stable)} stable; "
            f"{MIN_POINTS} periods each needed)"
        )
        return Judgement(
            statistic=math.nan, p_value=1.0, verdict="inconclusive", reason=reason, **common
        )
    smallest = smallest_p(len(candidate), len(stable))
    if smallest >= spec.alpha:  # even complete separation would not be significant: no power
        reason = (
            f"{label}: {len(candidate)} candidate and {len(stable)} stable samples cannot show a "
            f"difference at alpha {spec.alpha:g} (smallest possible p={smallest:.3g})"
        )
        return Judgement(
            statistic=math.nan, p_value=1.0, verdict="inconclusive", reason=reason, **common
        )
    higher_is_worse = spec.direction == "higherIsWorse"
    test = mann_whitney_u(candidate, stable, "greater" if higher_is_worse else "less")
    worse = "higher" if higher_is_worse else "lower"
    significant = test.p_value < spec.alpha
    beyond = effect > spec.tolerance if higher_is_worse else effect < -spec.tolerance
    p_text = f"p={test.p_value:.3g}"
    if significant and beyond:
        verdict: Verdict = "fail"
        reason = (
            f"{label}: candidate {_percent(effect)} {worse} than stable ({p_text} < "
            f"{spec.alpha:g}), beyond the {spec.tolerance * 100:g} % tolerance"
        )
    elif significant:
        verdict = "pass"
        reason = (
            f"{label}: candidate {worse} than stable ({p_text}) but within the "
            f"{spec.tolerance * 100:g} % tolerance ({_percent(effect)})"
        )
    else:
        verdict = "pass"
        reason = f"{label}: not significantly {worse} than stable ({p_text} ≥ {spec.alpha:g})"
    return Judgement(
        statistic=test.statistic, p_value=test.p_value, verdict=verdict, reason=reason, **common
    )


# --- one step -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """The samples of one metric for both variants."""

    candidate: Sequence[float]
    stable: Sequence[float]


class StepJudgementRecord(TypedDict):
    """A step's judgement as the history keeps it (``details["judgement"]``)."""

    verdict: StepVerdict
    reason: str
    invocationsCandidate: float
    invocationsStable: float
    extensions: int
    inconclusive: bool
    compared: bool
    judgements: list[JudgementRecord]


@dataclass(frozen=True)
class StepJudgement:
    verdict: StepVerdict
    reason: str
    judgements: tuple[Judgement, ...]
    invocations_candidate: float
    invocations_stable: float
    extensions: int
    """Extensions already made before this judgement."""
    inconclusive: bool = False
    """The verdict is ``inconclusive``'s policy, not a judgement of the candidate."""
    compared: bool = True
    """Candidate judged against stable (``compare``); False: only its traffic was counted."""

    @property
    def failed(self) -> tuple[Judgement, ...]:
        return tuple(j for j in self.judgements if j.verdict == "fail")

    def as_dict(self) -> StepJudgementRecord:
        """The history entry's ``details`` (JSON-safe)."""
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "invocationsCandidate": self.invocations_candidate,
            "invocationsStable": self.invocations_stable,
            "extensions": self.extensions,
            "inconclusive": self.inconclusive,
            "compared": self.compared,
            "judgements": [j.as_dict() for j in self.judgements],
        }


def judge_step(
    spec: CompareSpec,
    samples: Mapping[str, Pair],
    invocations: tuple[float, float],
    extensions: int,
) -> StepJudgement:
    """Every compared metric of a step (``samples`` by :attr:`CompareMetric.label`).

    * a metric fails with enough traffic (both variants ≥ ``minSamples`` invocations) → fail;
    * too little traffic or an inconclusive metric → ``extend`` while
      ``extensions < maxExtensions``; then a failing metric fails the step, and what is left
      inconclusive follows ``inconclusive`` (fail or pass);
    * otherwise → pass.
    """
    judgements = tuple(
        judge(
            samples.get(m.label, Pair((), ())).candidate,
            samples.get(m.label, Pair((), ())).stable,
            m,
        )
        for m in spec.metrics
    )
    return _StepFacts(spec, judgements, invocations, extensions).judgement()


def judge_traffic(
    spec: TrafficSpec, invocations: tuple[float, float], extensions: int
) -> StepJudgement:
    """A step checked by alarms and metric thresholds: may its checks pass it? Only once the
    candidate served ``minInvocations``; fewer → ``extend``, then ``inconclusive`` (fail)."""
    return _StepFacts(spec, (), invocations, extensions).judgement(compared=False)


@dataclass(frozen=True)
class _StepFacts:
    spec: StepFloor
    judgements: tuple[Judgement, ...]
    invocations: tuple[float, float]
    extensions: int

    def judgement(self, *, compared: bool = True) -> StepJudgement:
        verdict, reason = self.decide()
        if verdict == "pass" and not (compared or self.left_to_policy):
            reason = f"the candidate served {self.invocations[0]:g} invocations during the step"
        return StepJudgement(
            verdict=verdict,
            reason=reason,
            inconclusive=self.left_to_policy,
            judgements=self.judgements,
            invocations_candidate=self.invocations[0],
            invocations_stable=self.invocations[1],
            extensions=self.extensions,
            compared=compared,
        )

    @property
    def failed(self) -> list[Judgement]:
        return [j for j in self.judgements if j.verdict == "fail"]

    @property
    def unsure(self) -> list[Judgement]:
        return [j for j in self.judgements if j.verdict == "inconclusive"]

    @property
    def too_few(self) -> bool:
        return self.spec.too_few(*self.invocations)

    def why_unsure(self) -> str:
        parts: list[str] = []
        if self.too_few:
            parts.append(self.spec.shortfall(*self.invocations))
        parts += [j.reason for j in self.unsure]
        return "; ".join(parts)

    @property
    def left_to_policy(self) -> bool:
        """Still unsure after every extension, and nothing failed: ``inconclusive`` decides."""
        return (
            (self.too_few or bool(self.unsure))
            and self.extensions >= self.spec.max_extensions
            and not self.failed
        )

    def decide(self) -> tuple[StepVerdict, str]:
        if self.failed and not self.too_few:
            return "fail", "; ".join(j.reason for j in self.failed)
        if not (self.too_few or self.unsure):
            return "pass", "; ".join(j.reason for j in self.judgements)
        limit = self.spec.max_extensions
        if self.extensions < limit:
            return "extend", f"extension {self.extensions + 1}/{limit}: {self.why_unsure()}"
        if self.failed:
            return "fail", "; ".join(j.reason for j in self.failed)
        policy = self.spec.inconclusive
        return policy, f"inconclusive after {limit} extensions ({policy}): {self.why_unsure()}"


# --- from CloudWatch series to samples ------------------------------------------------------------

SeriesKey = tuple[str, str]
"""(metric name, statistic)."""


@dataclass(frozen=True)
class VariantSeries:
    """What the metrics adapter read for one variant over a window: epoch → value per period."""

    variant: str
    metrics: Mapping[SeriesKey, Mapping[float, float]] = field(default_factory=dict)
    invocations: Mapping[float, float] = field(default_factory=dict)

    @property
    def total_invocations(self) -> float:
        return math.fsum(self.invocations.values())


def samples_of(metric: CompareMetric, series: VariantSeries) -> list[float]:
    """One value per period, oldest first; ``perInvocation``: Sum / Invocations per period.

    A period with invocations and no datapoint for the metric counts as 0 (SageMaker omits
    error metrics with nothing to report on some paths); a period without invocations is
    skipped.
    """
    values = series.metrics.get((metric.metric, metric.stat), {})
    if metric.per_invocation:
        return [
            values.get(at, 0.0) / count
            for at, count in sorted(series.invocations.items())
            if count > 0
        ]
    return [value for _, value in sorted(values.items())]


def compare_step(
    spec: CompareSpec, candidate: VariantSeries, stable: VariantSeries, extensions: int
) -> StepJudgement:
    """:func:`judge_step` on what :class:`smgitops.aws.metrics.VariantMetrics` read."""
    samples = {m.label: Pair(samples_of(m, candidate), samples_of(m, stable)) for m in spec.metrics}
    invocations = (candidate.total_invocations, stable.total_invocations)
    return judge_step(spec, samples, invocations, extensions)


# --- the traffic a step checked by alarms served ----------------------------------------------

TRAFFIC_PERIOD = 60
"""SageMaker publishes Invocations per minute."""


def traffic_window_start(step_since: float, now: float) -> float:
    """Where the candidate's invocations of a step are counted from: the first minute that
    began within the step. A minute that began before the step holds traffic from before it
    (golden requests, the previous step), which could pass a step the candidate served nothing
    in. A step that has not crossed a minute yet (intervals under a minute) counts from its
    start; CloudWatch then rounds that down to the minute (docs/analysis.md says so)."""
    first = math.ceil(step_since / TRAFFIC_PERIOD) * TRAFFIC_PERIOD
    return first if first < now else step_since
