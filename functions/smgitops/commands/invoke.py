"""``smgitops invoke FUNCTION --event FILE``: run one Lambda handler in-process (like
``sam local invoke``, without Docker).

The function's environment comes, lowest first, from: what ``--aws URL`` finds in a running
``smgitops local up`` (its table, secret, queue and state machine, by the names it gives them),
the process environment, then ``--env-vars FILE`` in ``sam local invoke``'s format
(``{"Parameters": {…}, "WebhookFunction": {…}}``: the shared values, then the function's own).
``--sign SECRET`` re-signs a GitHub event's body with SECRET (the events/ files are signed with
the test secret in events/README.md), so a sample event passes a runtime's real secret.

Exit 0 when the handler answered (an HTTP answer under 500), 1 when it raised or answered 5xx
(its error on stderr, as Lambda reports it), 2 for a usage error.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smgitops.commands.common import FAILED, OK, USAGE, emit_json

if TYPE_CHECKING:
    import argparse

FUNCTIONS = ("webhook", "reconcile", "tick", "abort", "drift")
LOGICAL_IDS = {name: f"{name.capitalize()}Function" for name in FUNCTIONS}  # template.yaml
# What `smgitops local up` names its resources (functions/smgitops/local/runtime.py).
LOCAL_DEFAULTS = {
    "SMGITOPS_TABLE": "smgitops",
    "SMGITOPS_WEBHOOK_SECRET": "smgitops/webhook-secret",  # nosec B105 - the secret's name
    "SMGITOPS_REPOSITORY_URLS": "*",
}
LOCAL_QUEUE = "smgitops-work.fifo"
LOCAL_STATE_MACHINE = "smgitops-rollout"
SIGNATURE_HEADER = "x-hub-signature-256"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "invoke",
        help="run one Lambda handler in-process on an event",
        description="Run one Lambda handler in-process on an event file, like `sam local invoke` "
        "without Docker. Exit 0 answered, 1 the handler failed or answered 5xx, 2 usage.",
    )
    parser.add_argument("function", choices=FUNCTIONS)
    parser.add_argument("--event", required=True, type=Path, help="event JSON file (see events/)")
    parser.add_argument(
        "--env-vars",
        type=Path,
        default=None,
        metavar="FILE",
        help='environment as `sam local invoke` takes it: {"Parameters": {...}, '
        '"WebhookFunction": {...}}',
    )
    parser.add_argument(
        "--sign",
        default=None,
        metavar="SECRET",
        help="re-sign a GitHub event's body with SECRET (e.g. the secret `local up` printed)",
    )
    parser.add_argument(
        "--aws",
        metavar="URL",
        default=None,
        help="AWS endpoint URL, e.g. `local up`'s: its resources fill the variables not given",
    )
    parser.set_defaults(func=run)


class _Context:
    function_name = "smgitops-local"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:smgitops-local"
    aws_request_id = "local-invoke"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def env_vars(path: Path, function: str) -> dict[str, str]:
    """``sam local invoke --env-vars``: ``Parameters`` for every function, then its own."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object of objects")
    merged: dict[str, str] = {}
    for section in ("Parameters", LOGICAL_IDS[function]):
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise ValueError(f"{section}: expected an object of variables")
        merged.update({str(k): str(v) for k, v in values.items()})
    return merged


def local_environment() -> dict[str, str]:
    """The variables a `local up` runtime's handlers get, found through its emulator."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from smgitops.aws import clients  # noqa: PLC0415

    found = dict(LOCAL_DEFAULTS)
    # Not a local runtime (no such queue or machine): those variables stay unset.
    with contextlib.suppress(ClientError, BotoCoreError):
        sqs = clients.client("sqs")
        found["SMGITOPS_QUEUE_URL"] = sqs.get_queue_url(QueueName=LOCAL_QUEUE)["QueueUrl"]
    with contextlib.suppress(ClientError, BotoCoreError):
        machines = clients.client("stepfunctions").list_state_machines()["stateMachines"]
        for machine in machines:
            if machine["name"] == LOCAL_STATE_MACHINE:
                found["SMGITOPS_STATE_MACHINE_ARN"] = machine["stateMachineArn"]
    return found


def resign(event: dict[str, Any], secret: str) -> dict[str, Any]:
    """The event with its GitHub signature recomputed over its body with ``secret``."""
    import base64  # noqa: PLC0415

    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        k: v for k, v in (event.get("headers") or {}).items() if k.lower() != SIGNATURE_HEADER
    }
    return {**event, "headers": {**headers, SIGNATURE_HEADER: f"sha256={digest}"}}


def run(args: argparse.Namespace) -> int:
    try:
        event = json.loads(args.event.read_text())
        extra = env_vars(args.env_vars, args.function) if args.env_vars else {}
    except (OSError, ValueError) as exc:
        print(f"smgitops invoke: cannot read {exc}", file=sys.stderr)
        return USAGE
    if args.sign:
        event = resign(event, args.sign)
    if args.aws:
        from smgitops.commands.common import aws_from  # noqa: PLC0415

        aws_from(args)
        for name, value in local_environment().items():
            os.environ.setdefault(name, value)
    os.environ.update(extra)
    from smgitops.observability import log_to_stderr  # noqa: PLC0415

    log_to_stderr()  # stdout carries the handler's answer only
    module = importlib.import_module(f"smgitops.handlers.{args.function}")
    try:
        answer = module.handler(event, _Context())
    except Exception as exc:
        emit_json({"errorType": type(exc).__name__, "errorMessage": str(exc)})
        print(
            f"smgitops invoke: {args.function} failed: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return FAILED
    emit_json(answer)
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if isinstance(status, int) and status >= 500:
        print(
            f"smgitops invoke: {args.function} answered {status}: {answer.get('body')}",
            file=sys.stderr,
        )
        return FAILED
    return OK
