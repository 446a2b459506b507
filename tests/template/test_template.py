"""Static checks of the AWS application: template.yaml, the rollout ASL, the Dockerfile and
samconfig.toml agree with each other and with the code they deploy."""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import json
import pkgutil
import re
import tomllib
from functools import cache
from typing import TYPE_CHECKING, Any

import botocore.loaders
import pytest
from cfnlint.api import lint_file
from cfnlint.config import ManualArgs
from moto.events.models import EventPattern

import smgitops
from smgitops import errors, settings
from smgitops.declaration.models import OPERATOR_CHECKS, ChecksPolicy
from smgitops.ingest.webhook import WebhookConfig
from smgitops.local.emulator import stepfunctions as local_sfn
from smgitops.local.emulator.stepfunctions import ASL_PATH, placeholders
from tests.conftest import ROOT, load_event
from tests.template import iam_reference
from tests.template.cfn import TEMPLATE, Deployment, deployed_resources, evaluate, template

if TYPE_CHECKING:
    from collections.abc import Iterator

SAMCONFIG = ROOT / "samconfig.toml"
FUNCTIONS_DIR = ROOT / "functions"

# What each function reads its environment with at cold start: the settings models of
# functions/smgitops/settings.py, and the webhook's dataclass (no pydantic on its path).
SETTINGS_OF: dict[str, type[settings.StoreSettings] | type[WebhookConfig]] = {
    "WebhookFunction": WebhookConfig,
    "ReconcileFunction": settings.ReconcileSettings,
    "TickFunction": settings.EngineSettings,
    "AbortFunction": settings.EngineSettings,
    "DriftFunction": settings.DriftSettings,
}
TRANSIENT_ERRORS = {
    "TransientError",
    "ConflictError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
MUTATING_SAGEMAKER = re.compile(r"^sagemaker:(Create|Update|Delete|Add|Put|Invoke|Stop|Start)")


@cache
def asl() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ASL_PATH.read_text())
    return loaded


def fields(model: type[settings.StoreSettings] | type[WebhookConfig]) -> list[str]:
    """The field names of a settings model or of the webhook's dataclass."""
    if dataclasses.is_dataclass(model):
        return [field.name for field in dataclasses.fields(model)]
    return list(model.model_fields)


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Serverless::Function")


def properties(name: str) -> dict[str, Any]:
    props: dict[str, Any] = template()["Resources"][name]["Properties"]
    return props


def function_environment(name: str) -> dict[str, Any]:
    merged = dict(template()["Globals"]["Function"]["Environment"]["Variables"])
    merged.update(properties(name).get("Environment", {}).get("Variables", {}))
    return merged


def dockerfile_cmd() -> list[str]:
    lines = (FUNCTIONS_DIR / "Dockerfile").read_text().splitlines()
    cmd = [line for line in lines if line.startswith("CMD ")]
    assert len(cmd) == 1, "one CMD in functions/Dockerfile"
    parsed: list[str] = json.loads(cmd[0].removeprefix("CMD "))
    return parsed


def handler_path(name: str) -> str:
    props = properties(name)
    if props.get("PackageType") == "Image":
        command: list[str] = props["ImageConfig"]["Command"]
        assert command == dockerfile_cmd(), "ImageConfig.Command and the Dockerfile's CMD differ"
        return command[0]
    handler: str = props["Handler"]
    return handler


def all_statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement the template writes: managed policies and SAM inline statements."""
    for name, policy in resources("AWS::IAM::ManagedPolicy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield name, statement
    for kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
        for name, resource in resources(kind).items():
            for policy in resource["Properties"].get("Policies", []):
                if isinstance(policy, dict) and "Statement" in policy:
                    for statement in policy["Statement"]:
                        yield name, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- template as a whole


def test_cfn_lint_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    matches = lint_file(TEMPLATE, ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_declared_parameters_and_outputs() -> None:
    assert set(template()["Parameters"]) >= {
        "TrackedBranch",
        "DeclarationsFolder",
        "RepositoryUrls",
        "WebhookSecretName",
        "GitHubTokenSecretName",
        "GitCredentialsSecretName",
        "LogLevel",
        "NotificationEmail",
        "Prune",
        "Environment",
        "ExecutionRoleArnPattern",
        "DriftSchedule",
        "CodeCommitRepositoryArn",
    }
    assert set(template()["Outputs"]) >= {
        "WebhookUrl",
        "StateMachineArn",
        "TableName",
        "DashboardUrl",
        "QueueUrl",
        "TopicArn",
    }


def test_no_secret_values_in_the_template() -> None:
    text = TEMPLATE.read_text()
    assert "SecretString" not in text
    assert not re.search(r"\b\d{12}\b", text), "no account id written into the template"


# ---------------------------------------------------------------- functions


def test_every_entry_point_is_deployed() -> None:
    assert set(functions()) == set(SETTINGS_OF)
    assert {handler_path(name) for name in functions()} == {
        f"smgitops.handlers.{entry}.handler"
        for entry in ("webhook", "reconcile", "tick", "abort", "drift")
    }


@pytest.mark.parametrize("name", sorted(SETTINGS_OF))
def test_handler_path_imports_and_is_callable(name: str) -> None:
    module_name, _, attribute = handler_path(name).rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute, None)), (
        f"{module_name}.{attribute} is not a function"
    )


@pytest.mark.parametrize("name", sorted(SETTINGS_OF))
def test_function_environment_satisfies_its_settings(name: str) -> None:
    env = function_environment(name)
    smgitops_vars = {key for key in env if key.startswith("SMGITOPS_")}
    known = {f"SMGITOPS_{name.upper()}" for model in SETTINGS_OF.values() for name in fields(model)}
    assert smgitops_vars <= known, f"unknown variables: {smgitops_vars - known}"
    # Every required field is set: the function does not fail at cold start in AWS.
    values = {key: "x" for key in smgitops_vars}
    values |= {
        "SMGITOPS_PRUNE": "false",
        "SMGITOPS_MAX_BODY_BYTES": "1024",
        "SMGITOPS_CHECKS": "acknowledged",
        "SMGITOPS_SELF_HEAL": "false",
    }
    SETTINGS_OF[name].from_env(values)
    assert env["POWERTOOLS_SERVICE_NAME"] == "smgitops"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "smgitops"


@pytest.mark.parametrize("name", sorted(SETTINGS_OF))
def test_function_runtime_tracing_and_logs(name: str) -> None:
    globals_ = template()["Globals"]["Function"]
    props = properties(name)
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Tracing"] == "Active"
    if props.get("PackageType") != "Image":
        assert props["Runtime"] == "python3.12"
        assert props["CodeUri"] == "functions/"
    log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert "RetentionInDays" in properties(log_group)


def test_image_function_is_built_from_the_lambda_python_base_with_git() -> None:
    reconcile = template()["Resources"]["ReconcileFunction"]
    assert reconcile["Properties"]["PackageType"] == "Image"
    context = ROOT / reconcile["Metadata"]["DockerContext"]
    dockerfile = (context / reconcile["Metadata"]["Dockerfile"]).read_text()
    assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile
    assert re.search(r"dnf install -y git", dockerfile)
    assert "requirements.txt" in dockerfile
    assert "COPY smgitops " in dockerfile
    assert (context / "requirements.txt").is_file()


def test_webhook_url_is_public_and_says_why() -> None:
    assert properties("WebhookFunction")["FunctionUrlConfig"]["AuthType"] == "NONE"
    text = TEMPLATE.read_text()
    before_url = text[: text.index("FunctionUrlConfig:")]
    assert "HMAC" in before_url[-800:], "the AuthType NONE comment explains the HMAC authentication"


def test_reconcile_reads_the_fifo_queue_one_push_at_a_time() -> None:
    queue = properties("PushQueue")
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is True  # the CodeCommit rule cannot set an id
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["PushDeadLetterQueue", "Arn"]
    }
    (mapping,) = resources("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["BatchSize"] == 1
    assert mapping["Properties"]["FunctionName"] == {"Ref": "ReconcileFunction"}
    assert int(queue["VisibilityTimeout"]) >= 6 * int(properties("ReconcileFunction")["Timeout"])


# ---------------------------------------------------------------- event wiring


def matches(pattern: EventPattern, event: Any) -> bool:
    return pattern.matches_event(event)


def abort_pattern() -> EventPattern:
    rule = properties("AbortFunction")["Events"]["AlarmEnteredAlarm"]
    assert rule["Type"] == "EventBridgeRule"
    return EventPattern(None, rule["Properties"]["Pattern"])


def test_abort_rule_takes_alarms_entering_alarm_only() -> None:
    assert matches(abort_pattern(), load_event("alarm-state-alarm.json"))
    assert not matches(abort_pattern(), load_event("alarm-state-ok.json"))


def test_codecommit_rule_takes_pushes_to_the_tracked_branch_only() -> None:
    parameters = {
        "CodeCommitRepositoryArn": "arn:aws:codecommit:us-east-1:123456789012:ml-endpoints",
        "TrackedBranch": "main",
    }
    rule = properties("CodeCommitPushRule")
    deployment = Deployment(parameters={"RepositoryUrls": "x", **parameters})
    pattern = EventPattern(None, evaluate(rule["EventPattern"], deployment))
    assert matches(pattern, load_event("codecommit-reference-updated.json"))
    assert matches(pattern, load_event("codecommit-reference-created.json"))
    assert not matches(pattern, load_event("codecommit-tag-created.json"))
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["PushQueue", "Arn"]}
    group = evaluate(target["SqsParameters"]["MessageGroupId"], deployment)
    assert group == load_event("codecommit-reference-updated.json")["detail"]["repositoryName"]


def test_drift_runs_on_the_schedule_parameter() -> None:
    event = properties("DriftFunction")["Events"]["Schedule"]
    assert event["Properties"]["Schedule"] == {"Ref": "DriftSchedule"}
    assert load_event("drift-scheduled.json")["detail-type"] == "Scheduled Event"


# ---------------------------------------------------------------- state machine


def state_machine() -> dict[str, Any]:
    return properties("RolloutStateMachine")


def successors(state: dict[str, Any]) -> set[str]:
    targets = {state.get("Next"), state.get("Default")}
    targets |= {choice["Next"] for choice in state.get("Choices", [])}
    targets |= {catch["Next"] for catch in state.get("Catch", [])}
    return {t for t in targets if t}


def reachable(start: str) -> set[str]:
    states = asl()["States"]
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(successors(states[name]))
    return seen


def test_state_machine_is_wired_to_the_asl_file() -> None:
    sm = state_machine()
    assert ROOT / sm["DefinitionUri"] == ASL_PATH
    assert sm["Tracing"]["Enabled"] is True
    assert sm["Logging"]["Level"] == "ALL"


def test_definition_substitutions_match_the_asl_placeholders() -> None:
    keys = set(state_machine()["DefinitionSubstitutions"])
    assert keys == placeholders(ASL_PATH.read_text())


def test_every_target_exists_and_every_state_is_reachable() -> None:
    states = asl()["States"]
    for name, state in states.items():
        assert successors(state) <= set(states), f"{name} points at a missing state"
        if state["Type"] not in {"Choice", "Succeed", "Fail"} and not state.get("End"):
            assert "Next" in state, f"{name} neither ends nor has Next"
    assert reachable(asl()["StartAt"]) == set(states)


def retried_classes() -> set[str]:
    """TransientError, ConflictError and every subclass the functions' code defines."""
    for module in pkgutil.walk_packages(smgitops.__path__, "smgitops."):
        if not module.name.startswith(("smgitops.local", "smgitops.commands", "smgitops.cli")):
            importlib.import_module(module.name)
    found: set[str] = set()
    pending: list[type] = [errors.TransientError, errors.ConflictError]
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return found


def test_retries_only_transient_errors() -> None:
    retried = retried_classes() | {e for e in TRANSIENT_ERRORS if e.startswith("Lambda.")}
    retried |= {"StepFunctions.SdkClientException"}  # ContinueAsNew's StartExecution
    for name, state in asl()["States"].items():
        for retry in state.get("Retry", []):
            assert "States.ALL" not in retry["ErrorEquals"], f"{name} retries States.ALL"
            assert set(retry["ErrorEquals"]) <= retried, name


def test_every_transient_subclass_is_retried_by_name() -> None:
    """Step Functions matches ErrorEquals against the error name, a case-sensitive string
    (Step Functions developer guide, "Error handling"): the Lambda's errorType is the exception's
    own class name, so a subclass of TransientError is retried only if it is listed itself."""
    for name, state in asl()["States"].items():
        for retry in state.get("Retry", []):
            if "TransientError" in retry["ErrorEquals"]:
                missing = retried_classes() - set(retry["ErrorEquals"])
                assert missing == set(), f"{name} does not retry {sorted(missing)}"


def test_a_failing_tick_always_reaches_the_rollback_loop() -> None:
    states = asl()["States"]
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    assert tasks, "the ASL has tasks"
    for name, task in tasks.items():
        catch_all = [c for c in task.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        assert catch_all, f"{name} has no catch-all"
        if name != "RollbackTick":
            assert "RollbackTick" in reachable(catch_all[0]["Next"]), name


def test_asl_names_nothing_account_specific() -> None:
    text = ASL_PATH.read_text()
    assert not re.search(r"\d{12}", text)
    assert "arn:aws:lambda" not in text
    functions_called = {
        s["Parameters"]["FunctionName"]
        for s in asl()["States"].values()
        if s["Type"] == "Task" and ":lambda:invoke" in s["Resource"]
    }
    assert functions_called == {"${TickFunctionArn}"}


# ---------------------------------------------------------------- IAM


def test_no_sagemaker_wildcard_actions() -> None:
    for owner, statement in all_statements():
        actions = as_list(statement["Action"])
        assert "*" not in actions, owner
        assert "sagemaker:*" not in actions, owner


def test_mutating_sagemaker_actions_are_scoped() -> None:
    checked = 0
    for owner, statement in all_statements():
        mutating = [a for a in as_list(statement["Action"]) if MUTATING_SAGEMAKER.match(a)]
        if not mutating:
            continue
        checked += 1
        if "*" in as_list(statement["Resource"]):
            assert statement.get("Condition"), f"{owner}: {mutating} on * without a condition"
        resources_ = json.dumps(statement["Resource"])
        if ":endpoint/*" in resources_:
            condition = json.dumps(statement.get("Condition", {}))
            tag_on_create = mutating == ["sagemaker:AddTags"] and "TaggingAction" in condition
            assert "smgitops:managed" in condition or tag_on_create, (owner, mutating)
    assert checked >= 3


def test_pass_role_only_to_sagemaker() -> None:
    pass_role = [s for _, s in all_statements() if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role
    for statement in pass_role:
        assert (
            statement["Condition"]["StringEquals"]["iam:PassedToService"]
            == "sagemaker.amazonaws.com"
        )
        assert statement["Resource"] != "*"


def test_resource_star_only_where_no_resource_level_permission_exists() -> None:
    """Unconditioned "*" only for actions the IAM reference gives no resource type."""
    for owner, statement in all_statements():
        if "*" in as_list(statement["Resource"]) and not statement.get("Condition"):
            scoped = [
                str(action)
                for pattern in as_list(statement["Action"])
                for action in iam_reference.actions(pattern)
                if action.arn_patterns()
            ]
            assert scoped == [], f"{owner}: {scoped} can be scoped to a resource"


# ---------------------------------------------------------------- storage


def test_table_shape_and_protection() -> None:
    table = properties("Table")
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("pk", "HASH"),
        ("sk", "RANGE"),
    }
    (gsi,) = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert {k["AttributeName"] for k in gsi["KeySchema"]} == {"gsi1pk", "gsi1sk"}
    assert gsi["Projection"]["ProjectionType"] == "ALL"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_dashboard_shows_what_a_rollout_needs() -> None:
    body_template, variables = properties("Dashboard")["DashboardBody"]["Fn::Sub"]
    body = re.sub(r"\$\{[^}]+\}", "x", body_template)
    widgets = json.loads(body)["widgets"]
    expressions = json.dumps(widgets)
    for metric in (
        "VariantWeight",
        "Invocations",
        "Invocation5XXErrors",
        "ModelLatency",
        "RolloutStarted",
        "RolloutSucceeded",
        "RolloutRolledBack",
    ):
        assert f'MetricName=\\"{metric}\\"' in expressions, metric
    assert "SEARCH(" in expressions
    assert set(variables) == set(re.findall(r"\$\{(\w+)\}", body_template)) - set(functions())


# ---------------------------------------------------------------- samconfig.toml


def overrides(value: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', value))


def test_samconfig_environments() -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    assert config["version"] == 0.1
    parameters = template()["Parameters"]
    required = {name for name, p in parameters.items() if "Default" not in p}
    stacks = set()
    for env in ("default", "staging", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        stacks.add(config[env]["global"]["parameters"]["stack_name"])
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        assert deploy["resolve_s3"] is True
        assert deploy["resolve_image_repos"] is True
        given = overrides(deploy["parameter_overrides"])
        assert set(given) <= set(parameters), (
            f"{env}: unknown parameters {set(given) - set(parameters)}"
        )
        assert required <= set(given), f"{env}: missing {required - set(given)}"
        expected_env = "dev" if env == "default" else env
        assert given["Environment"] == expected_env
        assert deploy["confirm_changeset"] is (env == "prod")
        assert "build" in config[env]
    assert len(stacks) == 3


# ---------------------------------------------------------------- partitions, names, roles

LONGEST_STACK = "s" + "-x" * 63 + "y"  # 128 characters: CloudFormation's StackName limit
PARTITIONS = [("aws", "us-east-1"), ("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")]


def botocore_shape(service: str, shape: str) -> dict[str, Any]:
    model = botocore.loaders.create_loader().load_service_model(service, "service-2")
    found: dict[str, Any] = model["shapes"][shape]
    return found


def arns_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from re.findall(r"arn:[a-z-]*:[^\s\"']*", value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from arns_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from arns_in(item)


@pytest.mark.parametrize(("partition", "region"), PARTITIONS)
def test_every_arn_is_in_the_deployment_partition(partition: str, region: str) -> None:
    deployment = Deployment(partition=partition, region=region, parameters={"RepositoryUrls": "x"})
    written = {name: r["Properties"] for name, r in deployed_resources(deployment).items()}
    machine = written["RolloutStateMachine"]
    definition = local_sfn.substitute(
        ASL_PATH.read_text(), {**machine["DefinitionSubstitutions"], "TickFunctionArn": "t"}
    )
    arns = [*arns_in(written), *arns_in(json.loads(definition))]
    assert arns
    assert [a for a in arns if not a.startswith(f"arn:{partition}:")] == []


def test_the_state_machine_name_fits_whatever_the_stack_name() -> None:
    deployment = Deployment(stack=LONGEST_STACK, parameters={"RepositoryUrls": "x"})
    name = deployment.physical_name("RolloutStateMachine")
    limit = botocore_shape("stepfunctions", "Name")
    assert limit["min"] <= len(name) <= limit["max"], name
    arn = evaluate(template()["Globals"]["Function"]["Environment"], deployment)["Variables"][
        "SMGITOPS_STATE_MACHINE_ARN"
    ]
    assert arn == deployment.arn("RolloutStateMachine")
    log_group_limit = botocore_shape("logs", "LogGroupName")["max"]
    for group, resource in deployed_resources(deployment).items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert len(resource["Properties"]["LogGroupName"]) <= log_group_limit, group


SAGEMAKER_CONSOLE_ROLE = "role/service-role/AmazonSageMaker-ExecutionRole-20240501T120000"


@pytest.mark.parametrize("role", ["role/SageMakerExecution", SAGEMAKER_CONSOLE_ROLE])
def test_the_default_pass_role_covers_the_usual_execution_roles(role: str) -> None:
    deployment = Deployment(parameters={"RepositoryUrls": "x"})
    arn = f"arn:aws:iam::{deployment.account}:{role}"
    policy = deployed_resources(deployment)["RolloutEnginePolicy"]["Properties"]
    (statement,) = [
        s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "iam:PassRole"
    ]
    assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in as_list(statement["Resource"]))


def test_the_operators_selfheal_reaches_the_drift_check_and_the_reconcile() -> None:
    parameter = template()["Parameters"]["SelfHeal"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["true", "false"])
    for name in ("DriftFunction", "ReconcileFunction"):  # heals / refuses a wider selfHeal
        assert function_environment(name)["SMGITOPS_SELF_HEAL"] == {"Ref": "SelfHeal"}


def test_the_checks_parameter_offers_exactly_the_policies() -> None:
    parameter = template()["Parameters"]["Checks"]
    assert parameter["AllowedValues"] == [str(p) for p in ChecksPolicy]
    assert parameter["Default"] == OPERATOR_CHECKS
    env = function_environment("ReconcileFunction")
    assert env["SMGITOPS_CHECKS"] == {"Ref": "Checks"}
