"""The local runtime serves pushes from an external process exactly as described."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.builders import declaration_dict
from tests.e2e.conftest import SMGITOPS, LocalUp, Repo, Traffic

pytestmark = pytest.mark.e2e
FIVE_XX = {
    "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2, "period": 60}]
}


def test_ready_line_and_webhook_answers(local_up: LocalUp) -> None:
    assert local_up.webhook.startswith("http://127.0.0.1:")
    assert local_up.aws.startswith("http://127.0.0.1:")
    assert len(local_up.secret) >= 20
    tables = local_up.client("dynamodb").list_tables()["TableNames"]
    assert "smgitops" in tables


def test_unsigned_push_is_refused_and_starts_nothing(local_up: LocalUp, repo: Repo) -> None:
    from smgitops.local.scenario import send_webhook

    sha = repo.remote.commit(
        {"endpoints/e2e-unsigned.yaml": json.dumps(declaration_dict("e2e-unsigned"))}, "x"
    )
    before, after = repo.remote.push()
    payload = repo.remote.push_payload(before, after)
    refused = send_webhook(
        local_up.webhook, local_up.secret, payload, signature="sha256=" + "0" * 64
    )
    assert refused.status == 401
    time.sleep(2)
    assert local_up.status("e2e-unsigned") is None
    assert sha


def test_canary_then_bad_model_rolls_back(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-canary"
    first, delivery = repo.declare(declaration_dict(name, version=1, interval="2s"), "v1")
    assert delivery.status == 202
    local_up.wait_for(name, first, {"Succeeded"})
    second, _ = repo.declare(declaration_dict(name, version=2, interval="2s", steps=[20, 60]), "v2")
    seen: set[tuple[float, ...]] = set()  # live weights, watched through boto3 as they change
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        weights = local_up.weights(name)
        seen.add(tuple(sorted(weights.values())))
        if len(weights) == 1 and (len(seen), 0.0) > (1.0, 0.0) and (40.0, 60.0) in seen:
            break
        time.sleep(0.1)
    status = local_up.wait_for(name, second, {"Succeeded"})
    assert {(20.0, 80.0), (40.0, 60.0), (0.0, 100.0), (100.0,)} <= seen
    assert local_up.weights(name) == {status["candidate"]["name"]: 100.0}

    bad = declaration_dict(
        name,
        version=3,
        interval="3s",
        environment={"SMGITOPS_SIM_ERROR_RATE": "0.8"},
        analysis=FIVE_XX,
    )
    # real requests through the traffic simulator for as long as the rollout runs: v3 answers 5xx
    with Traffic(local_up, name, pause=0.01) as traffic:
        third, _ = repo.declare(bad, "v3: a bad model")
        rolled = local_up.wait_for(name, third, {"RolledBack", "Succeeded"}, timeout=60)
    assert rolled["phase"] == "RolledBack" and "Invocation5XXErrors" in rolled["reason"], rolled
    assert traffic.failed > 0  # users saw the candidate's errors before the rollback
    assert local_up.weights(name) == {status["candidate"]["name"]: 100.0}  # v2 alone again
    history = json.loads(local_up.cli("history", name, "--output", "json").stdout)
    assert {(r["commit"], r["phase"]) for r in history} >= {
        (first, "Succeeded"),
        (third, "RolledBack"),
    }


def test_promote_and_abort_during_ab_tests(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-ab"
    first, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    local_up.wait_for(name, first, {"Succeeded"})
    second, _ = repo.declare(
        declaration_dict(name, version=2, strategy="abTest", split=25, interval="1s"), "v2"
    )
    paused = local_up.wait_for(name, second, {"Paused"})
    assert sorted(local_up.weights(name).values()) == [25.0, 75.0]
    promoted = local_up.cli("promote", name)
    assert promoted.returncode == 0, promoted.stderr
    done = local_up.wait_for(name, second, {"Succeeded"})
    assert local_up.weights(name) == {paused["candidate"]["name"]: 100.0}
    third, _ = repo.declare(
        declaration_dict(name, version=3, strategy="abTest", split=25, interval="1s"), "v3"
    )
    local_up.wait_for(name, third, {"Paused"})
    aborted = local_up.cli("abort", name, "--by", "alice")
    assert aborted.returncode == 0, aborted.stderr
    rolled = local_up.wait_for(name, third, {"RolledBack"})
    assert rolled["reason"] == "aborted by alice"
    assert local_up.weights(name) == {done["candidate"]["name"]: 100.0}


def test_local_up_stops_cleanly_on_sigint(tmp_path: object) -> None:
    process = subprocess.Popen(
        [*SMGITOPS, "local", "up"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    assert set(ready) == {"webhook", "aws", "secret", "dashboard"}
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0


def test_local_up_shows_progress_on_a_terminal_and_none_in_a_pipe() -> None:
    import os
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*SMGITOPS, "local", "up"], stdout=subprocess.PIPE, stderr=terminal, text=True
    )
    os.close(terminal)
    # the piped one starts alongside (each takes seconds to come up); it is read below
    piped = subprocess.Popen(
        [*SMGITOPS, "local", "up"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        seen = b""
        deadline = time.monotonic() + 30
        while b"smgitops local: ready" not in seen and time.monotonic() < deadline:
            seen += os.read(controller, 4096)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        os.close(controller)
        text = seen.decode()
        assert "starting the AWS emulator" in text
        assert f"ready; dashboard {ready['dashboard']}" in text

        assert piped.stdout is not None
        json.loads(piped.stdout.readline())
        piped.send_signal(signal.SIGINT)
        _, err = piped.communicate(timeout=60)
    finally:
        if piped.poll() is None:  # an assertion above failed: stop it too
            piped.kill()
            piped.wait()
    assert "starting the AWS emulator" not in err and "smgitops local: ready" not in err
