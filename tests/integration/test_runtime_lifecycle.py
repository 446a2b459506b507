"""Two local runtimes one after the other in one process (the demo, a bench, a notebook)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from smgitops import clock
from smgitops.local.emulator import stepfunctions
from smgitops.local.runtime import LocalRuntime, RuntimeOptions
from smgitops.wiring.webhook import webhook as wired_webhook

pytestmark = pytest.mark.slow


def test_a_stopped_runtime_leaves_the_process_as_it_found_it() -> None:
    before = dict(os.environ)
    options = RuntimeOptions(drift_interval=0, update_delay=0.0, time_scale=60)
    with LocalRuntime.start(options) as first:
        assert os.environ["AWS_ENDPOINT_URL"] == first.aws_url and clock.scale() == 60
        first.emulator.client("sagemaker").create_model(
            ModelName="left-behind",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
            PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
    assert dict(os.environ) == before and clock.scale() == 1.0
    with LocalRuntime.start(RuntimeOptions(drift_interval=0, update_delay=0.0)) as second:
        assert second.emulator is not None  # its own, not the stopped one's URL from the env
        assert second.state_machine_arn
        sagemaker = second.emulator.client("sagemaker")
        assert sagemaker.list_models()["Models"] == []  # a new emulator starts empty
        secret = second.emulator.client("secretsmanager").get_secret_value(
            SecretId="smgitops/webhook-secret"
        )
        assert secret["SecretString"] == second.secret  # not the first runtime's
        assert stepfunctions.registered_function("smgitops-tick") is not None
        wired_webhook()  # built by the first request, with this runtime's queue and table
    assert dict(os.environ) == before
    assert stepfunctions.registered_function("smgitops-tick") is None
    assert wired_webhook.cache_info().currsize == 0  # the next runtime builds its own


def test_against_an_external_endpoint_rollouts_run_in_process_and_only_while_it_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smgitops import wiring
    from smgitops.aws.stepfunctions import Executions
    from smgitops.local.emulator import Emulator
    from smgitops.local.runner import LocalExecutions
    from smgitops.wiring.reconcile import reconciler

    emulator = Emulator.start(port=0, region="us-east-1", update_delay=0.0)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
        options = RuntimeOptions(drift_interval=0, update_delay=0.0, dashboard=False)
        with LocalRuntime.start(options) as runtime:
            assert runtime.emulator is None  # Step Functions is not in this process
            # the swap is made in the composition root, not by rebinding an adapter class
            assert stepfunctions_class() is Executions
            assert type(reconciler().engine.executions) is LocalExecutions
        assert type(wiring.executions(runtime.state_machine_arn)) is Executions
    finally:
        emulator.stop()


def stepfunctions_class() -> type:
    from smgitops.aws import stepfunctions as adapter

    return adapter.Executions


# ``smgitops local up`` with a stop that never returns (a handler stuck in a call, a thread that
# holds up interpreter exit): the process must still end, and say where it was stuck.
_STUCK_STOP = """
import sys, time
from smgitops.local import runtime
runtime.STOP_GRACE = float(sys.argv[1])
def stuck_in_stop(self):
    time.sleep(600)
runtime.LocalRuntime.stop = stuck_in_stop
sys.exit(runtime.serve(runtime.RuntimeOptions(drift_interval=0, dashboard=False)))
"""


def _local_up_whose_stop_hangs(grace: float, script: str = _STUCK_STOP) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(grace)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")},
    )
    assert process.stdout is not None
    assert json.loads(process.stdout.readline())["webhook"]  # ready
    return process


def test_local_up_ends_within_its_grace_when_stopping_hangs_and_shows_where() -> None:
    process = _local_up_whose_stop_hangs(grace=2.0)
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1
    assert "stuck_in_stop" in stderr  # the stack of the thread that held the stop up


def _stopping(process: subprocess.Popen[str]) -> None:
    """The first SIGINT, handled: stop() is running (and stuck). Not after a guess: two signals
    that arrive before the handler runs are one pending signal to the kernel."""
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    lines = iter(process.stderr.readline, "")  # ends at EOF: the grace ends a stuck process
    assert any("smgitops local: stopping" in line for line in lines)


def test_a_second_signal_ends_local_up_at_once() -> None:
    process = _local_up_whose_stop_hangs(grace=20.0)
    _stopping(process)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)  # well before STOP_GRACE (20 s) could have ended it
    finally:
        process.kill()
    assert process.returncode == 130


# The second Ctrl-C handed by the kernel to another thread than the main one (which it may do),
# while the main thread is stuck in the stop: CPython runs the handler only in the main thread.
_STUCK_STOP_THEN_A_SIGNAL_TO_A_WORKER = _STUCK_STOP.replace(
    "import sys, time", "import signal, sys, threading, time"
).replace(
    "sys.exit(",
    "def worker():\n"
    "    sys.stdin.readline()\n"
    "    signal.pthread_kill(threading.get_ident(), signal.SIGINT)\n"
    "threading.Thread(target=worker, daemon=True).start()\n"
    "sys.exit(",
)


def test_a_second_signal_to_another_thread_ends_local_up_at_once() -> None:
    process = _local_up_whose_stop_hangs(20.0, _STUCK_STOP_THEN_A_SIGNAL_TO_A_WORKER)
    _stopping(process)
    assert process.stdin is not None
    process.stdin.write("\n")  # the worker thread takes the second SIGINT
    process.stdin.flush()
    try:
        process.wait(timeout=10)  # well before STOP_GRACE (20 s) could have ended it
    finally:
        process.kill()
    assert process.returncode == 130


# The kernel hands a process-directed SIGTERM to any thread that does not block it; CPython runs
# the handler only in the main thread. Sent to a worker thread on purpose, as the kernel may.
_SIGNAL_TO_A_WORKER_THREAD = """
import signal, sys, threading
from smgitops.local import runtime
def worker():
    sys.stdin.readline()
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
threading.Thread(target=worker, daemon=True).start()
sys.exit(runtime.serve(runtime.RuntimeOptions(drift_interval=0, dashboard=False)))
"""


def test_local_up_stops_when_another_thread_than_the_main_one_takes_the_signal() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _SIGNAL_TO_A_WORKER_THREAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")},
    )
    assert process.stdout is not None and process.stdin is not None
    assert json.loads(process.stdout.readline())["webhook"]  # ready
    process.stdin.write("\n")
    process.stdin.flush()
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "smgitops local: stopped" in stderr
