"""``smgitops demo``: the whole job end to end on the local runtime, as a story.

1. a first commit declares ``churn-predictor`` → a signed webhook → the endpoint is created;
2. model v2 with a canary [10, 50] → traffic walks 10 → 50 → 100 %, the old variant is removed;
3. model v3, which the traffic simulator makes fail → the generated 5xx alarm fires → all
   traffic returns to v2 at once → rolled back, with the reason;
4. model v4, three times slower but error-free: its alarms stay OK, and the canary-vs-stable
   comparison of the per-minute ModelLatency (Mann-Whitney U) rolls it back; the runtime's
   clock runs 60× faster from here (``local up --time-scale``) so minutes pass in seconds;
5. the history: commit, strategy, outcome, duration, reason.

Exit 0 only when each outcome is what it must be; tests/e2e/test_demo.py runs it that way.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from smgitops.declaration.models import Declaration
from smgitops.rollout import naming
from smgitops.rollout.status import Phase, RolloutStatus

ENDPOINT = "churn-predictor"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
STEP_TIMEOUT = 90.0


STABLE_LATENCY_MS = 40
COMPARE = {"metrics": [{"metric": "ModelLatency", "tolerance": 0.2}], "minSamples": 30}
TIME_SCALE = 60.0


def demo_declaration(
    version: int,
    *,
    error_rate: float = 0.0,
    interval: str = "3s",
    latency_ms: int = STABLE_LATENCY_MS,
    compare: bool = False,
) -> dict[str, Any]:
    environment = {"SAGEMAKER_PROGRAM": "inference.py", "SMGITOPS_SIM_LATENCY_MS": str(latency_ms)}
    if error_rate:
        environment["SMGITOPS_SIM_ERROR_RATE"] = str(error_rate)
    analysis: dict[str, Any] = {
        "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2, "period": 60}]
    }
    if compare:
        analysis["compare"] = COMPARE
    return {
        "apiVersion": "smgitops/v1",
        "kind": "Endpoint",
        "metadata": {"name": ENDPOINT, "tags": {"team": "risk"}},
        "spec": {
            "model": {
                "image": IMAGE,
                "modelDataUrl": f"s3://ml-models/churn/v{version}/model.tar.gz",
                "executionRoleArn": ROLE,
                "environment": environment,
            },
            "instanceType": "ml.m5.large",
            "instanceCount": 1,
            "rollout": {
                "strategy": "canary",
                "steps": [10, 50],
                "interval": interval,
                "analysis": analysis,
            },
        },
    }


@dataclass
class Screen:
    """Progress as it happens: rewritten in place on a terminal, plain lines otherwise."""

    out: IO[str]
    started: float = field(default_factory=time.monotonic)
    labels: dict[str, str] = field(default_factory=dict)
    _last: str = ""
    _inline: bool = False

    @property
    def tty(self) -> bool:
        return self.out.isatty()

    def stamp(self) -> str:
        return f"[{time.monotonic() - self.started:5.1f}s]"

    def say(self, text: str) -> None:
        self._end_inline()
        print(text, file=self.out, flush=True)

    def event(self, text: str) -> None:
        self.say(f"{self.stamp()} {text}")

    def state(self, status: RolloutStatus | None, live: dict[str, float]) -> None:
        if status is None:
            return
        weights = "  ".join(
            f"{self.labels.get(name, name)} {_bar(percent)} {percent:5.1f}%"
            for name, percent in sorted(live.items(), key=lambda kv: self.labels.get(kv[0], kv[0]))
        )
        line = f"{status.phase!s:<12} {weights}"
        if line == self._last:
            return
        phase_changed = self._last.split(" ", 1)[0] != str(status.phase)
        self._last = line
        if self.tty and not phase_changed:
            self.out.write(f"\r{self.stamp()} {line}\x1b[K")
            self.out.flush()
            self._inline = True
            return
        self.event(line + (f"  — {status.reason}" if status.reason and status.done else ""))

    def _end_inline(self) -> None:
        if self._inline:
            self.out.write("\n")
            self._inline = False


def _bar(percent: float, width: int = 10) -> str:
    filled = round(width * percent / 100)
    return "█" * filled + "·" * (width - filled)


class Demo:
    def __init__(self, out: IO[str], update_delay: float = 1.0) -> None:
        self.screen = Screen(out)
        self.update_delay = update_delay
        self.failures: list[str] = []
        self.commits: dict[str, str] = {}

    def run(self) -> int:
        from smgitops.local.runtime import LocalRuntime, RuntimeOptions  # noqa: PLC0415
        from smgitops.local.scenario import GitRemote  # noqa: PLC0415

        say = self.screen.say
        say("smgitops demo — GitOps for SageMaker endpoints, on this machine, no AWS account")
        self.screen.event("starting the local runtime (AWS emulator, webhook, state machine)…")
        with tempfile.TemporaryDirectory(prefix="smgitops-demo-") as tmp:
            options = RuntimeOptions(update_delay=self.update_delay, drift_interval=0)
            runtime = LocalRuntime.start(options)
            try:
                self.screen.event(f"AWS emulator {runtime.aws_url} · webhook {runtime.webhook_url}")
                if runtime.dashboard is not None:
                    self.screen.event(f"dashboard {runtime.dashboard.url} (open it to watch)")
                self.runtime = runtime
                self.remote = GitRemote(Path(tmp) / "models")
                self.screen.event(f"Git repository {self.remote.clone_url} (plays GitHub)")
                self._story()
                history = self._history()
            finally:
                runtime.stop()
        self.history = history
        if self.failures:
            say("\nthe demo did not go as it must:")
            for failure in self.failures:
                say(f"  ✗ {failure}")
            return 1
        say("\n✓ every outcome was what it must be")
        return 0

    # --- the story ----------------------------------------------------------------------------

    def _story(self) -> None:
        say = self.screen.say
        say("\n1/4 first deploy — a commit declares churn-predictor with model v1")
        first = self._push(1, "Declare churn-predictor (model v1)")
        self._expect(first, Phase.SUCCEEDED, "first deploy")

        say("\n2/4 canary — model v2, steps 10 → 50 → 100 %, 3 s bake per step, traffic on")
        self.runtime.emulator.start_traffic(ENDPOINT, rate_per_second=30)
        second = self._push(2, "Model v2: retrained on October data")
        status = self._expect(second, Phase.SUCCEEDED, "canary of v2")
        live = self._live()
        if status is not None and list(live) != [status.candidate.name]:
            self.failures.append(f"after the canary the endpoint still has {sorted(live)}")
        else:
            self.screen.event("v1's variant, config and model are gone; v2 serves 100 %")

        say("\n3/4 bad model — v3 answers 60 % of requests with 5xx; its 5xx alarm watches it")
        third = self._push(3, "Model v3: new features", error_rate=0.6)
        status = self._expect(third, Phase.ROLLED_BACK, "rollback of v3")
        live = self._live()
        v2 = self.screen.labels.get(next(iter(live), ""), "")
        if status is not None:
            if "alarm" not in status.reason:
                self.failures.append(f"v3 rolled back without an alarm reason: {status.reason}")
            if v2 != "v2" or len(live) != 1:
                self.failures.append(f"after the rollback the endpoint serves {live}, not v2 alone")
            else:
                self.screen.event(f"all traffic back on v2 — reason: {status.reason}")
        self.runtime.emulator.stop_traffic()
        self._slow_model()

    def _slow_model(self) -> None:
        from smgitops import clock  # noqa: PLC0415

        self.screen.say(
            "\n4/4 slow model — v4 answers in ~120 ms instead of ~40, without a single error;\n"
            "    each 5-minute step is judged against v2 on per-minute ModelLatency, and the\n"
            f"    runtime's clock now runs {TIME_SCALE:g}× faster (a second is a minute)"
        )
        clock.warp(TIME_SCALE)
        self.runtime.emulator.start_traffic(ENDPOINT, rate_per_second=100)
        fourth = self._push(
            4,
            "Model v4: bigger trees",
            latency_ms=3 * STABLE_LATENCY_MS,
            interval="5m",
            compare=True,
        )
        status = self._expect(fourth, Phase.ROLLED_BACK, "judgement of v4")
        self.runtime.emulator.stop_traffic()
        if status is None or status.phase != Phase.ROLLED_BACK:
            return
        if not status.reason.startswith("judged worse than stable: ModelLatency"):
            self.failures.append(f"v4 rolled back for another reason: {status.reason}")
        elif status.failed_checks:
            self.failures.append("an alarm fired for v4: the comparison was not what caught it")
        else:
            self.screen.event(f"no alarm fired; back on v2 — reason: {status.reason}")

    def _push(
        self,
        version: int,
        message: str,
        *,
        error_rate: float = 0.0,
        latency_ms: int = STABLE_LATENCY_MS,
        interval: str = "3s",
        compare: bool = False,
    ) -> str:
        from smgitops.local.scenario import send_webhook  # noqa: PLC0415

        document = demo_declaration(
            version,
            error_rate=error_rate,
            latency_ms=latency_ms,
            interval=interval,
            compare=compare,
        )
        self.screen.labels[naming.variant_name(Declaration.model_validate(document))] = (
            f"v{version}"
        )
        text = f"# model v{version}\n" + yaml.safe_dump(document, sort_keys=False)
        sha = self.remote.commit({f"endpoints/{ENDPOINT}.yaml": text}, message)
        before, after = self.remote.push()
        delivery = send_webhook(
            self.runtime.webhook_url, self.runtime.secret, self.remote.push_payload(before, after)
        )
        self.commits[sha] = f"v{version}"
        answer = delivery.body.get("message", "") if isinstance(delivery.body, dict) else ""
        self.screen.event(f"git push {sha[:12]} → webhook {delivery.status} {answer}")
        if delivery.status != 202:
            self.failures.append(f"webhook answered {delivery.status} for {sha[:12]}")
        return sha

    def _expect(self, commit: str, phase: Phase, what: str) -> RolloutStatus | None:
        from smgitops.wiring import operator  # noqa: PLC0415

        store = operator.statuses(self.runtime.options.table)
        deadline = time.monotonic() + STEP_TIMEOUT
        status = None
        while time.monotonic() < deadline:
            status = store.get(ENDPOINT)
            if status is not None and status.commit == commit:
                self.screen.state(status, self._live())
                if status.done:
                    break
            time.sleep(0.2)
        if status is None or status.commit != commit or status.phase != phase:
            got = f"{status.phase} ({status.reason})" if status is not None else "nothing"
            self.failures.append(f"{what}: expected {phase}, got {got}")
            return status
        return status

    def _live(self) -> dict[str, float]:
        from smgitops.aws import clients  # noqa: PLC0415

        try:
            out = clients.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
        except Exception:  # not created yet
            return {}
        variants = out.get("ProductionVariants", [])
        total = sum(v.get("DesiredWeight", 0.0) for v in variants) or 1.0
        return {v["VariantName"]: 100.0 * v.get("DesiredWeight", 0.0) / total for v in variants}

    def _history(self) -> list[dict[str, Any]]:
        """The closing table, exactly as ``smgitops history churn-predictor --rollouts``."""
        from smgitops.rollout.progress import (  # noqa: PLC0415
            SUMMARY_HEADERS,
            summaries,
            summary_rows,
            text_table,
        )
        from smgitops.wiring import operator  # noqa: PLC0415

        records = operator.statuses(self.runtime.options.table).history(ENDPOINT, limit=500)
        rollouts = summaries(records)
        self.screen.say(f"\nhistory (smgitops history {ENDPOINT} --rollouts):")
        table = text_table(summary_rows(rollouts), list(SUMMARY_HEADERS))
        for line in table.splitlines():
            self.screen.say(f"  {line}")
        # on the runtime's clock: v4's minutes are emulated ones
        return [
            {
                "rolloutId": s.rollout_id,
                "commit": s.commit,
                "model": self.commits.get(s.commit, "?"),
                "startedAt": s.started_at,
                "outcome": str(s.outcome),
                "reason": s.reason,
                "durationSeconds": round(s.duration, 1),
            }
            for s in rollouts
        ]


def run(output: str = "text", update_delay: float = 1.0) -> int:
    """Progress on stdout (stderr with ``--output json``, which prints the history)."""
    demo = Demo(sys.stderr if output == "json" else sys.stdout, update_delay=update_delay)
    code = demo.run()
    if output == "json":
        json.dump(
            {"ok": code == 0, "failures": demo.failures, "history": getattr(demo, "history", [])},
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    return code
