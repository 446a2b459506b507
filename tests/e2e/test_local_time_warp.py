"""The canary-vs-stable judgement through `smgitops local up --time-scale 60`.

SageMaker publishes per-minute metrics, so a judged step lasts minutes. At time scale 60 a
wall-clock second is an emulated minute for everything in the runtime: the rollout's clock,
the state machine's Wait states, the metric timestamps of the simulated traffic and the alarm
evaluation. A six-minute step is judged on six one-minute samples per variant in about six
seconds, with real InvokeEndpoint traffic sent over HTTP by the test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smgitops.local.scenario import GitRemote
from tests.builders import declaration_dict
from tests.e2e.conftest import LocalUp, Repo, Traffic, running_local_up

pytestmark = pytest.mark.e2e

SCALE = 60
LATENCY_ALARM = {"metric": "ModelLatency", "statistic": "Average", "max": 500_000}  # 500 ms
ERROR_ALARM = {"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5}


@pytest.fixture(scope="module")
def warped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    log = tmp_path_factory.mktemp("local-up-warped") / "stderr.log"
    options = ("--time-scale", str(SCALE), "--update-delay", "0.2", "--drift-interval", "0")
    with running_local_up(log, *options) as up:
        yield up


@pytest.fixture
def repo(warped: LocalUp, tmp_path: Path) -> Repo:
    return Repo(GitRemote(tmp_path / "models"), warped)


def _deploy_v1(up: LocalUp, repo: Repo, name: str) -> None:
    sha, delivery = repo.declare(declaration_dict(name, version=1, interval="1m"), "v1")
    assert delivery.status == 202
    up.wait_for(name, sha, {"Succeeded"})


def _watch(
    up: LocalUp,
    name: str,
    commit: str,
    phases: set[str],
    *,
    reasons: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """Wait for a phase while recording every state seen of the alarms on the endpoint (and
    into ``reasons`` every reason ``smgitops status`` showed on the way)."""
    cloudwatch = up.client("cloudwatch")
    seen: dict[str, set[str]] = {}

    def record(status: dict[str, Any] | None) -> None:
        for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
            dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
            if dimensions.get("EndpointName") == name:
                seen.setdefault(alarm["AlarmName"], set()).add(alarm["StateValue"])
        if reasons is not None and status and status["commit"] == commit:
            reasons.append(status["reason"])

    return up.wait_for(name, commit, phases, each=record), seen


def _history(up: LocalUp, name: str, commit: str) -> list[dict[str, Any]]:
    """The rollout's history records, oldest first."""
    records: list[dict[str, Any]] = json.loads(
        up.cli("history", name, "--output", "json", "--limit", "200").stdout
    )
    return sorted((r for r in records if r["commit"] == commit), key=lambda r: r["at"])


def _judgements(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["details"]["judgement"] for r in records if "judgement" in r.get("details", {})]


def test_a_latency_regression_is_caught_by_the_comparison_while_alarms_stay_ok(
    warped: LocalUp, repo: Repo
) -> None:
    name = "warp-regression"
    _deploy_v1(warped, repo, name)
    compare = {"metrics": [{"metric": "ModelLatency", "tolerance": 0.2}], "minSamples": 30}
    document = declaration_dict(
        name, version=2, interval="6m", steps=[30],
        environment={"SMGITOPS_SIM_LATENCY_MS": "60"},  # stable answers in ~20 ms
        analysis={"metrics": [LATENCY_ALARM, ERROR_ALARM], "compare": compare},
    )  # fmt: skip
    with Traffic(warped, name) as traffic:
        sha, _ = repo.declare(document, "v2: three times slower, still under the 500 ms alarm")
        status, alarms = _watch(warped, name, sha, {"RolledBack", "Succeeded"})
    assert status["phase"] == "RolledBack", status
    assert status["reason"].startswith("judged worse than stable: ModelLatency"), status
    # the absolute alarms existed, were evaluated on the candidate's traffic, never fired
    assert len(alarms) == 2, alarms
    assert all("OK" in states and "ALARM" not in states for states in alarms.values()), alarms
    candidate = status["candidate"]["name"]
    assert traffic.served.get(candidate, 0) >= 30, traffic.served
    assert warped.weights(name) == {status["stable"]["name"]: 100.0}
    [judged] = _judgements(_history(warped, name, sha))
    assert judged["verdict"] == "fail"
    latency = judged["judgements"][0]
    assert latency["metric"] == "ModelLatency Average"
    assert latency["pValue"] < 0.05 and latency["effect"] > 1.0  # ~3x the stable mean
    assert latency["samplesCandidate"] >= 4 and latency["samplesStable"] >= 4


def test_a_tail_latency_regression_is_rolled_back_by_a_p99_check(
    warped: LocalUp, repo: Repo
) -> None:
    """The candidate's mean is the stable one's (~20 ms: tests/integration/
    test_percentile_checks.py shows an average check passing it), but 5 % of its requests take
    ~200 ms: the generated p99 alarm (an ExtendedStatistic alarm) fires and rolls it back."""
    name = "warp-tail"
    _deploy_v1(warped, repo, name)
    p99 = {"metric": "ModelLatency", "statistic": "p99", "max": 150_000}  # 150 ms
    tail = {
        "SMGITOPS_SIM_LATENCY_MS": "10.5",
        "SMGITOPS_SIM_TAIL_PERCENT": "5",
        "SMGITOPS_SIM_TAIL_LATENCY_MS": "200",
    }
    document = declaration_dict(
        name, version=2, interval="10m", steps=[50], environment=tail, analysis={"metrics": [p99]}
    )
    cloudwatch = warped.client("cloudwatch")
    extended: set[str] = set()

    def generated(status: dict[str, Any] | None) -> None:
        for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
            if alarm["AlarmName"].startswith(f"smgitops-{name}-"):
                extended.add(alarm.get("ExtendedStatistic", alarm.get("Statistic", "?")))

    with Traffic(warped, name) as traffic:
        sha, _ = repo.declare(document, "v2: as fast on average, a slow tail")
        status = warped.wait_for(name, sha, {"RolledBack", "Succeeded"}, each=generated)
    assert status["phase"] == "RolledBack", status
    assert "ModelLatency-p99" in status["reason"], status["reason"]
    assert extended == {"p99"}, extended  # the alarm used ExtendedStatistic, not Statistic
    assert traffic.served.get(status["candidate"]["name"], 0) > 0, traffic.served
    assert warped.weights(name) == {status["stable"]["name"]: 100.0}


@pytest.mark.parametrize(("policy", "outcome"), [("fail", "RolledBack"), ("pass", "Succeeded")])
def test_a_step_with_too_little_traffic_is_extended_then_follows_the_policy(
    warped: LocalUp, repo: Repo, policy: str, outcome: str
) -> None:
    name = f"warp-low-traffic-{policy}"
    _deploy_v1(warped, repo, name)
    compare = {  # errors per invocation: 0 for both models, so only the traffic decides
        "metrics": [{"metric": "Invocation5XXErrors", "perInvocation": True}],
        "minSamples": 1000,
        "maxExtensions": 2,
        "inconclusive": policy,
    }
    document = declaration_dict(
        name, version=2, interval="3m", steps=[50], analysis={"compare": compare}
    )
    with Traffic(warped, name, pause=0.2):  # ~5 requests per emulated minute
        sha, _ = repo.declare(document, f"v2, judged on little traffic ({policy})")
        shown: list[str] = []
        status, _ = _watch(warped, name, sha, {"RolledBack", "Succeeded"}, reasons=shown)
    assert status["phase"] == outcome, status["reason"]
    records = _history(warped, name, sha)
    events = [r["event"] for r in records]
    extended = [e for e in events if e.startswith("step extended")]
    assert len(extended) == 2, events
    assert extended[0].startswith("step extended: extension 1/2: too few invocations")
    assert extended[1].startswith("step extended: extension 2/2: too few invocations")
    assert any(r.startswith("step extended: extension") for r in shown)  # `status` said why
    verdicts = [j["verdict"] for j in _judgements(records)]
    assert verdicts[:2] == ["extend", "extend"] and verdicts[2] == policy, verdicts
    if policy == "fail":
        reason = status["reason"]
        assert reason.startswith("inconclusive after 2 extensions (fail): too few"), reason
    # each extension lasted one interval on the runtime's clock: three emulated minutes
    stamps = [r["at"] for r in records if r["event"].startswith("step extended")]
    assert stamps[1] - stamps[0] >= 170, stamps


def test_a_gate_times_out_on_the_runtime_clock(warped: LocalUp, repo: Repo) -> None:
    name = "warp-gate"
    _deploy_v1(warped, repo, name)
    document = declaration_dict(
        name, version=2, interval="1m", gates=["beforeFirstStep"], gateTimeout="10m"
    )
    sha, _ = repo.declare(document, "v2 behind a ten-minute gate")
    started = time.monotonic()
    warped.wait_for(name, sha, {"Paused"})
    status = warped.wait_for(name, sha, {"RolledBack", "Succeeded"}, timeout=60)
    assert status["phase"] == "RolledBack" and "gate" in status["reason"], status
    assert time.monotonic() - started < 45  # ten emulated minutes, not ten wall-clock minutes


def test_a_slower_shadow_is_judged_on_copied_traffic_and_never_answers_a_user(
    warped: LocalUp, repo: Repo
) -> None:
    name = "warp-shadow"
    _deploy_v1(warped, repo, name)
    compare = {"metrics": [{"metric": "ModelLatency", "tolerance": 0.2}], "minSamples": 30}
    document = declaration_dict(
        name, version=2, interval="5m", strategy="shadow", steps=[20],
        shadow={"samplingPercent": 100, "then": "canary"},
        environment={"SMGITOPS_SIM_LATENCY_MS": "60"},
        analysis={"compare": compare},
    )  # fmt: skip
    with Traffic(warped, name) as traffic:
        sha, _ = repo.declare(document, "v2 in shadow, then a canary if it holds up")
        status, _ = _watch(warped, name, sha, {"RolledBack", "Succeeded"})
    assert status["phase"] == "RolledBack", status
    assert status["reason"].startswith("judged worse than stable: ModelLatency"), status
    assert set(traffic.served) == {status["stable"]["name"]}  # every answer came from stable
    [judged] = _judgements(_history(warped, name, sha))
    latency = judged["judgements"][0]
    assert latency["samplesCandidate"] >= 4 and latency["effect"] > 1.0
    assert judged["invocationsCandidate"] >= 30  # the copies the shadow received
    live = warped.client("sagemaker").describe_endpoint(EndpointName=name)
    assert not live.get("ShadowProductionVariants")  # the shadow is gone with the rollback
