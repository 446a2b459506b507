"""``smgitops plan`` against the emulator: endpoints deployed by a real reconcile, then a
clone that changes, adds and removes declarations (nothing pushed, nothing checked out)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import yaml

from smgitops.aws import clients
from smgitops.cli import main
from smgitops.local.emulator import scale_variant
from smgitops.urls import identity_of
from tests.builders import declaration_dict
from tests.integration.test_reconcile import T0, Stack, stack  # noqa: F401 - the fixture
from tests.support.emulator import put_manual_alarm
from tests.support.production import SERVERLESS, edit

if TYPE_CHECKING:
    import pytest


def _plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    capsys.readouterr()  # drop what earlier steps logged
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--output" in args and out else out), err


def _deployed(stack: Stack) -> None:  # noqa: F811 - the fixture's value
    stack.remote.declare("churn-predictor", version=1)
    stack.remote.declare("fraud-scorer", version=1)
    stack.push(stack.remote.commit("v1"), T0)
    stack.finish()


def test_plan_lists_create_update_unchanged_and_orphaned(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _deployed(stack)
    stack.remote.declare("churn-predictor", version=2, instance_count=2)
    stack.remote.declare("ltv-model")
    stack.remote.remove("endpoints/fraud-scorer.yaml")
    stack.remote.commit("change, add, remove", push=False)
    stack.calls.clear()
    code, plan, _ = _plan(
        capsys, "--repo", str(stack.remote.root), "--output", "json", "--table", stack.aws.table
    )
    assert code == 0
    assert plan["summary"] == {"create": 1, "update": 1, "unchanged": 0, "orphaned": 1}
    by_name = {c["endpoint"]: c for c in plan["changes"]}
    assert by_name["ltv-model"]["action"] == "create"
    assert by_name["fraud-scorer"]["action"] == "orphaned"
    churn = by_name["churn-predictor"]
    assert churn["action"] == "update"
    assert churn["file"] == "endpoints/churn-predictor.yaml"
    assert [(d["field"], d["before"], d["after"]) for d in churn["diffs"]] == [
        (
            "model.modelDataUrl",
            "s3://ml-models/churn/v1/model.tar.gz",
            "s3://ml-models/churn/v2/model.tar.gz",
        ),
        ("instanceCount", 1, 2),
    ]
    assert set(stack.calls) <= {
        "DescribeEndpoint",
        "DescribeEndpointConfig",
        "DescribeModel",
        "DescribeAlarms",
    }
    # The pushed commit is what is live: nothing to do.
    code, plan, _ = _plan(
        capsys,
        "--repo",
        str(stack.remote.root),
        "--ref",
        "HEAD~1",
        "--output",
        "json",
        "--table",
        stack.aws.table,
    )
    assert [c["action"] for c in plan["changes"]] == ["unchanged", "unchanged"]


def test_plan_without_a_table_compares_with_the_live_endpoints_only(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _deployed(stack)
    stack.monkeypatch.delenv("SMGITOPS_TABLE")
    stack.remote.declare("churn-predictor", version=2)
    stack.remote.commit("v2", push=False)
    code, text, err = _plan(capsys, "--repo", str(stack.remote.root))
    assert code == 0
    lines = text.splitlines()
    assert lines[0].endswith(": 0 to create, 1 to update, 1 unchanged, 0 orphaned")
    # the same default table as status and history, said out loud when it is not there
    assert "no status table 'smgitops': last-applied state and orphans unknown" in err
    assert "  ~ update     churn-predictor  endpoints/churn-predictor.yaml" in lines
    assert "      model.modelDataUrl: s3://ml-models/churn/v1/model.tar.gz -> " in text


def test_plan_of_invalid_declarations_prints_every_problem_and_exits_1(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack.remote.declare("churn-predictor", steps=[50, 10])
    stack.remote.declare("fraud-scorer", instance_count=0)
    stack.remote.commit("broken", push=False)
    code, out, err = _plan(capsys, "--repo", str(stack.remote.root))
    assert (code, out) == (1, "")
    problems = err.splitlines()[:-1]
    assert len(problems) == 2
    assert problems[0].startswith("endpoints/churn-predictor.yaml:")
    assert problems[1].startswith("endpoints/fraud-scorer.yaml:")
    assert err.splitlines()[-1] == "smgitops plan: 2 problem(s); nothing planned"


def test_plan_usage_errors_exit_2(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    stack.remote.declare("churn-predictor")
    stack.remote.commit("v1", push=False)
    code, _, err = _plan(capsys, "--repo", str(stack.remote.root), "--ref", "no-such-ref")
    assert code == 2 and "cannot read 'no-such-ref'" in err
    code, _, err = _plan(capsys, "--repo", str(tmp_path / "missing"))
    assert code == 2 and "not a folder" in err


def test_plan_refuses_an_endpoint_whose_declared_alarm_does_not_exist(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _deployed(stack)
    stack.remote.declare("churn-predictor", version=2, analysis={"alarms": ["churn-5xx-rate"]})
    stack.remote.commit("v2 watched by an alarm nobody created", push=False)
    code, text, err = _plan(capsys, "--repo", str(stack.remote.root))
    assert code == 1
    assert (
        "(refused: declared alarm churn-5xx-rate does not exist: a check that cannot fire is "
        "no check; create it or fix the name (nothing was deployed))"
    ) in text
    assert err.splitlines()[-1] == "smgitops plan: a push would refuse churn-predictor"
    put_manual_alarm(clients.client("cloudwatch"), "churn-5xx-rate")
    code, text, _ = _plan(capsys, "--repo", str(stack.remote.root))
    assert code == 0 and "refused" not in text


def test_plan_from_another_repository_refuses_its_endpoints_and_orphans_none_of_them(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _deployed(stack)  # churn-predictor and fraud-scorer, owned by acme/ml-endpoints
    risk = stack.team("risk-models")
    risk.declare("churn-predictor", version=1)  # another team's endpoint, as it is live
    risk.declare("ltv-model")
    risk.commit("declare theirs", push=False)
    owner = identity_of(stack.remote.url)
    code, plan, err = _plan(capsys, "--repo", str(risk.root), "--output", "json")
    assert code == 1
    assert plan["owner"] == identity_of(risk.url)  # from the clone's origin
    by_name = {c["endpoint"]: c for c in plan["changes"]}
    churn = by_name["churn-predictor"]
    assert churn["action"] == "unchanged"  # the same model: refused all the same
    assert churn["note"].startswith(f"refused: endpoint churn-predictor is owned by {owner};")
    assert by_name["ltv-model"]["action"] == "create" and not by_name["ltv-model"]["note"]
    assert "fraud-scorer" not in by_name  # not this repository's: never its orphan
    assert err.splitlines()[-1] == "smgitops plan: a push would refuse churn-predictor"
    # the owner's own clone: no refusal
    code, plan, _ = _plan(
        capsys, "--repo", str(risk.root), "--repository", stack.remote.url, "--output", "json"
    )
    assert code == 0 and not [c for c in plan["changes"] if c["note"].startswith("refused")]
    assert {c["endpoint"]: c["action"] for c in plan["changes"]}["fraud-scorer"] == "orphaned"


SCALING = {
    "minInstances": 2,
    "maxInstances": 8,
    "target": {"metric": "InvocationsPerInstance", "value": 200},
}


def _declare_scaled(stack: Stack, version: int) -> None:  # noqa: F811 - the fixture's value
    data = declaration_dict("churn-predictor", version=version, instance_count=2, steps=[10, 50])
    data["spec"]["autoscaling"] = SCALING
    stack.remote.write("endpoints/churn-predictor.yaml", yaml.safe_dump(data, sort_keys=False))


def test_plan_counts_an_autoscaled_stable_at_the_instances_it_runs_now(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _declare_scaled(stack, 1)
    stack.push(stack.remote.commit("v1, autoscaled"), T0)
    stack.finish()
    live = clients.client("sagemaker").describe_endpoint(EndpointName="churn-predictor")
    [stable] = [v["VariantName"] for v in live["ProductionVariants"]]
    assert scale_variant("churn-predictor", stable, 5) == 5  # its policy scaled it out
    _declare_scaled(stack, 2)
    stack.remote.declare("ltv-model", instance_count=3)
    stack.remote.commit("v2, and a new endpoint", push=False)
    args = ("--repo", str(stack.remote.root), "--table", stack.aws.table)
    code, plan, _ = _plan(capsys, *args, "--output", "json")
    assert code == 0
    by_name = {c["endpoint"]: c for c in plan["changes"]}
    capacity = by_name["churn-predictor"]["rollout"]["capacity"]
    assert capacity["moments"][0]["stable"] == {"ml.m5.large": 5}  # not 2 declared, not 8 max
    # 5 stable + (8 + 8) new while promoting: the new variant may scale to maxInstances
    assert capacity["peak"] == {"ml.m5.large": 21}
    assert (capacity["autoscaled"], capacity["stableLive"]) == (True, True)
    assert capacity["quotas"] == [
        {
            "resource": "ml.m5.large",
            "quota": "ml.m5.large for endpoint usage",
            "peak": 21,
            "at": "promoting: both fleets until the new model alone serves",
        }
    ]
    created = by_name["ltv-model"]["rollout"]
    assert created["firstDeploy"] and created["capacity"]["peak"] == {"ml.m5.large": 3}
    assert created["capacity"]["stableLive"] is False
    code, text, _ = _plan(capsys, *args)
    assert (
        "        capacity: up to 21 × ml.m5.large at once (the stable variant at the count it "
        "runs now, an autoscaled new variant at maxInstances) (promoting: both fleets until the "
        "new model alone serves): the quota ml.m5.large for endpoint usage must allow it"
    ) in text
    assert "          before: the stable model alone: 5 × ml.m5.large" in text.splitlines()
    code, markdown, _ = _plan(capsys, *args, "--format", "markdown")
    rows = markdown.splitlines()
    assert "| | endpoint | action | details | peak capacity |" in rows
    [churn] = [row for row in rows if "| `churn-predictor` |" in row]
    assert churn.endswith("| 21 × `ml.m5.large` |")
    assert "the quota `ml.m5.large for endpoint usage` must allow it" in churn


def test_plan_refuses_turning_an_instance_endpoint_serverless_as_the_engine_would(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _deployed(stack)
    document = yaml.safe_load(edit(SERVERLESS, "name: churn-serverless", "name: churn-predictor"))
    stack.remote.write("endpoints/churn-predictor.yaml", yaml.safe_dump(document))
    stack.remote.commit("churn goes serverless", push=False)
    code, text, err = _plan(capsys, "--repo", str(stack.remote.root))
    assert code == 1
    assert (
        "(refused: SageMaker cannot turn an instance-based endpoint into a serverless one" in text
    )
    assert err.splitlines()[-1] == "smgitops plan: a push would refuse churn-predictor"
