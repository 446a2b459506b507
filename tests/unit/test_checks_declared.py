"""Fail-closed declarations: a check that could never observe is refused up front.

Metric names against SageMaker's catalogue (loader, ``validate``, the pre-commit hook and the
JSON Schema), statistics and periods that make sense, no duplicate checks, and "no checks"
said on purpose with ``analysis: none``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from git import Repo

from smgitops.cli import main
from smgitops.declaration import metrics
from smgitops.declaration.loader import load_text
from smgitops.declaration.models import TRUSTED, ChecksPolicy, Declaration
from smgitops.declaration.schema import json_schema
from smgitops.errors import DeclarationError
from tests.builders import declaration_dict
from tests.unit.test_declaration_loader import FILE, VALID, assert_one, replace
from tests.unit.test_precommit_hook import hook, run_hook, write

CHECK_LINE = 21  # `- {metric: Invocation5XXErrors, statistic: Sum, max: 5}` in VALID
FIELD = "spec.rollout.analysis.metrics[0]"


def with_check(check: str) -> str:
    return replace(CHECK_LINE, f"        - {check}")


def problem(check: str, field: str) -> str:
    """The one problem of VALID with its metric check replaced, located on that line."""
    return assert_one(with_check(check), CHECK_LINE, f"{FIELD}.{field}", "")


# ------------------------------------------------------------------ metric names


def test_a_mis_cased_metric_is_refused_with_the_right_name() -> None:
    message = problem("{metric: Invocation5xxErrors, statistic: Sum, max: 1}", "metric")
    assert "unknown metric 'Invocation5xxErrors'" in message
    assert "never see data" in message
    assert message.endswith(
        "did you mean 'Invocation5XXErrors'? (for a metric of your own, set namespace)"
    )


def test_a_misspelt_metric_gets_the_nearest_name() -> None:
    assert "did you mean 'ModelLatency'?" in problem("{metric: ModelLatancy, max: 1}", "metric")


@pytest.mark.parametrize("name", metrics.names())
def test_every_catalogued_metric_is_accepted_with_a_statistic_it_allows(name: str) -> None:
    statistic = metrics.CATALOGUE[name].statistics[0]
    load_text(with_check(f"{{metric: {name}, statistic: {statistic}, max: 1}}"), FILE)


def test_the_instance_metrics_live_in_their_own_namespace() -> None:
    assert metrics.namespace_of("CPUUtilization") == metrics.ENDPOINT_INSTANCES
    assert metrics.namespace_of("Invocation5XXErrors") == metrics.SAGEMAKER
    message = problem(
        "{metric: CPUUtilization, namespace: AWS/SageMaker, statistic: Maximum, max: 90}", "metric"
    )
    assert "published in /aws/sagemaker/Endpoints, not AWS/SageMaker" in message


def test_a_custom_metric_needs_its_namespace() -> None:
    check = "{metric: FraudScoreDrift, namespace: churn/quality, statistic: Maximum, max: 0.2}"
    declaration = load_text(with_check(check), FILE)
    (checked,) = declaration.spec.rollout.analysis.metrics
    assert checked.resolved_namespace == "churn/quality"
    assert "unknown metric 'FraudScoreDrift'" in problem(
        "{metric: FraudScoreDrift, statistic: Maximum, max: 0.2}", "metric"
    )


def test_aws_namespaces_are_not_custom() -> None:
    message = problem(
        "{metric: Errors, namespace: AWS/Lambda, statistic: Sum, max: 1}", "namespace"
    )
    assert "AWS/ namespaces belong to AWS services" in message


# ------------------------------------------------------------------ statistics, periods


@pytest.mark.parametrize("statistic", ["p50", "p90", "p99", "p99.9"])
def test_percentiles_p50_to_p99_9_on_timings(statistic: str) -> None:
    declaration = load_text(
        with_check(f"{{metric: ModelLatency, statistic: {statistic}, max: 9}}"), FILE
    )
    assert declaration.spec.rollout.analysis.metrics[0].statistic == statistic


@pytest.mark.parametrize("statistic", ["p49", "p100", "p99.99", "P99", "median"])
def test_other_statistics_are_refused(statistic: str) -> None:
    message = problem(f"{{metric: ModelLatency, statistic: {statistic}, max: 9}}", "statistic")
    assert "percentile p50…p99.9" in message


@pytest.mark.parametrize(
    ("statistic", "hint"),
    [
        ("p100", "p100 is the Maximum: write Maximum"),
        ("P99", "case-sensitive: p99"),
        ("average", "case-sensitive: Average"),
        ("p99.99", "CloudWatch takes p0 to p100 with two decimals"),
        ("p95.45", "a check takes p50 to p99.9 with one"),
        ("tm90", "extended statistics a check does not offer"),
        ("IQM", "extended statistics a check does not offer"),
    ],
)
def test_a_refused_statistic_says_what_to_write(statistic: str, hint: str) -> None:
    message = problem(f"{{metric: ModelLatency, statistic: {statistic}, max: 9}}", "statistic")
    assert hint in message


@pytest.mark.parametrize(
    ("check", "advice"),
    [
        ("{metric: Invocation5XXErrors, statistic: p99, max: 1}", "use Sum, Average"),
        ("{metric: Invocation5XXErrors, statistic: Maximum, max: 1}", "use Sum, Average"),
        ("{metric: Invocations, max: 1}", "use Sum, SampleCount"),  # the default Average
        ("{metric: CPUUtilization, statistic: Sum, max: 90}", "use Average, Minimum, Maximum"),
    ],
)
def test_a_statistic_that_says_nothing_about_the_metric_is_refused(check: str, advice: str) -> None:
    message = problem(check, "statistic")
    assert "says nothing useful about" in message
    assert message.endswith(advice)


@pytest.mark.parametrize("period", [10, 20, 30, 45, 90])
def test_periods_are_whole_minutes(period: int) -> None:
    message = problem(f"{{metric: ModelLatency, max: 5, period: {period}}}", "period")
    assert "multiple of 60" in message


@pytest.mark.parametrize("period", [60, 120, 300, 86400])
def test_whole_minute_periods_are_accepted(period: int) -> None:
    load_text(with_check(f"{{metric: ModelLatency, max: 5, period: {period}}}"), FILE)


def test_duplicate_checks_are_refused_but_two_statistics_of_a_metric_are_not() -> None:
    twice = replace(
        CHECK_LINE,
        "        - {metric: ModelLatency, statistic: Average, max: 5}\n"
        "        - {metric: ModelLatency, statistic: Average, max: 9}",
    )
    message = assert_one(twice, 20, "spec.rollout.analysis.metrics", "check listed twice")
    assert "ModelLatency Average" in message
    load_text(
        replace(
            CHECK_LINE,
            "        - {metric: ModelLatency, statistic: Average, max: 5}\n"
            "        - {metric: ModelLatency, statistic: p99, max: 9}",
        ),
        FILE,
    )


def test_an_alarm_listed_twice_is_refused() -> None:
    text = replace(19, "      alarms: [churn-5xx-rate, churn-5xx-rate]")
    assert_one(text, 19, "spec.rollout.analysis.alarms", "alarm listed twice: churn-5xx-rate")


# ------------------------------------------------------------------ no checks, said out loud


def build(**rollout: Any) -> dict[str, Any]:
    document = declaration_dict("churn", **rollout)
    if rollout.get("analysis") is None:
        document["spec"]["rollout"].pop("analysis")
    return document


@pytest.mark.parametrize("strategy", ["canary", "linear", "blueGreen", "abTest", "allAtOnce"])
def test_traffic_with_no_check_needs_analysis_none(strategy: str) -> None:
    text = yaml.safe_dump(build(strategy=strategy, analysis=None), sort_keys=False)
    (message,) = load_problems(text)
    assert f"spec.rollout: {strategy} shifts user traffic but declares no check" in message
    assert message.endswith("write analysis: none to accept that")
    declaration = Declaration.model_validate(build(strategy=strategy, analysis="none"))
    assert declaration.spec.rollout.analysis.acknowledged_none
    assert declaration.spec.rollout.checks_text() == (
        "no checks: nothing can stop a bad model (analysis: none)"
    )


def load_problems(text: str) -> list[str]:
    with pytest.raises(DeclarationError) as caught:
        load_text(text, FILE)
    return caught.value.problems


def test_a_shadow_that_stops_serves_nobody_and_needs_no_acknowledgement() -> None:
    declaration = Declaration.model_validate(build(strategy="shadow", analysis=None))
    assert declaration.spec.rollout.checks_text() == "no checks (the shadow serves no user)"
    with pytest.raises(ValueError, match="shadow shifts user traffic"):
        Declaration.model_validate(
            build(strategy="shadow", analysis=None, shadow={"then": "canary"})
        )


def test_golden_requests_are_a_check() -> None:
    declaration = Declaration.model_validate(
        build(analysis=None, validation={"requests": ["golden/*.json"], "minScore": 0.9})
    )
    assert declaration.spec.rollout.checks_text() == "golden requests (minScore 0.9)"


def test_all_at_once_consults_no_check_so_declaring_one_is_refused() -> None:
    five_xx = {"metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 1}]}
    with pytest.raises(ValueError, match="allAtOnce switches all traffic in one update"):
        Declaration.model_validate(build(strategy="allAtOnce", analysis=five_xx))


def test_the_word_none_is_the_only_string_and_no_hidden_key_sets_it() -> None:
    with pytest.raises(ValueError, match="a mapping of checks, or the word none"):
        Declaration.model_validate(build(analysis="off"))
    with pytest.raises(ValueError, match="to declare no check, write analysis: none"):
        Declaration.model_validate(build(analysis={"acknowledgedNone": True}))


def test_analysis_none_round_trips_through_storage() -> None:
    declaration = Declaration.model_validate(build(analysis="none"))
    stored = declaration.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert stored["spec"]["rollout"]["analysis"] == "none"
    assert Declaration.model_validate(stored) == declaration
    assert Declaration.model_validate(stored, context=TRUSTED) == declaration


def test_checks_in_words() -> None:
    declaration = load_text(VALID, FILE)
    assert declaration.spec.rollout.checks_text() == (
        "alarm churn-5xx-rate; Invocation5XXErrors Sum > 5 per 60s; each step needs 10 "
        "candidate invocations (else extended up to 3 times, then rolls back)"
    )


# ------------------------------------------------------------------ the traffic a step needs


def test_alarms_need_traffic_by_default_and_a_declared_floor_is_kept() -> None:
    analysis = Declaration.model_validate(build(analysis={"alarms": ["a"]})).spec.rollout.analysis
    assert analysis.floor is not None and analysis.floor.model_dump() == {
        "max_extensions": 3,
        "inconclusive": "fail",
        "min_invocations": 10,
    }
    declared = build(analysis={"alarms": ["a"], "traffic": {"minInvocations": 200}})
    floor = Declaration.model_validate(declared).spec.rollout.analysis.floor
    assert floor is not None and floor.too_few(199, 10_000) and not floor.too_few(200, 0)


def test_traffic_with_compare_is_refused_compare_sets_its_own() -> None:
    compare = {"metrics": [{"metric": "ModelLatency"}]}
    document = build(analysis={"alarms": ["a"], "compare": compare, "traffic": {}})
    (message,) = load_problems(yaml.safe_dump(document, sort_keys=False))
    assert "with compare, set minSamples (each variant), maxExtensions and inconclusive" in message


def test_traffic_without_an_alarm_or_metric_is_refused() -> None:
    compare = {"metrics": [{"metric": "ModelLatency"}]}
    for analysis in ({"traffic": {}}, {"compare": compare, "traffic": {"minInvocations": 5}}):
        document = build(analysis=analysis)
        (message,) = load_problems(yaml.safe_dump(document, sort_keys=False))
        assert "traffic" in message, message


# ------------------------------------------------------------------ the repository's checks policy


@pytest.mark.parametrize("strategy", ["canary", "allAtOnce"])
def test_the_policy_decides_what_a_rollout_with_no_check_needs(strategy: str) -> None:
    unsaid = yaml.safe_dump(build(strategy=strategy, analysis=None), sort_keys=False)
    said = yaml.safe_dump(build(strategy=strategy, analysis="none"), sort_keys=False)
    # optional: the repository said it once for all its endpoints
    assert load_text(unsaid, FILE, checks=ChecksPolicy.OPTIONAL).spec.rollout.checks == []
    # acknowledged (the default): analysis: none in the file
    load_text(said, FILE, checks=ChecksPolicy.ACKNOWLEDGED)
    with pytest.raises(DeclarationError, match="write analysis: none to accept that"):
        load_text(unsaid, FILE)
    # required: a check, whatever the file says
    for text in (unsaid, said):
        with pytest.raises(DeclarationError) as caught:
            load_text(text, FILE, checks=ChecksPolicy.REQUIRED)
        (message,) = caught.value.problems
        assert "requires one (checks: required; analysis: none is not enough)" in message
    if strategy == "allAtOnce":
        assert message.endswith("use blueGreen, which bakes with checks")


def test_required_leaves_a_checked_rollout_and_a_reporting_shadow_alone() -> None:
    checked = yaml.safe_dump(build(analysis={"alarms": ["a"]}), sort_keys=False)
    load_text(checked, FILE, checks=ChecksPolicy.REQUIRED)
    shadow = yaml.safe_dump(build(strategy="shadow", analysis=None), sort_keys=False)
    load_text(shadow, FILE, checks=ChecksPolicy.REQUIRED)  # serves nobody


def test_validate_applies_the_repositorys_policy_within_the_operators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Repo.init(tmp_path, initial_branch="main")
    endpoint = tmp_path / "endpoints" / "churn.yaml"
    endpoint.parent.mkdir()
    endpoint.write_text(yaml.safe_dump(build(analysis=None), sort_keys=False))
    assert main(["validate", str(endpoint)]) == 1  # no .smgitops.yaml: acknowledged
    assert "write analysis: none to accept that" in capsys.readouterr().out
    (tmp_path / ".smgitops.yaml").write_text("checks: optional\n")
    assert main(["validate", str(endpoint)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("SMGITOPS_CHECKS", "acknowledged")  # this operator's bound
    assert main(["validate", str(endpoint)]) == 1
    out = capsys.readouterr().out
    assert ".smgitops.yaml:1: checks: optional is wider than the operator allows" in out
    assert "write analysis: none to accept that" in out


def test_a_declaration_stored_before_these_rules_still_reads_back() -> None:
    legacy = build(
        analysis={"metrics": [{"metric": "Invocation5xxErrors", "max": 1, "period": 10}]}
    )
    with pytest.raises(ValueError, match="unknown metric"):
        Declaration.model_validate(legacy)
    stored = Declaration.model_validate(legacy, context=TRUSTED)  # a running rollout's status
    assert stored.spec.rollout.analysis.metrics[0].period == 10
    Declaration.model_validate(build(analysis=None), context=TRUSTED)


# ------------------------------------------------------------------ every front door


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


def test_the_schema_knows_the_metric_names(validator: jsonschema.Draft202012Validator) -> None:
    def errors(check: dict[str, Any]) -> list[str]:
        document = build(analysis={"metrics": [check]})
        found = list(validator.iter_errors(document))
        messages = []
        while found:  # `analysis` is anyOf(mapping, "none"): what editors show is inside
            error = found.pop()
            messages.append(error.message)
            found.extend(error.context or [])
        return messages

    assert errors({"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 1}) == []
    assert errors({"metric": "ModelLatency", "statistic": "p99.9", "max": 1}) == []
    assert any("is not one of" in e for e in errors({"metric": "Invocation5xxErrors", "max": 1}))
    assert any(
        "is not one of" in e
        for e in errors({"metric": "CPUUtilization", "namespace": "AWS/SageMaker", "max": 1})
    )
    assert errors({"metric": "Drift", "namespace": "churn/quality", "max": 1}) == []
    assert errors({"metric": "ModelLatency", "max": 1, "period": 30}) != []
    assert errors({"metric": "ModelLatency", "max": 1, "statistic": "p100"}) != []
    assert [e.message for e in validator.iter_errors(build(analysis="none"))] == []
    assert [e.message for e in validator.iter_errors(build(analysis="off"))] != []


def test_validate_exits_1_with_the_located_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text(with_check("{metric: Invocation5xxErrors, statistic: Sum, max: 1}"))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"churn.yaml:{CHECK_LINE}: {FIELD}.metric: unknown metric" in out
    assert "did you mean 'Invocation5XXErrors'?" in out


def test_the_pre_commit_hook_refuses_a_mis_cased_metric(tmp_path: Path) -> None:
    repo = Repo.init(tmp_path / "team", initial_branch="main")
    bad = with_check("{metric: Invocation5xxErrors, statistic: Sum, max: 1}")
    repo.index.add(write(Path(repo.working_dir), {"endpoints/churn.yaml": bad}))
    failed = run_hook(repo, hook())
    assert failed.returncode == 1
    (line,) = failed.stdout.splitlines()
    assert line.startswith(f"endpoints/churn.yaml:{CHECK_LINE}: {FIELD}.metric: unknown metric")


def test_a_compared_metric_must_be_published_too() -> None:
    def compare(metric: dict[str, Any]) -> dict[str, Any]:
        return build(analysis={"compare": {"metrics": [metric]}})

    with pytest.raises(ValueError, match="did you mean 'ModelLatency'"):
        Declaration.model_validate(compare({"metric": "modelLatency"}))
    with pytest.raises(ValueError, match="says nothing useful about Invocations"):
        Declaration.model_validate(compare({"metric": "Invocations", "statistic": "Maximum"}))
    Declaration.model_validate(compare({"metric": "Invocation5XXErrors", "perInvocation": True}))
    Declaration.model_validate(compare({"metric": "modelLatency"}), context=TRUSTED)


def test_the_documented_catalogue_is_the_catalogue() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "declarations.md").read_text()
    table = text.split("<!-- metric-catalogue:begin")[1].split("<!-- metric-catalogue:end")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == metrics.markdown_rows()
