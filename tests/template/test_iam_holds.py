"""Least privilege that holds: the template's roles evaluated against requests
(tests/template/iam_eval.py), the attacks refused and the functions' own calls allowed."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from smgitops import settings
from smgitops.aws import clients
from smgitops.wiring.webhook import webhook as wired_webhook
from tests.conftest import load_event
from tests.support.ingest import call_webhook, create_aws, webhook_env
from tests.template.cfn import Deployment, deployed_resources, principal_statements
from tests.template.iam_eval import allows

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULTS = Deployment(parameters={"RepositoryUrls": "https://github.com/acme/*"})
ENGINE_ROLES = ("TickFunction", "AbortFunction", "ReconcileFunction", "DriftFunction")


def statements(function: str, deployment: Deployment = DEFAULTS) -> list[dict[str, Any]]:
    return principal_statements(deployment)[function]


def sagemaker_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{DEFAULTS.region}:{DEFAULTS.account}:{kind}/{name}"


# ---------------------------------------------------------------- the public webhook


@pytest.mark.parametrize("action", ["GetItem", "PutItem", "UpdateItem"])
def test_the_webhook_touches_delivery_and_push_records_only(action: str) -> None:
    role, table = statements("WebhookFunction"), DEFAULTS.arn("Table")

    def can(keys: list[str] | None, resource: str = table) -> bool:
        context = {} if keys is None else {"dynamodb:LeadingKeys": keys}
        return allows(role, f"dynamodb:{action}", resource, context)

    assert can(["DELIVERY#72d3162e-cc78-11e3-81ab-4c9367dc0958"])
    assert can(["PUSH#https://github.com/acme/models"])
    assert not can(["ENDPOINT#churn-predictor"]), "a rollout status the tick would deploy"
    assert not can(["GOLDEN#0123abcd"])
    assert not can(None), "a request without a partition key (ForAllValues alone would allow it)"
    assert not can(["DELIVERY#x"], f"{table}/index/gsi1")


@pytest.mark.parametrize(
    "action", ["Scan", "Query", "BatchWriteItem", "DeleteItem", "DescribeTable"]
)
def test_the_webhook_has_no_other_table_action(action: str) -> None:
    role, table = statements("WebhookFunction"), DEFAULTS.arn("Table")
    assert not allows(role, f"dynamodb:{action}", table, {"dynamodb:LeadingKeys": ["DELIVERY#x"]})


@pytest.fixture
def recorded_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every AWS call the webhook makes: (service:Operation, parameters)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((f"{model.service_model.signing_name}:{model.name}", dict(params)))

    with mock_aws():
        resources = create_aws()
        webhook_env(monkeypatch, resources)
        clients.reset()
        clients.session().events.register("before-parameter-build", record)
        wired_webhook.cache_clear()
        yield calls
    wired_webhook.cache_clear()
    clients.reset()


def partition_key(params: dict[str, Any]) -> str:
    item = params.get("Key") or params.get("Item") or {}
    if "pk" in item:
        return str(item["pk"]["S"])
    values = params.get("ExpressionAttributeValues", {})
    expression = str(params.get("KeyConditionExpression", ""))
    (placeholder,) = re.findall(r"pk\s*=\s*(:\w+)", expression)
    return str(values[placeholder]["S"])


def resource_of(action: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The resource and condition context IAM sees for one recorded call."""
    service = action.split(":", maxsplit=1)[0]
    if service == "dynamodb":
        return DEFAULTS.arn("Table"), {"dynamodb:LeadingKeys": [partition_key(params)]}
    if service == "sqs":
        return DEFAULTS.arn("PushQueue"), {}
    if service == "secretsmanager":
        name = params["SecretId"]
        return (
            f"arn:aws:secretsmanager:{DEFAULTS.region}:{DEFAULTS.account}:secret:{name}-Ab1Cd2",
            {},
        )
    raise AssertionError(f"the webhook called {action}: model it here")


def test_every_call_the_webhook_makes_is_allowed_by_its_role(
    recorded_calls: list[tuple[str, dict[str, Any]]],
) -> None:
    event = load_event("github-push-main.json")
    assert call_webhook(event)[0] == 202
    assert call_webhook(event)[0] == 202  # the replay reads the delivery record
    parameters = {"RepositoryUrls": "x", "WebhookSecretName": "smgitops/webhook-secret"}
    role = statements("WebhookFunction", Deployment(parameters=parameters))
    assert {action for action, _ in recorded_calls} >= {
        "dynamodb:PutItem",
        "sqs:SendMessage",
        "secretsmanager:GetSecretValue",
    }
    for action, params in recorded_calls:
        resource, context = resource_of(action, params)
        assert allows(role, action, resource, context), (action, resource, context)


def test_the_webhook_has_a_reserved_concurrency_by_default() -> None:
    webhook_props = deployed_resources(DEFAULTS)["WebhookFunction"]["Properties"]
    assert webhook_props["ReservedConcurrentExecutions"] == "10"
    off = Deployment(parameters={"RepositoryUrls": "x", "WebhookReservedConcurrency": "0"})
    assert (
        "ReservedConcurrentExecutions"
        not in (deployed_resources(off)["WebhookFunction"]["Properties"])
    )


def test_the_webhook_reads_its_secrets_only() -> None:
    with_map = Deployment(
        parameters={"RepositoryUrls": "x", "RepositorySecretsName": "smgitops/repository-secrets"}
    )
    secret = f"arn:aws:secretsmanager:{DEFAULTS.region}:{DEFAULTS.account}:secret:"
    for action in ("secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"):
        assert allows(
            statements("WebhookFunction"), action, f"{secret}smgitops/webhook-secret-Ab1Cd2"
        )
        assert not allows(
            statements("WebhookFunction"), action, f"{secret}smgitops/repository-secrets-Ab1Cd2"
        )
        assert allows(
            statements("WebhookFunction", with_map),
            action,
            f"{secret}smgitops/repository-secrets-Ab1Cd2",
        )
        assert not allows(
            statements("WebhookFunction"), action, f"{secret}smgitops/github-token-Ab1Cd2"
        )


# ---------------------------------------------------------------- tagging


CREATED_BY = {
    "endpoint": "CreateEndpoint",
    "endpoint-config": "CreateEndpointConfig",
    "model": "CreateModel",
}
MANAGED = {
    "aws:RequestTag/smgitops:managed": "true",
    "aws:RequestTag/smgitops:owner": "https://github.com/acme/risk",
    "aws:TagKeys": ["smgitops:managed", "smgitops:owner"],
}


@pytest.mark.parametrize("function", ENGINE_ROLES)
@pytest.mark.parametrize(
    ("kind", "name"),
    [("endpoint", "payments"), ("model", "smg-payments-1"), ("endpoint-config", "smg-payments-1")],
)
def test_no_role_can_tag_an_existing_resource(function: str, kind: str, name: str) -> None:
    """Tagging an unmanaged endpoint smgitops:managed=true would hand it to smgitops: AddTags is
    allowed only as part of the Create call (sagemaker:TaggingAction, IAM reference)."""
    role, arn = statements(function), sagemaker_arn(kind, name)
    assert not allows(role, "sagemaker:AddTags", arn, MANAGED)
    if allows(role, f"sagemaker:{CREATED_BY[kind]}", arn, MANAGED):
        tag_on_create = {**MANAGED, "sagemaker:TaggingAction": CREATED_BY[kind]}
        assert allows(role, "sagemaker:AddTags", arn, tag_on_create)


def test_endpoints_are_created_only_tagged_managed() -> None:
    role, arn = statements("TickFunction"), sagemaker_arn("endpoint", "payments")
    assert allows(role, "sagemaker:CreateEndpoint", arn, MANAGED)
    assert not allows(role, "sagemaker:CreateEndpoint", arn, {"aws:TagKeys": ["team"]})
    unowned = {k: v for k, v in MANAGED.items() if k != "aws:RequestTag/smgitops:owner"}
    assert not allows(role, "sagemaker:CreateEndpoint", arn, unowned), "an endpoint nobody owns"
    assert not allows(role, "sagemaker:UpdateEndpoint", arn, {})
    assert allows(
        role, "sagemaker:UpdateEndpoint", arn, {"aws:ResourceTag/smgitops:managed": "true"}
    )


# ---------------------------------------------------------------- execution roles


def role_arn(path_and_name: str) -> str:
    return f"arn:aws:iam::{DEFAULTS.account}:role/{path_and_name}"


TO_SAGEMAKER = {"iam:PassedToService": "sagemaker.amazonaws.com"}


def test_per_repository_roles_are_the_only_ones_passed() -> None:
    deployment = Deployment(parameters={"RepositoryUrls": "x", "ExecutionRolePath": "/smgitops/"})
    role = statements("TickFunction", deployment)
    team_role = role_arn("smgitops/github.com/acme/fraud-models/fraud-exec")
    assert allows(role, "iam:PassRole", team_role, TO_SAGEMAKER)
    assert not allows(role, "iam:PassRole", team_role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows(role, "iam:PassRole", role_arn("SageMakerExecution"), TO_SAGEMAKER)
    assert not allows(role, "iam:PassRole", role_arn("smgitopsadmin"), TO_SAGEMAKER)
    environment = deployed_resources(deployment)["ReconcileFunction"]["Properties"]["Environment"]
    assert environment["Variables"]["SMGITOPS_EXECUTION_ROLE_PATH"] == "/smgitops/"
    assert "execution_role_path" in settings.ReconcileSettings.model_fields


def test_without_a_role_path_the_pattern_applies() -> None:
    role = statements("TickFunction")
    assert allows(role, "iam:PassRole", role_arn("SageMakerExecution"), TO_SAGEMAKER)
    environment = deployed_resources(DEFAULTS)["ReconcileFunction"]["Properties"]["Environment"]
    assert environment["Variables"]["SMGITOPS_EXECUTION_ROLE_PATH"] == ""


def test_the_evaluator_treats_an_absent_key_like_iam() -> None:
    lenient = [
        {
            "Effect": "Allow",
            "Action": "dynamodb:Scan",
            "Resource": "*",
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DELIVERY#*"]}},
        }
    ]
    assert allows(lenient, "dynamodb:Scan", "t", {}), "ForAllValues holds for an absent key"
    assert not allows(lenient, "dynamodb:Scan", "t", {"dynamodb:LeadingKeys": ["ENDPOINT#x"]})
    strict = [{**lenient[0], "Condition": {"StringEquals": {"aws:TagKeys": "a"}}}]
    assert not allows(strict, "dynamodb:Scan", "t", {})
    assert json.dumps(lenient)  # statements stay plain JSON


# ---------------------------------------------------------------- autoscaling


VARIANT_SCALING = {
    "application-autoscaling:service-namespace": "sagemaker",
    "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
}


@pytest.mark.parametrize(
    "action", ["RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy"]
)
def test_the_engine_scales_sagemaker_variants_only(action: str) -> None:
    """spec.autoscaling: the tick may register, deregister and put policies on SageMaker
    variants' instance counts, and on nothing else Application Auto Scaling scales."""
    role = statements("TickFunction")
    arn = f"arn:aws:application-autoscaling:{DEFAULTS.region}:{DEFAULTS.account}:scalable-target/x"
    assert allows(role, f"application-autoscaling:{action}", arn, VARIANT_SCALING)
    dimension = "application-autoscaling:scalable-dimension"
    for other in (
        {**VARIANT_SCALING, "application-autoscaling:service-namespace": "dynamodb"},
        {**VARIANT_SCALING, dimension: "ecs:service:DesiredCount"},
    ):
        assert not allows(role, f"application-autoscaling:{action}", arn, other)


def test_target_tracking_alarms_are_the_only_other_alarms_it_writes() -> None:
    role = statements("TickFunction")
    alarm = f"arn:aws:cloudwatch:{DEFAULTS.region}:{DEFAULTS.account}:alarm:"
    assert allows(role, "cloudwatch:PutMetricAlarm", alarm + "TargetTracking-endpoint/x", {})
    assert not allows(role, "cloudwatch:PutMetricAlarm", alarm + "team-5xx", {})
    slr = (
        f"arn:aws:iam::{DEFAULTS.account}:role/aws-service-role/"
        "sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    named = {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
    assert allows(role, "iam:CreateServiceLinkedRole", slr, named)
    assert not allows(role, "iam:CreateServiceLinkedRole", slr, {"iam:AWSServiceName": "x"})
