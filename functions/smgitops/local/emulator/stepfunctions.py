"""Run the real rollout state machine on moto's Step Functions executor, without Docker.

moto executes a state machine when its ``stepfunctions.execute_state_machine`` setting is on
(``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``, or
:func:`configure_server` for a moto server). Its ``lambda:invoke`` and
``lambda:invoke.waitForTaskToken`` tasks would then call moto's Lambda, which runs functions
in Docker. :func:`install` reroutes those invocations to Python callables registered with
:func:`register_function`, in this process, with Lambda's semantics:

- the task's ``Payload`` is decoded from JSON and passed as the event;
- the return value is JSON round-tripped, as the Lambda runtime does;
- an exception becomes a function error whose name is the exception's class name
  (``errorType``), so ``Retry``/``Catch`` on ``TransientError`` behave as in AWS.

Functions that are not registered fall through to moto's own Lambda. The patch lives in the
process that runs the executor: with a moto server, the one that started it (for example a
``ThreadedMotoServer``).
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.request import Request, urlopen

from smgitops import clock

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    TaskFunction = Callable[[dict[str, Any]], Any]
    LambdaHandler = Callable[[dict[str, Any], Any], Any]

ASL_PATH = Path(__file__).resolve().parents[4] / "infra" / "statemachine" / "rollout.asl.json"
"""The rollout state machine definition, as CloudFormation deploys it (repository checkout)."""

DEFAULT_NAME = "smgitops-rollout"
DEFAULT_ROLE_ARN = "arn:aws:iam::123456789012:role/smgitops-rollout"  # moto does not check it

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")
_REGISTRY: dict[str, TaskFunction] = {}
_LOCK = threading.Lock()
_PATCH_MARK = "_smgitops_in_process"


def function_name(arn_or_name: str) -> str:
    """The function name in any form Lambda accepts: name, name:alias, partial or full ARN."""
    if ":function:" in arn_or_name:
        arn_or_name = arn_or_name.split(":function:", 1)[1]
    name = arn_or_name.split(":", 1)[0]
    if not name:
        raise ValueError(f"not a Lambda function name or ARN: {arn_or_name!r}")
    return name


def register_function(arn_or_name: str, function: TaskFunction) -> None:
    """Route Step Functions invocations of this function (any ARN form) to ``function(event)``."""
    with _LOCK:
        _REGISTRY[function_name(arn_or_name)] = function


def unregister_function(arn_or_name: str) -> None:
    with _LOCK:
        _REGISTRY.pop(function_name(arn_or_name), None)


def clear_functions() -> None:
    with _LOCK:
        _REGISTRY.clear()


def registered_function(arn_or_name: str) -> TaskFunction | None:
    with _LOCK:
        return _REGISTRY.get(function_name(arn_or_name))


@dataclass(frozen=True)
class LambdaContext:
    """What Lambda's Python runtime passes as ``context`` (the fields powertools reads)."""

    function_name: str
    invoked_function_arn: str = ""
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    remaining_time_in_millis: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_time_in_millis


def as_task_function(handler: LambdaHandler, arn_or_name: str) -> TaskFunction:
    """Adapt a Lambda handler ``handler(event, context)`` to a registrable ``f(event)``."""
    name = function_name(arn_or_name)
    arn = arn_or_name if arn_or_name.startswith("arn:") else ""

    def invoke(event: dict[str, Any]) -> Any:
        return handler(event, LambdaContext(function_name=name, invoked_function_arn=arn))

    return invoke


def invoke_registered(function: TaskFunction, payload: bytes | str | None) -> dict[str, Any]:
    """One invocation with Lambda's response shape (``StatusCode``, ``Payload``, errors)."""
    event = json.loads(payload or "{}")
    try:
        result = json.loads(json.dumps(function(event)))
    except Exception as exc:  # every handler error becomes a function error, as in Lambda
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "ExecutedVersion": "$LATEST",
            "Payload": {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-3:],
            },
        }
    return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": result}


def _lambda_eval_utils() -> Any:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (  # noqa: PLC0415
        lambda_eval_utils,
    )

    return lambda_eval_utils


def install() -> None:
    """Patch moto's Lambda invocation from Step Functions (idempotent; process-wide), make
    its Wait states and task-token timeouts follow :mod:`smgitops.clock`'s time scale, and
    let its ``states:startExecution`` task take the parameters as AWS documents them."""
    _scale_waits()
    _sfn_parameters()
    _history_limit()
    module = _lambda_eval_utils()
    original = module._invoke_lambda_function
    if getattr(original, _PATCH_MARK, None) is not None:
        return

    def _invoke_lambda_function(
        parameters: dict[str, Any], region: str, state_credentials: Any
    ) -> Any:
        function = registered_function(str(parameters.get("FunctionName", "")))
        if function is None:
            return original(parameters, region, state_credentials)
        return invoke_registered(function, parameters.get("Payload"))

    setattr(_invoke_lambda_function, _PATCH_MARK, original)  # what uninstall() puts back
    module._invoke_lambda_function = _invoke_lambda_function


HISTORY_LIMIT = 25_000
"""Events in one Standard execution's history: past it, Step Functions fails the execution
("Step Functions service quotas", Quotas related to state machine executions: "Maximum
execution history size: 25,000 events"; "If the execution history reaches this quota, the
execution will fail"). Uncatchable: no Catch of the definition sees it."""
_LIMIT = {"events": HISTORY_LIMIT}


def set_history_limit(events: int | None) -> None:
    """Fail an execution whose history reaches ``events`` (None: AWS's 25,000), so a test can
    reach the limit in seconds."""
    _LIMIT["events"] = HISTORY_LIMIT if events is None else max(1, events)


def _history_limit() -> None:
    """Each execution's event manager counts its history and fails the execution at the
    limit, as Step Functions does (moto keeps any number of events)."""
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval import environment  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval.event import event_manager  # noqa: PLC0415

    manager, env_class = event_manager.EventManager, environment.Environment
    if getattr(manager.add_event, _PATCH_MARK, None) is not None:
        return
    moto_add, moto_init, moto_set_error = (
        manager.add_event,
        env_class.__init__,
        env_class.set_error,
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_init(self, *args, **kwargs)
        self.event_manager._smgitops_env = self  # the execution whose history this is

    def set_error(self: Any, error: Any) -> None:
        # the state interrupted by the limit fails too: the limit stays the execution's error
        moto_set_error(self, getattr(self, "_smgitops_limit", None) or error)

    def add_event(self: Any, *args: Any, **kwargs: Any) -> int:
        event_id = int(moto_add(self, *args, **kwargs))
        env = getattr(self, "_smgitops_env", None)
        if env is not None and event_id >= _LIMIT["events"] and env.is_running():
            cause = (
                f"The execution reached the maximum number of history events ({_LIMIT['events']})."
            )
            env._smgitops_limit = ExecutionFailedEventDetails(error="States.Runtime", cause=cause)
            env.set_error(env._smgitops_limit)
        return event_id

    setattr(add_event, _PATCH_MARK, moto_add)
    setattr(__init__, _PATCH_MARK, moto_init)
    setattr(set_error, _PATCH_MARK, moto_set_error)
    manager.add_event = add_event  # type: ignore[method-assign]
    env_class.__init__ = __init__  # type: ignore[method-assign]
    env_class.set_error = set_error  # type: ignore[method-assign]


def _sfn_parameters() -> None:
    """``arn:aws:states:::states:startExecution`` takes ``StateMachineArn``, ``Name``, ``Input``
    (the Step Functions developer guide, "Start a new AWS Step Functions state machine from a
    running execution"); moto's port of the integration hands them to boto3 as they are, which
    knows ``stateMachineArn``, ``name``, ``input`` only, so the task fails. Rename them to the
    API's member names, as Step Functions does."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_sfn,
    )

    task = state_task_service_sfn.StateTaskServiceSfn
    if getattr(task._normalise_parameters, _PATCH_MARK, None) is not None:
        return
    moto_normalise = task._normalise_parameters

    def _normalise_parameters(self: Any, parameters: dict[str, Any], *args: Any, **kw: Any) -> None:
        moto_normalise(self, parameters, *args, **kw)
        for key in [k for k in parameters if k[:1].isupper()]:
            parameters[key[0].lower() + key[1:]] = parameters.pop(key)

    setattr(_normalise_parameters, _PATCH_MARK, moto_normalise)
    task._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]


def _scale_waits() -> None:
    """A Wait of N seconds (or a task-token timeout of N seconds) lasts N / scale wall seconds.

    With the wall clock (scale 1) both behave exactly as moto's own code.
    """
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (  # noqa: PLC0415
        wait_function,
    )
    from moto.stepfunctions.parser.asl.eval.callback import callback  # noqa: PLC0415

    waits, endpoint = wait_function.WaitFunction, callback.CallbackEndpoint
    if getattr(waits._wait_interval, _PATCH_MARK, None) is not None:
        return
    moto_wait, moto_callback_wait = waits._wait_interval, endpoint.wait

    def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        if clock.scale() == 1.0:
            moto_wait(self, env, wait_seconds)
            return
        deadline = time.monotonic() + clock.wall_seconds(max(0, wait_seconds))
        while env.is_running():  # an execution stopped meanwhile ends the wait
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if env.program_state_event.wait(remaining) and env.is_running():
                time.sleep(min(0.05, remaining))  # set for another reason: do not spin on it

    def wait(self: Any, timeout: float | None = None) -> Any:
        scaled = None if timeout is None else clock.wall_seconds(timeout)
        return moto_callback_wait(self, timeout=scaled)

    setattr(_wait_interval, _PATCH_MARK, moto_wait)
    setattr(wait, _PATCH_MARK, moto_callback_wait)
    waits._wait_interval = _wait_interval  # type: ignore[method-assign]
    endpoint.wait = wait  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo :func:`install` (tests that need moto's own behaviour back)."""
    module = _lambda_eval_utils()
    original = getattr(module._invoke_lambda_function, _PATCH_MARK, None)
    if original is not None:
        module._invoke_lambda_function = original


def configure_server(endpoint_url: str, *, execute: bool = True) -> None:
    """Turn state machine execution on (or off) in a running moto server (``/moto-api/config``).

    The setting is process-wide in the process hosting the server, and stays until changed.
    """
    if not endpoint_url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError(f"not a loopback moto server: {endpoint_url}")
    body = json.dumps({"stepfunctions": {"execute_state_machine": execute}}).encode()
    request = Request(  # noqa: S310 - loopback http only, checked above
        f"{endpoint_url.rstrip('/')}/moto-api/config",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urlopen(request, timeout=10) as response:  # noqa: S310 - loopback http only  # nosec B310
        response.read()


def substitute(definition: str, substitutions: Mapping[str, str], *, strict: bool = True) -> str:
    """Apply ``DefinitionSubstitutions`` as CloudFormation does: each ``${Key}`` becomes its value.

    With ``strict`` (the default) a placeholder left without a value is an error, rather than a
    definition that fails later at run time.
    """
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", value)
    if strict and (missing := sorted(set(_PLACEHOLDER.findall(definition)))):
        raise ValueError(f"no substitution for: {', '.join(missing)}")
    return definition


def placeholders(definition: str) -> set[str]:
    """The ``${Key}`` names a definition expects."""
    return set(_PLACEHOLDER.findall(definition))


def asl_definition(substitutions: Mapping[str, str], path: Path = ASL_PATH) -> str:
    """The rollout state machine definition with its substitutions applied (``Partition``, the
    ``AWS::Partition`` the template gives, is ``aws`` unless given)."""
    return substitute(path.read_text(encoding="utf-8"), {"Partition": "aws", **substitutions})


def ensure_state_machine(
    client: Any,
    substitutions: Mapping[str, str],
    *,
    name: str = DEFAULT_NAME,
    role_arn: str = DEFAULT_ROLE_ARN,
    path: Path = ASL_PATH,
) -> str:
    """Create the rollout state machine (or update its definition) and return its ARN."""
    definition = asl_definition(substitutions, path)
    for page in client.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                arn: str = machine["stateMachineArn"]
                client.update_state_machine(stateMachineArn=arn, definition=definition)
                return arn
    created: str = client.create_state_machine(name=name, definition=definition, roleArn=role_arn)[
        "stateMachineArn"
    ]
    return created


def wait_for_execution(
    client: Any, execution_arn: str, *, timeout_s: float = 30.0, poll_s: float = 0.05
) -> dict[str, Any]:
    """``DescribeExecution`` once the execution has left RUNNING (``TimeoutError`` otherwise)."""
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{execution_arn} still RUNNING after {timeout_s:g}s")
        time.sleep(poll_s)
