"""Enough of CloudFormation to read template.yaml the way a deployment would.

:func:`evaluate` resolves a value of the template for one :class:`Deployment` (partition, region,
account, stack name, parameter values): ``Ref``, ``Fn::Sub``, ``Fn::GetAtt``, ``Fn::If`` (with the
template's Conditions), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap`` and
``AWS::NoValue``. Resources get deterministic physical names, so an ARN reads like the one
CloudFormation would make (``arn:<partition>:sqs:<region>:<account>:<stack>-PushQueue-X.fifo``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cfnlint.decode import cfn_yaml

from tests.conftest import ROOT

TEMPLATE = ROOT / "template.yaml"
NO_VALUE = object()
PRINCIPAL_KINDS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
SUFFIX = "ABC123XYZ"


@cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = cfn_yaml.load(str(TEMPLATE))
    return loaded


@dataclass(frozen=True)
class Deployment:
    """One way the stack can be deployed: where, and with which parameter values."""

    name: str = "defaults"
    partition: str = "aws"
    region: str = "us-east-1"
    account: str = "123456789012"
    stack: str = "smgitops"
    parameters: dict[str, str] = field(default_factory=dict)

    def parameter(self, name: str) -> Any:
        declared = template()["Parameters"][name]
        value = self.parameters.get(name, declared.get("Default"))
        if value is None:
            raise KeyError(f"parameter {name} has no default: give it in the Deployment")
        value = str(value)
        if declared["Type"] == "CommaDelimitedList":
            return [part.strip() for part in value.split(",")]
        return value

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:"
                f"stack/{self.stack}/51af3dc0-da77-11e4-872e-1234567db123"
            ),
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }[name]

    def condition(self, name: str) -> bool:
        return bool(evaluate(template()["Conditions"][name], self))

    # ------------------------------------------------------------ resources' names and ARNs

    def physical_name(self, logical: str) -> str:
        props = template()["Resources"][logical].get("Properties", {})
        for key in ("Name", "FunctionName", "TableName", "TopicName", "LogGroupName"):
            if key in props:
                return str(evaluate(props[key], self))
        name = f"{self.stack}-{logical}-{SUFFIX}"
        return f"{name}.fifo" if props.get("FifoQueue") is True else name

    def arn(self, logical: str) -> str:
        kind = template()["Resources"][logical]["Type"]
        name = self.physical_name(logical)
        where = f"{self.region}:{self.account}"
        service_arn = {
            "AWS::SQS::Queue": f"sqs:{where}:{name}",
            "AWS::SNS::Topic": f"sns:{where}:{name}",
            "AWS::DynamoDB::Table": f"dynamodb:{where}:table/{name}",
            "AWS::KMS::Key": f"kms:{where}:key/{SUFFIX.lower()}",
            "AWS::Logs::LogGroup": f"logs:{where}:log-group:{name}:*",
            "AWS::Serverless::Function": f"lambda:{where}:function:{name}",
            "AWS::Serverless::StateMachine": f"states:{where}:stateMachine:{name}",
            "AWS::Events::Rule": f"events:{where}:rule/{name}",
            "AWS::IAM::ManagedPolicy": f"iam::{self.account}:policy/{name}",
        }[kind]
        return f"arn:{self.partition}:{service_arn}"

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in template()["Parameters"]:
            return self.parameter(name)
        kind = template()["Resources"][name]["Type"]
        if kind == "AWS::SQS::Queue":
            return (
                f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.physical_name(name)}"
            )
        if kind in {"AWS::SNS::Topic", "AWS::IAM::ManagedPolicy", "AWS::Serverless::StateMachine"}:
            return self.arn(name)
        if kind == "AWS::KMS::Key":
            return SUFFIX.lower()
        return self.physical_name(name)

    def get_att(self, logical: str, attribute: str) -> Any:
        if attribute == "Arn":
            return self.arn(logical)
        if attribute == "QueueName":
            return self.physical_name(logical)
        if attribute == "FunctionUrl":
            return f"https://{SUFFIX.lower()}.lambda-url.{self.region}.on.aws/"
        raise KeyError(f"{logical}.{attribute}: not modelled in tests/template/cfn.py")


_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


def _sub(text: str, variables: dict[str, Any], deployment: Deployment) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            logical, attribute = name.split(".", 1)
            return str(deployment.get_att(logical, attribute))
        return str(deployment.ref(name))

    return _SUB.sub(one, text).replace("${!", "${")


def evaluate(value: Any, deployment: Deployment) -> Any:  # noqa: C901, PLR0911, PLR0912
    """``value`` with every intrinsic function resolved for ``deployment``."""
    if isinstance(value, list):
        items = [evaluate(v, deployment) for v in value]
        return [v for v in items if v is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return deployment.ref(arg)
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return deployment.get_att(logical, attribute)
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            resolved = {k: evaluate(v, deployment) for k, v in variables.items()}
            return _sub(text, resolved, deployment)
        if key == "Fn::If":
            condition, when_true, when_false = arg
            chosen = when_true if deployment.condition(condition) else when_false
            return evaluate(chosen, deployment)
        if key == "Fn::Equals":
            left, right = (str(evaluate(v, deployment)) for v in arg)  # parameters are strings
            return left == right
        if key == "Fn::Not":
            return not evaluate(arg[0], deployment)
        if key == "Fn::And":
            return all(evaluate(v, deployment) for v in arg)
        if key == "Fn::Or":
            return any(evaluate(v, deployment) for v in arg)
        if key == "Condition":
            return deployment.condition(arg)
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(p) for p in evaluate(parts, deployment))
        if key == "Fn::Split":
            separator, source = arg
            return str(evaluate(source, deployment)).split(separator)
        if key == "Fn::Select":
            index, source = arg
            return evaluate(source, deployment)[int(evaluate(index, deployment))]
        if key == "Fn::FindInMap":
            mapping, top, second = (evaluate(v, deployment) for v in arg)
            return template()["Mappings"][mapping][top][second]
    resolved = {k: evaluate(v, deployment) for k, v in value.items()}
    return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def deployed_resources(deployment: Deployment) -> dict[str, dict[str, Any]]:
    """The resources ``deployment`` creates (their Condition holds), each evaluated."""
    created = {}
    for name, resource in template()["Resources"].items():
        condition = resource.get("Condition")
        if condition is None or deployment.condition(condition):
            created[name] = {
                **resource,
                "Properties": evaluate(resource.get("Properties", {}), deployment),
            }
    return created


def principal_statements(deployment: Deployment) -> dict[str, list[dict[str, Any]]]:
    """Each function's and the state machine's statements, managed policies included."""
    created = deployed_resources(deployment)
    managed = {
        deployment.arn(name): r["Properties"]["PolicyDocument"]["Statement"]
        for name, r in created.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    }
    by_principal: dict[str, list[dict[str, Any]]] = {}
    for name, resource in created.items():
        if resource["Type"] not in PRINCIPAL_KINDS:
            continue
        statements = by_principal.setdefault(name, [])
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, str) and policy in managed:
                statements.extend(managed[policy])
            elif isinstance(policy, dict) and set(policy) == {"Statement"}:
                statements.extend(policy["Statement"])
            # anything else is a SAM policy template: test_no_sam_policy_template_hides_a_statement
    return by_principal
