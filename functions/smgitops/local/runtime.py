"""The whole system on one machine: ``smgitops local up``.

One process runs what AWS runs, through the same handlers:

- the AWS emulator (moto server on 127.0.0.1 plus smgitops.local.emulator), unless
  ``AWS_ENDPOINT_URL`` already points at one;
- the stack's resources created on it as template.yaml declares them: the status table, the
  webhook secret, the FIFO work queue, the notification topic, the rollout state machine (the
  real ``infra/statemachine/rollout.asl.json``) and the alarm → abort EventBridge rule;
- the webhook function behind a real HTTP server (a POST becomes a Function URL event);
- the reconcile function fed from the queue like an SQS event source mapping;
- the tick function run by moto's Step Functions executor (tasks routed to the handler in
  this process), and the abort function as the target of the alarm rule.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from smgitops import clock, wiring
from smgitops.aws import clients
from smgitops.errors import ConfigurationError
from smgitops.local.resources import create_table

log = logging.getLogger("smgitops.local")

ACCOUNT = "123456789012"
MAX_BODY = 6 * 1024 * 1024  # a Function URL's request payload limit
IDLE_TIMEOUT_S = 10.0  # a connection that sends nothing for this long is closed
ALARM_RULE_PATTERN = {
    "source": ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    "detail": {"state": {"value": ["ALARM"]}},
}


@dataclass
class RuntimeOptions:
    webhook_port: int = 0
    aws_port: int = 0
    secret: str = ""
    branch: str = "main"
    repositories: str = "/*"  # local paths and file:// URLs (normalised to paths)
    update_delay: float = 1.0
    table: str = "smgitops"
    region: str = "us-east-1"
    prune: bool = False
    github_api_url: str = ""
    github_token: str = ""
    drift_interval: float = 30.0  # the drift function's schedule (0: off)
    self_heal: bool = False
    traffic: float = 0.0  # simulated requests per wall-clock second to each endpoint (0: none)
    time_scale: float = 1.0  # smgitops.clock's speed: emulated seconds per wall-clock second
    dashboard_port: int = 0  # the dashboard on 127.0.0.1 (0: a free port)
    dashboard: bool = True
    allow_actions: bool = False  # the dashboard's promote/abort buttons


@dataclass
class LocalRuntime:
    options: RuntimeOptions
    aws_url: str
    emulator: Any  # smgitops.local.emulator.Emulator, or None against an external endpoint
    secret: str
    env: dict[str, str]
    workdir: tempfile.TemporaryDirectory[str]
    webhook_server: ThreadingHTTPServer | None = None
    dashboard: Any = None  # smgitops.dashboard.server.Served, when serving
    state_machine_arn: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _saved_environ: dict[str, str] | None = None  # os.environ before start, restored by stop

    @property
    def webhook_url(self) -> str:
        assert self.webhook_server is not None  # noqa: S101
        host, port = self.webhook_server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def ready_line(self) -> str:
        ready = {"webhook": self.webhook_url, "aws": self.aws_url, "secret": self.secret}
        if self.dashboard is not None:
            ready["dashboard"] = self.dashboard.url
        return json.dumps(ready)

    # --- lifecycle ----------------------------------------------------------------------------

    @classmethod
    def start(cls, options: RuntimeOptions | None = None) -> LocalRuntime:
        options = options or RuntimeOptions()
        emulator = None
        external = os.environ.get("AWS_ENDPOINT_URL", "")
        if external and (options.time_scale != 1.0 or options.traffic > 0):
            raise ConfigurationError(
                "--time-scale and --traffic need the embedded emulator (its metric timestamps, "
                "alarm evaluation and simulated traffic run in this process): unset "
                "AWS_ENDPOINT_URL"
            )
        if external:
            aws_url = external.rstrip("/")
        else:
            from smgitops.local.emulator import EVERY_ENDPOINT, Emulator  # noqa: PLC0415

            emulator = Emulator.start(
                port=options.aws_port, region=options.region, update_delay=options.update_delay
            )
            if options.traffic > 0:
                emulator.start_traffic(EVERY_ENDPOINT, options.traffic)
            aws_url = emulator.url
        secret = options.secret or secrets.token_urlsafe(24)
        workdir = tempfile.TemporaryDirectory(prefix="smgitops-local-")
        runtime = cls(options, aws_url, emulator, secret, {}, workdir)
        try:
            if options.time_scale != 1.0:
                clock.warp(options.time_scale)
            runtime._configure_environment()
            runtime._create_resources()
            runtime._wire_functions()
            runtime._serve_webhook()
            runtime._serve_dashboard()
            runtime._poll_queue()
            runtime._schedule_drift()
        except BaseException:
            runtime.stop()
            raise
        return runtime

    def stop(self) -> None:
        """Stop everything, and leave the process as :meth:`start` found it: environment,
        clock, the services built by :mod:`smgitops.wiring`, routed functions and alarm
        targets, moto's state."""
        self._stop.set()
        if self.webhook_server is not None:
            self.webhook_server.shutdown()
            self.webhook_server.server_close()
        if self.dashboard is not None:
            self.dashboard.stop()
        deadline = time.monotonic() + 5.0  # for all of them together, not 5 s each
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.emulator is not None:
            from smgitops.local.emulator import events, stepfunctions  # noqa: PLC0415

            with contextlib.suppress(OSError):  # a process-wide moto setting: put it back
                stepfunctions.configure_server(self.aws_url, execute=False)
            self.emulator.stop()
            stepfunctions.clear_functions()
            events.clear_targets()
        self.workdir.cleanup()
        clock.reset()
        if self._saved_environ is not None:  # the next runtime in this process starts afresh
            os.environ.clear()
            os.environ.update(self._saved_environ)
        wiring.reset()  # the functions' services, a swapped port and the AWS clients

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- setup --------------------------------------------------------------------------------

    def _configure_environment(self) -> None:
        region = self.options.region
        names = {
            "SMGITOPS_TABLE": self.options.table,
            "SMGITOPS_WEBHOOK_SECRET": "smgitops/webhook-secret",  # nosec B105
            "SMGITOPS_QUEUE_URL": "",  # filled in once the queue exists
            "SMGITOPS_STATE_MACHINE_ARN": "",  # filled in once the state machine exists
            "SMGITOPS_TOPIC_ARN": f"arn:aws:sns:{region}:{ACCOUNT}:smgitops-rollouts",
            "SMGITOPS_BRANCH": self.options.branch,
            "SMGITOPS_REPOSITORY_URLS": self.options.repositories,
            "SMGITOPS_WORKDIR": self.workdir.name,
            "SMGITOPS_PRUNE": "true" if self.options.prune else "false",
            "SMGITOPS_SELF_HEAL": "true" if self.options.self_heal else "false",
        }
        if self.options.github_api_url:
            names["SMGITOPS_GITHUB_API_URL"] = self.options.github_api_url
            names["SMGITOPS_GITHUB_TOKEN_SECRET"] = "smgitops/github-token"  # noqa: S105 - a name  # nosec B105
        self.env = {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "smgitops",
            "SMGITOPS_LOG_STREAM": "stderr",
            **names,
        }
        self._saved_environ = dict(os.environ)
        os.environ.update(self.env)
        os.environ.pop("AWS_PROFILE", None)
        wiring.reset()  # services and clients built from the environment before this one

    def _create_resources(self) -> None:
        create_table(clients.client("dynamodb"), self.options.table)
        sm = clients.client("secretsmanager")
        _idempotent(sm.create_secret, Name="smgitops/webhook-secret", SecretString=self.secret)
        if self.options.github_token:
            _idempotent(
                sm.create_secret,
                Name="smgitops/github-token",
                SecretString=self.options.github_token,
            )
        queue = clients.client("sqs").create_queue(
            QueueName="smgitops-work.fifo",
            # as template.yaml's PushQueue: content-based deduplication, explicit ids win
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "true",
                "VisibilityTimeout": "5",
            },
        )
        self.env["SMGITOPS_QUEUE_URL"] = os.environ["SMGITOPS_QUEUE_URL"] = queue["QueueUrl"]
        clients.client("sns").create_topic(Name="smgitops-rollouts")
        self._create_state_machine()

    def _function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.options.region}:{ACCOUNT}:function:smgitops-{name}"

    def _create_state_machine(self) -> None:
        from smgitops.local.emulator import stepfunctions  # noqa: PLC0415

        if self.emulator is not None:
            # Before the state machine exists: moto keeps executable machines in another backend.
            stepfunctions.install()
            stepfunctions.configure_server(self.aws_url)
        definition = stepfunctions.asl_definition({"TickFunctionArn": self._function_arn("tick")})
        sfn = clients.client("stepfunctions")
        out = sfn.create_state_machine(
            name="smgitops-rollout",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/smgitops-rollout",
        )
        self.state_machine_arn = out["stateMachineArn"]
        self.env["SMGITOPS_STATE_MACHINE_ARN"] = self.state_machine_arn
        os.environ["SMGITOPS_STATE_MACHINE_ARN"] = self.state_machine_arn

    def _wire_functions(self) -> None:
        """Route the state machine's tasks and the alarm rule's target to the handlers here."""
        from smgitops.handlers import abort, tick  # noqa: PLC0415
        from smgitops.local.emulator import stepfunctions  # noqa: PLC0415

        wiring.reset()  # services built before this runtime's environment existed
        if self.emulator is None:
            from smgitops.local.runner import LocalExecutions  # noqa: PLC0415

            log.warning(
                "AWS_ENDPOINT_URL is set: state machine executions and alarm events need the "
                "emulator in this process; rollouts are ticked by a local runner instead"
            )
            wiring.swap_executions(LocalExecutions)
            return
        stepfunctions.install()
        tick_arn = self._function_arn("tick")
        stepfunctions.register_function(
            tick_arn, stepfunctions.as_task_function(tick.handler, tick_arn)
        )
        stepfunctions.configure_server(self.aws_url)
        from smgitops.local.emulator import register_target  # noqa: PLC0415

        abort_arn = self._function_arn("abort")
        events = clients.client("events")
        events.put_rule(
            Name="smgitops-alarm-abort",
            EventPattern=json.dumps(ALARM_RULE_PATTERN),
            State="ENABLED",
        )
        events.put_targets(Rule="smgitops-alarm-abort", Targets=[{"Id": "abort", "Arn": abort_arn}])
        register_target(abort_arn, _logged("abort", abort.handler))

    def _serve_webhook(self) -> None:
        from smgitops.handlers import webhook  # noqa: PLC0415

        server = ThreadingHTTPServer(
            ("127.0.0.1", self.options.webhook_port), _webhook_handler(webhook.handler)
        )
        server.daemon_threads = True
        self.webhook_server = server
        thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve_dashboard(self) -> None:
        """The dashboard over this runtime's table, with the engine its tick handler uses."""
        if not self.options.dashboard:
            return
        from smgitops.dashboard.server import Dashboard, ServiceSource, serve  # noqa: PLC0415
        from smgitops.wiring import operator  # noqa: PLC0415

        # The engine the CLI's operator commands use: it answers a gate's task token too.
        settings = operator.engine_settings(self.options.table, self.env)
        service = operator.rollouts(settings, self.state_machine_arn)
        dashboard = Dashboard(
            ServiceSource(service), allow_actions=self.options.allow_actions, by="local"
        )
        self.dashboard = serve(dashboard, self.options.dashboard_port)

    def _poll_queue(self) -> None:
        thread = threading.Thread(target=self._queue_loop, name="reconcile-poller", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _schedule_drift(self) -> None:
        """The EventBridge schedule of the drift function."""
        if self.options.drift_interval <= 0:
            return
        thread = threading.Thread(target=self._drift_loop, name="drift-schedule", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _drift_loop(self) -> None:
        from smgitops.handlers import drift  # noqa: PLC0415

        event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        while not self._stop.wait(self.options.drift_interval):
            try:
                drift.handler(event, _Context("drift"))
            except Exception:  # a schedule fires again; log like Lambda would
                log.exception("drift function failed")

    def _queue_loop(self) -> None:
        """An SQS event source mapping: batch size 1, delete on success, retry on failure."""
        from smgitops.handlers import reconcile  # noqa: PLC0415

        sqs = clients.client("sqs")
        url = self.env["SMGITOPS_QUEUE_URL"]
        while not self._stop.is_set():
            try:
                out = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:  # the poller must outlive the emulator stopping
                if self._stop.wait(0.5):
                    return
                continue
            for message in out.get("Messages", []):
                self._reconcile(sqs, url, message, reconcile.handler)

    def _reconcile(self, sqs: Any, url: str, message: dict[str, Any], handler: Any) -> None:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{self.options.region}:{ACCOUNT}:smgitops-work.fifo",
            "awsRegion": self.options.region,
        }
        try:
            result = handler({"Records": [record]}, _Context("reconcile"))
        except Exception:  # SQS would redeliver: leave the message
            log.exception("reconcile failed; the message will be retried")
            return
        failures = (result or {}).get("batchItemFailures") or []
        if not failures:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


class _Context:
    def __init__(self, name: str) -> None:
        self.function_name = f"smgitops-{name}"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:smgitops-{name}"
        self.aws_request_id = secrets.token_hex(8)

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def _logged(name: str, handler: Any) -> Any:
    def call(event: dict[str, Any]) -> Any:
        try:
            return handler(event, _Context(name))
        except Exception:
            log.exception("%s function failed", name)
            raise

    return call


def _idempotent(create: Any, **params: Any) -> None:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        create(**params)
    except ClientError as exc:
        if "Exists" not in exc.response["Error"]["Code"]:
            raise


def function_url_event(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """An HTTP request as Lambda hands it to a Function URL's function (payload format 2.0)."""
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": secrets.token_hex(8),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def _webhook_handler(handler: Any) -> type[BaseHTTPRequestHandler]:
    class WebhookRequest(BaseHTTPRequestHandler):
        server_version = "smgitops-local"
        timeout = IDLE_TIMEOUT_S  # socket timeout: a half-sent request never pins a thread

        def do_POST(self) -> None:
            text = (self.headers.get("Content-Length") or "").strip()
            if not text:
                self._answer(411, {"message": "Content-Length required"})
                return
            if not text.isascii() or not text.isdigit():  # "-1" would read until EOF
                self._answer(400, {"message": "malformed Content-Length"})
                return
            length = int(text)
            if length > MAX_BODY:
                self._answer(413, {"message": f"request body over {MAX_BODY} bytes"})
                return
            try:
                body = self.rfile.read(length)
            except TimeoutError:
                self.close_connection = True
                return
            event = function_url_event("POST", self.path, dict(self.headers.items()), body)
            try:
                result = handler(event, _Context("webhook"))
            except Exception:  # Lambda would answer 502; say so without a traceback
                log.exception("webhook function failed")
                self._answer(502, {"message": "webhook function failed"})
                return
            self._answer(
                int(result.get("statusCode", 200)), result.get("body", ""), result.get("headers")
            )

        def do_GET(self) -> None:
            self._answer(200, {"service": "smgitops webhook", "method": "POST a GitHub push"})

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            if status in {400, 411, 413}:  # a body left unread must not become a request
                self.close_connection = True
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            for key, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.info("webhook %s", format % args)

    return WebhookRequest


STOP_GRACE = 20.0  # seconds from SIGINT/SIGTERM to a stopped process, whatever is running


def serve(options: RuntimeOptions) -> int:
    """``smgitops local up``: print the ready line, run until SIGINT/SIGTERM.

    Stopping is bounded (:class:`~smgitops.local.stopping.StopSignal`): :data:`STOP_GRACE`
    seconds after the first signal the process has ended, with every thread's stack on stderr
    if it had to be ended; a second signal ends it at once. Nothing is lost either way: the
    emulator's state lives in this process only.
    """
    from smgitops.local.stopping import StopSignal  # noqa: PLC0415

    stop = StopSignal(grace=STOP_GRACE)
    terminal = sys.stderr.isatty()  # progress for a person; none for a script or a log
    if terminal:
        print("smgitops local: starting the AWS emulator, the webhook and the state machine…",
              file=sys.stderr, flush=True)  # fmt: skip
    runtime = LocalRuntime.start(options)
    try:
        print(runtime.ready_line(), flush=True)
        if terminal:
            where = f"; dashboard {runtime.dashboard.url}" if runtime.dashboard else ""
            print(f"smgitops local: ready{where} (Ctrl-C stops it)", file=sys.stderr, flush=True)
        log.info("local runtime ready: webhook %s, aws %s", runtime.webhook_url, runtime.aws_url)
        stop.wait()
        print(
            "smgitops local: stopping (a second Ctrl-C ends it at once)",
            file=sys.stderr,
            flush=True,
        )
    finally:
        stop.run(runtime.stop)  # a second signal ends the process even if this hangs
    print("smgitops local: stopped", file=sys.stderr)
    return 0
