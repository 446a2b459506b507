"""The canary-vs-stable statistics against SciPy, and the verdicts built on them."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy.stats import mannwhitneyu

from smgitops.aws.metrics import MetricQuery, queries_for
from smgitops.declaration.safeguards import CompareMetric, CompareSpec, TrafficSpec
from smgitops.rollout.analysis import (
    Pair,
    VariantSeries,
    average_ranks,
    compare_step,
    judge,
    judge_step,
    judge_traffic,
    mann_whitney_u,
    relative_effect,
    samples_of,
    smallest_p,
    traffic_window_start,
)

# Fixed samples: latencies (ms) with and without ties, small and large, equal and shifted.
LATENCY_STABLE = [101.2, 98.7, 103.4, 99.9, 100.5, 102.2, 97.8, 101.9, 100.1, 99.4, 98.9, 102.8]
LATENCY_SLOWER = [109.9, 112.4, 108.1, 111.7, 110.3, 113.0, 107.6, 110.8, 109.2, 111.1, 112.9]
ERRORS_A = [0, 0, 1, 0, 2, 0, 0, 1, 0, 0, 0, 3, 0, 0, 1, 0, 0, 0, 0, 1]  # many ties
ERRORS_B = [0, 1, 1, 2, 0, 3, 1, 0, 2, 1, 4, 0, 1, 2, 0, 1, 3, 0, 2, 1, 1]
SMALL_X = [1.5, 3.2, 4.8, 7.1]
SMALL_Y = [2.2, 5.9, 6.3, 8.8, 9.4]
LARGE_X = [float((i * 37) % 101) for i in range(60)]
LARGE_Y = [float((i * 53) % 97) + 4.5 for i in range(75)]

CASES = [
    (LATENCY_SLOWER, LATENCY_STABLE),
    (LATENCY_STABLE, LATENCY_SLOWER),
    (ERRORS_A, ERRORS_B),
    (ERRORS_B, ERRORS_A),
    (SMALL_X, SMALL_Y),
    (LARGE_X, LARGE_Y),
    ([5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0]),  # every value tied
    ([1.0], [2.0, 3.0]),
]


@pytest.mark.parametrize("x, y", CASES)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("continuity", [True, False])
def test_asymptotic_matches_scipy(
    x: list[float], y: list[float], alternative: Any, continuity: bool
) -> None:
    ours = mann_whitney_u(x, y, alternative, method="asymptotic", use_continuity=continuity)
    theirs = mannwhitneyu(
        x, y, alternative=alternative, method="asymptotic", use_continuity=continuity
    )
    assert ours.statistic == pytest.approx(float(theirs.statistic), abs=1e-9)
    expected = float(theirs.pvalue)
    if math.isnan(expected):  # scipy: 0/0 when every value is tied and no continuity
        assert ours.p_value == 1.0
    else:
        assert ours.p_value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("x, y", [(SMALL_X, SMALL_Y), (LATENCY_SLOWER[:6], LATENCY_STABLE[:8])])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_auto_uses_the_exact_distribution_for_small_samples_without_ties(
    x: list[float], y: list[float], alternative: Any
) -> None:
    ours = mann_whitney_u(x, y, alternative)
    theirs = mannwhitneyu(x, y, alternative=alternative, method="exact")
    assert ours.method == "exact"
    assert ours.p_value == pytest.approx(float(theirs.pvalue), abs=1e-9)
    assert ours.p_value != pytest.approx(
        float(mannwhitneyu(x, y, alternative=alternative, method="asymptotic").pvalue), abs=1e-6
    )


def test_auto_falls_back_to_the_normal_approximation_with_ties() -> None:
    x, y = [1.0, 2.0, 2.0, 3.0], [2.0, 4.0, 5.0]
    ours = mann_whitney_u(x, y, "less")
    assert ours.method == "asymptotic"
    assert ours.p_value == pytest.approx(float(mannwhitneyu(x, y, alternative="less").pvalue))


def test_a_published_example() -> None:
    # scipy's documentation example (Conover): males vs females, exact two-sided U1 = 17.
    males = [19, 22, 16, 29, 24]
    females = [20, 11, 17, 12]
    result = mann_whitney_u(males, females, method="exact")
    assert result.statistic == 17.0
    assert result.p_value == pytest.approx(0.1111111111111111)


@given(
    st.lists(st.integers(0, 12), min_size=1, max_size=25),
    st.lists(st.integers(0, 12), min_size=1, max_size=25),
    st.sampled_from(["two-sided", "greater", "less"]),
)
def test_agrees_with_scipy_on_random_samples(x: list[int], y: list[int], alternative: Any) -> None:
    theirs = mannwhitneyu(x, y, alternative=alternative)
    ours = mann_whitney_u([float(v) for v in x], [float(v) for v in y], alternative)
    assert ours.statistic == float(theirs.statistic)
    assert ours.p_value == pytest.approx(float(theirs.pvalue), abs=1e-9)


def test_average_ranks_and_tie_groups() -> None:
    ranks, ties = average_ranks([10.0, 20.0, 10.0, 30.0, 20.0, 20.0])
    assert ranks == [1.5, 4.0, 1.5, 6.0, 4.0, 4.0]
    assert sorted(ties) == [1, 2, 3]


def test_rejects_empty_and_nan_samples() -> None:
    with pytest.raises(ValueError, match="at least one"):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        mann_whitney_u([math.nan], [1.0])


def test_relative_effect_is_the_relative_difference_of_means() -> None:
    assert relative_effect([110.0, 130.0], [100.0, 100.0]) == pytest.approx(0.2)
    assert relative_effect([80.0], [100.0]) == pytest.approx(-0.2)
    assert relative_effect([0.0, 0.0], [0.0]) == 0.0
    assert relative_effect([0.1], [0.0]) == math.inf
    assert math.isnan(relative_effect([], [1.0]))


# --- one metric ---------------------------------------------------------------------------------


def metric(**fields: Any) -> CompareMetric:
    return CompareMetric.model_validate({"metric": "ModelLatency", **fields})


def test_higher_is_worse_fails_a_significant_regression_beyond_tolerance() -> None:
    verdict = judge(LATENCY_SLOWER, LATENCY_STABLE, metric(tolerance=0.05))
    assert verdict.verdict == "fail"
    assert verdict.p_value < 0.001
    assert verdict.effect == pytest.approx(0.1, abs=0.01)
    assert "higher than stable" in verdict.reason
    assert verdict.samples_candidate == 11
    assert verdict.samples_stable == 12


def test_a_significant_regression_within_tolerance_passes() -> None:
    verdict = judge(LATENCY_SLOWER, LATENCY_STABLE, metric(tolerance=0.2))
    assert verdict.verdict == "pass"
    assert verdict.p_value < 0.05
    assert "within the 20 % tolerance" in verdict.reason


def test_higher_is_worse_passes_a_candidate_that_is_faster() -> None:
    verdict = judge(LATENCY_STABLE, LATENCY_SLOWER, metric(tolerance=0.0))
    assert verdict.verdict == "pass"
    assert verdict.p_value > 0.99  # one-sided "greater": faster is no evidence of harm


def test_lower_is_worse_fails_a_drop_and_passes_a_rise() -> None:
    spec = metric(direction="lowerIsWorse", tolerance=0.05)
    assert judge(LATENCY_STABLE, LATENCY_SLOWER, spec).verdict == "fail"
    assert judge(LATENCY_SLOWER, LATENCY_STABLE, spec).verdict == "pass"


def test_no_significant_difference_passes_even_with_a_large_effect() -> None:
    noisy_candidate = [100.0, 400.0, 90.0, 98.0, 102.0, 99.0]  # one bad minute
    noisy_stable = [100.0, 95.0, 105.0, 101.0, 97.0, 103.0]
    verdict = judge(noisy_candidate, noisy_stable, metric(tolerance=0.0, alpha=0.01))
    assert verdict.effect > 0.4
    assert verdict.verdict == "pass"
    assert "not significantly" in verdict.reason


@pytest.mark.parametrize(
    ("size", "alpha", "verdict"),
    [(3, 0.05, "inconclusive"), (4, 0.05, "fail"), (4, 0.01, "inconclusive"), (5, 0.01, "fail")],
)
def test_samples_too_few_to_ever_be_significant_are_inconclusive_not_a_pass(
    size: int, alpha: float, verdict: str
) -> None:
    slow = [300.0 + i for i in range(size)]  # every candidate minute three times slower
    fast = [100.0 + i for i in range(size)]
    judged = judge(slow, fast, metric(alpha=alpha))
    assert judged.verdict == verdict, judged.reason
    if verdict == "inconclusive":
        assert "cannot show a difference" in judged.reason
    assert smallest_p(size, size) == pytest.approx(1 / math.comb(2 * size, size))
    assert smallest_p(3, 3) == 0.05 and smallest_p(4, 4) == pytest.approx(1 / 70)


def test_too_few_periods_is_inconclusive() -> None:
    verdict = judge([1.0, 2.0], LATENCY_STABLE, metric())
    assert verdict.verdict == "inconclusive"
    assert verdict.p_value == 1.0
    assert verdict.as_dict()["statistic"] is None  # NaN never reaches the JSON history


# --- one step -----------------------------------------------------------------------------------


def spec(**fields: Any) -> CompareSpec:
    return CompareSpec.model_validate(
        {"metrics": [{"metric": "ModelLatency", "tolerance": 0.05}], **fields}
    )


SLOW = {"ModelLatency Average": Pair(LATENCY_SLOWER, LATENCY_STABLE)}
SAME = {"ModelLatency Average": Pair(LATENCY_STABLE[:10], LATENCY_STABLE[2:])}


def test_step_fails_on_a_failing_metric_with_enough_traffic() -> None:
    step = judge_step(spec(), SLOW, (500.0, 2000.0), extensions=0)
    assert step.verdict == "fail"
    assert step.failed[0].metric == "ModelLatency Average"
    assert step.as_dict()["judgements"][0]["verdict"] == "fail"


def test_step_passes_when_every_metric_passes() -> None:
    step = judge_step(spec(), SAME, (500.0, 2000.0), extensions=0)
    assert step.verdict == "pass"


def test_too_few_invocations_extends_the_step_instead_of_judging() -> None:
    step = judge_step(spec(minSamples=50), SLOW, (20.0, 2000.0), extensions=0)
    assert step.verdict == "extend"
    assert "too few invocations (20 candidate" in step.reason
    assert step.reason.startswith("extension 1/3")


def test_inconclusive_after_max_extensions_follows_the_policy() -> None:
    few = {"ModelLatency Average": Pair([1.0, 2.0], [1.0, 2.0])}
    failed = judge_step(spec(maxExtensions=2), few, (10.0, 10.0), extensions=2)
    assert failed.verdict == "fail"
    assert "inconclusive after 2 extensions (fail)" in failed.reason
    assert failed.inconclusive and failed.as_dict()["inconclusive"] is True
    passed = judge_step(spec(maxExtensions=2, inconclusive="pass"), few, (10.0, 10.0), 2)
    assert passed.verdict == "pass" and passed.inconclusive
    extending = judge_step(spec(maxExtensions=2), few, (10.0, 10.0), extensions=1)
    assert extending.verdict == "extend" and not extending.inconclusive


def test_a_failing_metric_fails_once_extensions_are_exhausted_whatever_the_policy() -> None:
    step = judge_step(spec(maxExtensions=1, inconclusive="pass"), SLOW, (10.0, 10.0), 1)
    assert step.verdict == "fail" and not step.inconclusive  # judged worse, not the policy


def test_a_metric_without_samples_is_inconclusive_and_extends() -> None:
    step = judge_step(spec(), {}, (500.0, 500.0), extensions=0)
    assert step.verdict == "extend"
    assert step.judgements[0].verdict == "inconclusive"


def test_per_invocation_samples_divide_by_each_periods_invocations() -> None:
    errors = metric(metric="Invocation5XXErrors", perInvocation=True)
    series = VariantSeries(
        variant="v",
        metrics={("Invocation5XXErrors", "Sum"): {60.0: 2.0, 180.0: 6.0}},
        invocations={60.0: 100.0, 120.0: 50.0, 180.0: 200.0, 240.0: 0.0},
    )
    assert samples_of(errors, series) == [0.02, 0.0, 0.03]


def test_compare_step_reads_variant_series() -> None:
    def series(values: list[float]) -> VariantSeries:
        stamps = [60.0 * i for i in range(len(values))]
        return VariantSeries(
            variant="v",
            metrics={("ModelLatency", "Average"): dict(zip(stamps, values, strict=True))},
            invocations=dict.fromkeys(stamps, 100.0),
        )

    step = compare_step(spec(), series(LATENCY_SLOWER), series(LATENCY_STABLE), extensions=0)
    assert step.verdict == "fail"
    assert step.invocations_candidate == 1100.0


# --- the declaration ------------------------------------------------------------------------------


def test_compare_spec_defaults() -> None:
    parsed = spec()
    assert (parsed.min_samples, parsed.max_extensions, parsed.inconclusive) == (50, 3, "fail")
    assert parsed.metrics[0].direction == "higherIsWorse"
    assert parsed.metrics[0].stat == "Average"
    assert metric(perInvocation=True, metric="Invocation5XXErrors").stat == "Sum"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"perInvocation": True, "statistic": "Average"}, "statistic must be Sum"),
        ({"statistic": "p100"}, "p100 is the Maximum"),
        ({"statistic": "P99"}, "case-sensitive: p99"),
        ({"metric": "Invocation5XXErrors", "statistic": "p99"}, "says nothing useful"),
        ({"perInvocation": True, "metric": "Invocation5XXErrors", "statistic": "p99"}, "Sum"),
        ({"alpha": 0.0}, "greater than 0"),
        ({"tolerance": -0.1}, "greater than or equal to 0"),
        ({"direction": "up"}, "higherIsWorse"),
    ],
)
def test_compare_metric_rejects(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        metric(**fields)


@pytest.mark.parametrize("statistic", ["p50", "p90", "p99", "p99.9"])
def test_a_timing_is_compared_on_a_percentile(statistic: str) -> None:
    compared = metric(statistic=statistic)
    assert compared.stat == statistic
    assert compared.label == f"ModelLatency {statistic}"
    assert queries_for(spec(metrics=[{"metric": "ModelLatency", "statistic": statistic}])) == [
        MetricQuery("ModelLatency", statistic)
    ]


def test_compare_spec_rejects_a_metric_compared_twice_and_odd_periods() -> None:
    with pytest.raises(ValidationError, match="compared twice"):
        CompareSpec.model_validate({"metrics": [{"metric": "ModelLatency"}] * 2})
    with pytest.raises(ValidationError, match="multiple of 60"):
        spec(period=90)


# --- the traffic of a step checked by alarms ---------------------------------------------------


def test_only_minutes_begun_within_the_step_count_its_traffic() -> None:
    # CloudWatch counts the minute holding the start whole: traffic from before the step
    assert traffic_window_start(1_000_030.0, 1_000_330.0) == 1_000_080.0
    assert traffic_window_start(1_000_020.0, 1_000_330.0) == 1_000_020.0  # began on the minute
    # a step that has not crossed a minute yet (an interval under a minute) counts from its start
    assert traffic_window_start(1_000_030.0, 1_000_070.0) == 1_000_030.0
    # judged exactly when its first whole minute begins: that minute holds nothing yet, so it
    # still counts from its start (a window from now to now would count no invocation at all)
    assert traffic_window_start(1_000_030.0, 1_000_080.0) == 1_000_030.0


@pytest.mark.parametrize(
    ("served", "extensions", "verdict"),
    [(10, 0, "pass"), (9, 0, "extend"), (9, 2, "extend"), (9, 3, "fail"), (0, 3, "fail")],
)
def test_the_candidates_traffic_decides_a_step_checked_by_alarms(
    served: float, extensions: int, verdict: str
) -> None:
    step = judge_traffic(TrafficSpec(), (served, 5000.0), extensions)
    assert step.verdict == verdict
    assert step.compared is False and step.judgements == ()
    assert step.inconclusive == (verdict == "fail")
    if verdict == "pass":
        assert step.reason == "the candidate served 10 invocations during the step"
    else:
        assert f"too few invocations of the candidate ({served:g}, 5000 on stable" in step.reason


def test_the_stable_variants_traffic_never_makes_up_for_the_candidates() -> None:
    assert judge_traffic(TrafficSpec(minInvocations=1), (0.0, 1e9), 0).verdict == "extend"
    assert judge_traffic(TrafficSpec(minInvocations=1), (1.0, 0.0), 0).verdict == "pass"
