"""Every IAM statement template.yaml writes, checked against the IAM Service Authorization
Reference (tests/template/iam_reference.py), in every way the stack can be deployed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.template import iam_reference
from tests.template.cfn import (
    PRINCIPAL_KINDS,
    Deployment,
    deployed_resources,
    principal_statements,
    template,
)

ACCOUNT = "123456789012"
EVERYTHING_ON = {
    "CodeCommitRepositoryArn": f"arn:aws:codecommit:us-east-1:{ACCOUNT}:ml-endpoints",
    "GitHubTokenSecretName": "smgitops/github-token",
    "GitCredentialsSecretName": "smgitops/git-credentials",
    "NotificationEmail": "ml-platform@example.com",
    "ExecutionRoleArnPattern": f"arn:aws:iam::{ACCOUNT}:role/ml/*",
    "Environment": "prod",
}
DEPLOYMENTS = [
    Deployment("defaults", parameters={"RepositoryUrls": "https://github.com/acme/*"}),
    Deployment(
        "everything-on", parameters={"RepositoryUrls": "https://github.com/acme/*", **EVERYTHING_ON}
    ),
    Deployment(
        "aws-cn",
        partition="aws-cn",
        region="cn-north-1",
        parameters={"RepositoryUrls": "https://github.com/acme/*"},
    ),
    Deployment(
        "aws-us-gov",
        partition="aws-us-gov",
        region="us-gov-west-1",
        parameters={"RepositoryUrls": "https://github.com/acme/*"},
    ),
]
RESOURCE_POLICIES = {
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
}


def resource_policy_statements(deployment: Deployment) -> dict[str, list[dict[str, Any]]]:
    return {
        name: resource["Properties"][RESOURCE_POLICIES[resource["Type"]]]["Statement"]
        for name, resource in deployed_resources(deployment).items()
        if resource["Type"] in RESOURCE_POLICIES
    }


def describe(owner: str, statement: dict[str, Any], problem: str) -> str:
    return f"{owner} / {statement.get('Sid', '?')}: {problem}"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d.name)
def test_every_statement_matches_the_iam_reference(deployment: Deployment) -> None:
    owners = principal_statements(deployment) | resource_policy_statements(deployment)
    assert owners, "no IAM statement found"
    problems = [
        describe(owner, statement, problem)
        for owner, statements in owners.items()
        for statement in statements
        for problem in iam_reference.statement_problems(statement)
    ]
    assert problems == [], f"against {iam_reference.SOURCE}:\n" + "\n".join(problems)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d.name)
def test_every_required_resource_type_is_granted(deployment: Deployment) -> None:
    problems = [
        f"{owner}: {problem}"
        for owner, statements in principal_statements(deployment).items()
        for problem in iam_reference.uncovered_required_types(statements)
    ]
    assert problems == [], f"against {iam_reference.SOURCE}:\n" + "\n".join(problems)


def test_no_sam_policy_template_hides_a_statement() -> None:
    """SAM policy templates expand at deploy time, out of this test's sight (SQSPollerPolicy,
    for one, grants sqs:ChangeMessageVisibilityBatch, which is no IAM action)."""
    for name, resource in template()["Resources"].items():
        if resource["Type"] not in PRINCIPAL_KINDS:
            continue
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and set(policy) <= {"Ref", "Statement", "Fn::If"}, (
                f"{name}: {policy!r} - write the statement out"
            )


# ---------------------------------------------------------------- the checker itself


def statement(action: str, resource: Any = "*", **condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}


SFN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:smgitops-rollout"
ENDPOINTS = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/*"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (statement("states:SendTaskSuccess", SFN), "has no resource type"),
        (statement("sqs:ChangeMessageVisibilityBatch"), "no such action"),
        (statement("states:StartExecution", ENDPOINTS), "takes none of"),
        (
            statement(
                "sagemaker:UpdateEndpoint", ENDPOINTS, StringEquals={"iam:PassedToService": "x"}
            ),
            "has no condition key iam:PassedToService",
        ),
        (
            statement("sagemaker:DeleteModel", "*", StringEquals={"aws:RequestTag/team": "a"}),
            "has no condition key aws:RequestTag/team",
        ),
    ],
)
def test_the_checker_catches(bad: dict[str, Any], says: str) -> None:
    assert any(says in problem for problem in iam_reference.statement_problems(bad))


@pytest.mark.parametrize(
    "good",
    [
        statement("states:SendTaskSuccess"),
        statement("kms:GenerateDataKey*", "*", StringEquals={"aws:SourceAccount": ACCOUNT}),
        statement(
            "sagemaker:AddTags",
            ENDPOINTS,
            StringEquals={"sagemaker:TaggingAction": "CreateEndpoint"},
        ),
        statement("sagemaker:UpdateEndpoint", ENDPOINTS, StringEquals={"aws:ResourceTag/a": "b"}),
        statement(
            "dynamodb:PutItem",
            f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t",
            **{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DELIVERY#*"]}},
        ),
    ],
)
def test_the_checker_accepts(good: dict[str, Any]) -> None:
    assert iam_reference.statement_problems(good) == []


def test_the_checker_wants_every_required_resource_type() -> None:
    config = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/*"
    only_endpoint = [statement("sagemaker:CreateEndpoint", ENDPOINTS)]
    assert iam_reference.uncovered_required_types(only_endpoint) == [
        "sagemaker:CreateEndpoint requires a endpoint-config resource; none is granted"
    ]
    both = [*only_endpoint, statement("sagemaker:CreateEndpoint", config)]
    assert iam_reference.uncovered_required_types(both) == []
