"""The statistics at their boundaries: SciPy's exact/normal choice, alpha, tolerance, the record.

SciPy is the oracle for the U test; the verdicts and reasons are stated in full, as the history
and `smgitops status` show them.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from scipy.stats import mannwhitneyu

from smgitops.declaration.safeguards import CompareMetric, CompareSpec
from smgitops.rollout.analysis import (
    Pair,
    VariantSeries,
    choose_method,
    judge,
    judge_step,
    mann_whitney_u,
    relative_effect,
    samples_of,
)


def distinct(n: int, seed: int, shift: float = 0.0) -> list[float]:
    """``n`` distinct latencies (no ties: the exact method applies to small samples)."""
    rng = random.Random(seed)
    return [round(100.0 + shift + rng.uniform(-10, 10), 6) for _ in range(n)]


@pytest.mark.parametrize(
    ("n1", "n2"), [(5, 20), (20, 5), (3, 40), (8, 9), (9, 8), (8, 8), (9, 9), (12, 30)]
)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_auto_picks_the_method_scipy_picks_when_one_sample_is_small(
    n1: int, n2: int, alternative: Any
) -> None:
    x, y = distinct(n1, n1, shift=3.0), distinct(n2, 100 + n2)
    ours = mann_whitney_u(x, y, alternative)
    theirs = mannwhitneyu(x, y, alternative=alternative, method="auto")
    expected = "exact" if min(n1, n2) <= 8 else "asymptotic"  # scipy: either sample ≤ 8
    assert ours.method == expected
    assert ours.statistic == float(theirs.statistic)
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-15)


def test_the_default_alternative_is_two_sided() -> None:
    x, y = distinct(6, 1, shift=2.0), distinct(7, 2)
    assert mann_whitney_u(x, y) == mann_whitney_u(x, y, "two-sided")
    assert mann_whitney_u(x, y).p_value == pytest.approx(float(mannwhitneyu(x, y).pvalue))


def test_the_exact_method_is_capped_at_200_000_cells() -> None:
    assert choose_method(8, 25_000, has_ties=False) == "exact"  # 200 000 cells
    assert choose_method(8, 25_001, has_ties=False) == "asymptotic"
    assert choose_method(25_001, 8, has_ties=False) == "asymptotic"
    assert choose_method(3, 3, has_ties=True) == "asymptotic"


def test_empty_and_nan_samples_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError) as empty:
        mann_whitney_u([], [1.0])
    assert str(empty.value) == "both samples need at least one value"
    with pytest.raises(ValueError) as nan:
        mann_whitney_u([1.0, math.nan], [1.0])
    assert str(nan.value) == "samples must not contain NaN"


def test_relative_effect_without_samples_is_nan() -> None:
    assert math.isnan(relative_effect([], [1.0]))
    assert math.isnan(relative_effect([1.0], []))


# --- one metric: alpha and the tolerance at their boundaries ---------------------------------


def metric(**fields: Any) -> CompareMetric:
    return CompareMetric.model_validate({"metric": "ModelLatency", **fields})


STABLE = [3.5, 3.75, 4.0, 4.25, 4.5]  # mean 4.0
HIGHER = [4.75, 4.875, 5.0, 5.125, 5.25]  # mean 5.0: +25 %, every value above stable's
LOWER = [2.75, 2.875, 3.0, 3.125, 3.25]  # mean 3.0: -25 %, every value below stable's


def test_higher_is_worse_at_exactly_the_tolerance_passes_beyond_it_fails() -> None:
    at = judge(HIGHER, STABLE, metric(tolerance=0.25))
    assert at.verdict == "pass"
    assert at.reason == (
        "ModelLatency Average: candidate higher than stable (p=0.00397) but within the 25 % "
        "tolerance (25.0 %)"
    )
    beyond = judge(HIGHER, STABLE, metric(tolerance=0.2))
    assert beyond.verdict == "fail"
    assert beyond.reason == (
        "ModelLatency Average: candidate 25.0 % higher than stable (p=0.00397 < 0.05), beyond "
        "the 20 % tolerance"
    )


def test_lower_is_worse_at_exactly_the_tolerance_passes_beyond_it_fails() -> None:
    at = judge(LOWER, STABLE, metric(direction="lowerIsWorse", tolerance=0.25))
    assert at.verdict == "pass"
    assert at.reason == (
        "ModelLatency Average: candidate lower than stable (p=0.00397) but within the 25 % "
        "tolerance (25.0 %)"
    )
    beyond = judge(LOWER, STABLE, metric(direction="lowerIsWorse", tolerance=0.1))
    assert beyond.verdict == "fail"
    assert beyond.reason == (
        "ModelLatency Average: candidate 25.0 % lower than stable (p=0.00397 < 0.05), beyond "
        "the 10 % tolerance"
    )


def test_lower_is_worse_a_small_significant_drop_within_tolerance_passes() -> None:
    stable = [100.0 + i for i in range(8)]
    slightly_lower = [v - 8.5 for v in stable]  # about 8 % lower, significant
    judged = judge(slightly_lower, stable, metric(direction="lowerIsWorse", tolerance=0.1))
    assert judged.p_value < 0.05 and -0.1 < judged.effect < 0
    assert judged.verdict == "pass"
    much_lower = [v * 0.8 for v in stable]
    assert judge(much_lower, stable, metric(direction="lowerIsWorse", tolerance=0.1)).verdict == (
        "fail"
    )


def test_a_p_value_equal_to_alpha_is_not_significant() -> None:
    # 4 against 4 without ties: P(U >= 13) = 7/70 = 0.1 exactly
    stable = [1.0, 2.0, 3.0, 4.0]
    candidate = [1.5, 4.5, 5.0, 6.0]
    judged = judge(candidate, stable, metric(alpha=0.1, tolerance=0.0))
    assert (
        judged.p_value
        == 0.1
        == float(mannwhitneyu(candidate, stable, alternative="greater").pvalue)
    )
    assert judged.verdict == "pass"
    assert (
        judged.reason == "ModelLatency Average: not significantly higher than stable (p=0.1 ≥ 0.1)"
    )


def test_a_lower_is_worse_metric_tests_the_lower_side() -> None:
    judged = judge(STABLE, LOWER, metric(direction="lowerIsWorse"))  # the candidate is higher
    assert judged.verdict == "pass"
    assert judged.p_value == pytest.approx(
        float(mannwhitneyu(STABLE, LOWER, alternative="less").pvalue)
    )
    assert judged.reason.startswith("ModelLatency Average: not significantly lower than stable")


def test_a_judgement_records_what_it_compared() -> None:
    judged = judge(HIGHER, STABLE, metric(tolerance=0.2))
    assert judged.as_dict() == {
        "metric": "ModelLatency Average",
        "statistic": 25.0,
        "pValue": pytest.approx(0.003968, abs=1e-6),
        "effect": 0.25,
        "meanCandidate": 5.0,
        "meanStable": 4.0,
        "samplesCandidate": 5,
        "samplesStable": 5,
        "verdict": "fail",
        "reason": judged.reason,
    }


def test_an_increase_over_nothing_is_an_infinite_effect_recorded_as_null() -> None:
    judged = judge([1.0, 2.0, 3.0, 4.0, 5.0], [0.0] * 5, metric())
    assert judged.effect == math.inf and judged.verdict == "fail"
    assert judged.reason.startswith("ModelLatency Average: candidate ∞ % higher than stable")
    assert judged.as_dict()["effect"] is None
    assert judged.as_dict()["meanStable"] == 0.0


@pytest.mark.parametrize("candidate", [[1.0, 2.0], []])
def test_too_few_periods_record_the_means_and_no_statistic(candidate: list[float]) -> None:
    judged = judge(candidate, STABLE, metric())
    assert judged.verdict == "inconclusive" and judged.p_value == 1.0
    assert math.isnan(judged.statistic)
    assert judged.mean_stable == 4.0
    assert judged.as_dict()["meanCandidate"] == (1.5 if candidate else None)
    assert judged.reason == (
        f"ModelLatency Average: too few samples ({len(candidate)} candidate, 5 stable; "
        "3 periods each needed)"
    )


def test_samples_that_cannot_reach_significance_record_no_statistic() -> None:
    judged = judge([5.0, 6.0, 7.0], [1.0, 2.0, 3.0], metric())
    assert judged.verdict == "inconclusive" and judged.p_value == 1.0
    assert math.isnan(judged.statistic) and judged.mean_candidate == 6.0
    assert judged.reason == (
        "ModelLatency Average: 3 candidate and 3 stable samples cannot show a difference at "
        "alpha 0.05 (smallest possible p=0.05)"
    )


# --- a step ------------------------------------------------------------------------------------


def spec(**fields: Any) -> CompareSpec:
    metrics = [
        {"metric": "ModelLatency", "tolerance": 0.1},
        {"metric": "OverheadLatency", "tolerance": 0.1},
    ]
    return CompareSpec.model_validate({"metrics": metrics, **fields})


BOTH_WORSE = {
    "ModelLatency Average": Pair(HIGHER, STABLE),
    "OverheadLatency Average": Pair(HIGHER, STABLE),
}


def test_a_step_failing_on_two_metrics_names_both_and_records_its_inputs() -> None:
    step = judge_step(spec(), BOTH_WORSE, (500.0, 1500.0), extensions=0)
    assert step.verdict == "fail"
    reasons = [j.reason for j in step.judgements]
    assert step.reason == "; ".join(reasons) and len(reasons) == 2
    assert step.as_dict() == {
        "verdict": "fail",
        "reason": step.reason,
        "invocationsCandidate": 500.0,
        "invocationsStable": 1500.0,
        "extensions": 0,
        "inconclusive": False,
        "compared": True,
        "judgements": [j.as_dict() for j in step.judgements],
    }


def test_a_step_passing_on_two_metrics_gives_both_reasons() -> None:
    same = {label: Pair(STABLE, STABLE) for label in BOTH_WORSE}
    step = judge_step(spec(), same, (500.0, 1500.0), extensions=2)
    assert step.verdict == "pass" and step.as_dict()["extensions"] == 2
    assert step.reason == "; ".join(j.reason for j in step.judgements)
    assert step.reason.count("not significantly higher") == 2


def test_an_extension_lists_every_reason_it_is_unsure() -> None:
    few = {"ModelLatency Average": Pair([1.0], [1.0]), "OverheadLatency Average": Pair([], [])}
    step = judge_step(spec(), few, (10.0, 20.0), extensions=0)
    assert step.verdict == "extend"
    assert step.reason == (
        "extension 1/3: too few invocations (10 candidate, 20 stable; minSamples 50); "
        "ModelLatency Average: too few samples (1 candidate, 1 stable; 3 periods each needed); "
        "OverheadLatency Average: too few samples (0 candidate, 0 stable; 3 periods each needed)"
    )


def test_exactly_min_samples_invocations_is_enough() -> None:
    step = judge_step(spec(minSamples=50), BOTH_WORSE, (50.0, 50.0), extensions=0)
    assert step.verdict == "fail"
    assert judge_step(spec(minSamples=50), BOTH_WORSE, (49.0, 50.0), 0).verdict == "extend"


def test_failing_metrics_after_the_last_extension_fail_with_their_reasons() -> None:
    step = judge_step(spec(maxExtensions=1), BOTH_WORSE, (10.0, 10.0), extensions=1)
    assert step.verdict == "fail" and not step.inconclusive
    assert step.reason == "; ".join(j.reason for j in step.judgements)


# --- samples from CloudWatch series ---------------------------------------------------------


def test_a_period_with_a_single_invocation_is_a_sample() -> None:
    errors = metric(metric="Invocation5XXErrors", perInvocation=True)
    series = VariantSeries(
        variant="v",
        metrics={("Invocation5XXErrors", "Sum"): {60.0: 1.0}},
        invocations={60.0: 1.0, 120.0: 1.0, 180.0: 0.0},
    )
    assert samples_of(errors, series) == [1.0, 0.0]


def test_a_variant_without_datapoints_for_a_metric_has_no_samples() -> None:
    series = VariantSeries(variant="v", invocations={60.0: 5.0})
    assert samples_of(metric(), series) == []
    errors = metric(metric="Invocation5XXErrors", perInvocation=True)
    assert samples_of(errors, series) == [0.0]  # invocations without errors: 0 per invocation
