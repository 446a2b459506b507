"""Model Registry: only an Approved package version ever takes traffic."""

from __future__ import annotations

from typing import Any

from smgitops.declaration.models import Declaration
from smgitops.rollout.status import Phase
from tests.builders import IMAGE, ROLE, declaration, declaration_dict
from tests.integration.conftest import Engine

NAME = "churn-predictor"


def _package(engine: Engine, status: str | None) -> str:
    sm = engine.sagemaker
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    if not groups:
        sm.create_model_package_group(ModelPackageGroupName="churn")
    params: dict[str, Any] = {
        "ModelPackageGroupName": "churn",
        "InferenceSpecification": {
            "Containers": [
                {"Image": IMAGE, "ModelDataUrl": "s3://ml-models/churn/pkg/model.tar.gz"}
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }
    if status:
        params["ModelApprovalStatus"] = status
    arn: str = sm.create_model_package(**params)["ModelPackageArn"]
    return arn


def _registered(arn: str, **rollout: Any) -> Declaration:
    document = declaration_dict(**rollout)
    document["spec"]["model"] = {"modelPackageArn": arn, "executionRoleArn": ROLE}
    return Declaration.model_validate(document)


def test_pending_approval_waits_then_deploys_once_approved(engine: Engine) -> None:
    engine.deploy(declaration(version=1), "1" * 40)
    arn = _package(engine, "PendingManualApproval")
    outcome = engine.start(_registered(arn, approvalTimeout="1h"), "2" * 40)
    for _ in range(3):
        result = engine.tick(NAME, outcome.rollout_id)
        assert result.phase == Phase.PENDING
    status = engine.service.store.get(NAME)
    assert status is not None and status.reason.startswith("waiting for approval")
    assert arn in status.reason and "PendingManualApproval" in status.reason
    assert len(engine.weights(NAME)) == 1  # the candidate takes no traffic, is not even there
    engine.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    events = " ".join(r.event for r in engine.service.store.history(NAME))
    assert f"model package {arn}" in events and "approved" in events


def test_rejected_package_fails_without_traffic(engine: Engine) -> None:
    engine.deploy(declaration(version=1), "1" * 40)
    before = engine.weights(NAME)
    arn = _package(engine, "Rejected")
    outcome = engine.start(_registered(arn), "2" * 40)
    trail = engine.run(NAME, outcome.rollout_id)
    assert [p for p, _ in trail] == [Phase.FAILED]
    status = engine.service.store.get(NAME)
    assert status is not None and status.reason == f"model package {arn} (version 1) is Rejected"
    assert engine.weights(NAME) == before
    assert len(engine.sagemaker.list_models()["Models"]) == 1  # no candidate model was created


def test_pending_approval_times_out(engine: Engine) -> None:
    engine.deploy(declaration(version=1), "1" * 40)
    arn = _package(engine, "PendingManualApproval")
    outcome = engine.start(_registered(arn, approvalTimeout="2m"), "2" * 40)
    engine.tick(NAME, outcome.rollout_id)
    engine.clock.advance(180)
    result = engine.tick(NAME, outcome.rollout_id)
    assert result.phase == Phase.FAILED and "after 120s" in result.reason


def test_approved_package_deploys_first_time(engine: Engine) -> None:
    arn = _package(engine, "Approved")
    outcome = engine.start(_registered(arn), "1" * 40)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    model = engine.sagemaker.describe_model(
        ModelName=engine.sagemaker.list_models()["Models"][0]["ModelName"]
    )
    assert model["PrimaryContainer"].get("ModelPackageName") == arn or model.get("Containers")
