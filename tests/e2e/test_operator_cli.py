"""An operator's day against `smgitops local up`, from the CLI alone: why a push did nothing
(`pushes`), waiting on a rollout in CI (`wait`), following it (`status`)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.builders import declaration_dict
from tests.e2e.conftest import LocalUp, Repo, Traffic

pytestmark = pytest.mark.e2e


def test_an_invalid_push_shows_in_pushes_with_file_and_line(local_up: LocalUp, repo: Repo) -> None:
    document = declaration_dict("e2e-invalid-push")
    document["spec"]["instanceCount"] = 0
    sha, delivery = repo.push(
        {"endpoints/e2e-invalid-push.yaml": yaml.safe_dump(document)}, "instanceCount 0"
    )
    assert delivery.status == 202
    waited = local_up.cli("wait", "e2e-invalid-push", "--commit", sha, "--timeout", "45s")
    assert waited.returncode == 1, waited.stderr
    assert "was invalid" in waited.stdout
    shown = local_up.cli("pushes", "--commit", sha[:12])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "invalid" in lines[1]
    assert any(
        line.strip().startswith("endpoints/e2e-invalid-push.yaml:") and "instanceCount" in line
        for line in lines[2:]
    ), shown.stdout
    records = json.loads(local_up.cli("pushes", "--commit", sha, "--output", "json").stdout)
    assert records[0]["outcome"] == "invalid"
    assert records[0]["problems"]


def test_wait_exits_zero_on_success_and_one_on_a_rollback(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-wait"
    first, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    waited = local_up.cli("wait", name, "--commit", first, "--timeout", "45s")
    assert waited.returncode == 0, waited.stderr
    assert "Succeeded" in waited.stdout

    bad = declaration_dict(
        name,
        version=2,
        interval="3s",
        environment={"SMGITOPS_SIM_ERROR_RATE": "0.8"},
        analysis={
            "metrics": [
                {"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2, "period": 60}
            ]
        },
    )
    with Traffic(local_up, name, pause=0.01):
        second, _ = repo.declare(bad, "v2: a bad model")
        waited = local_up.cli("wait", name, "--commit", second, "--timeout", "45s")
    assert waited.returncode == 1, (waited.stdout, waited.stderr)
    assert "RolledBack" in waited.stdout and "Invocation5XXErrors" in waited.stdout
    # progress went to stderr, one line per change: "HH:MM:SS e2e-wait: <phase> · step …"
    assert re.search(rf"^\d\d:\d\d:\d\d {name}: [A-Za-z]+ · ", waited.stderr, re.M), waited.stderr

    # retry: the same commit starts again, without a push, recorded with who asked
    rolled = local_up.status(name)
    assert rolled is not None
    retried = local_up.cli("retry", name, "--by", "alice", "--output", "json")
    assert retried.returncode == 0, retried.stderr
    answer = json.loads(retried.stdout)
    assert (answer["outcome"], answer["commit"]) == ("started", second)
    again = local_up.status(name)
    assert again is not None
    assert again["rolloutId"] != rolled["rolloutId"] and again["commit"] == second
    assert again["source"]["retriedBy"] == "alice"
    # a retry while this one runs is refused: tests/integration/test_status_command.py (here the
    # retried rollout, without traffic, may end before a second CLI process gets to ask)
    local_up.wait_for(name, second, {"RolledBack", "Failed", "Succeeded"})

    table = local_up.cli("status")
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0].split()
    assert header[:4] == ["ENDPOINT", "PHASE", "STEP", "WEIGHTS"]
    detail = local_up.cli("status", name).stdout
    assert "stable" in detail and "candidate" in detail and "RolledBack" in detail
