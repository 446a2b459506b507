"""Benchmark: reconciling a push to a repository of 1,000 declarations.

The real path: the reconcile handler on an SQS record, GitPython fetching the pushed commit
from a local bare repository, every declaration loaded and validated, the real rollout engine
(``RolloutService``) on the emulator (moto, in process). Scenarios, each a new commit:

- first push: 1,000 endpoints, all new (1,000 rollouts to start);
- then, with every rollout finished: a README-only push (0 changed), 1, 10 and 50 changed.

For each: total handler time, and the AWS calls made, counted with a botocore event hook per
service (SageMaker, DynamoDB, Step Functions). Target: calls grow with the changed count, not
the declared count; an endpoint smgitops manages costs no SageMaker call at all (a new one:
one DescribeEndpoint, the ownership check).

Run: ``.venv/bin/python bench/reconcile.py [--endpoints N]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from git import Repo

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("sagemaker", "dynamodb", "stepfunctions")
AUTHOR_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


class Calls:
    """AWS calls per service and the time spent inside them (before-call → after-call)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.seconds = 0.0
        self._started = 0.0

    def before(self, event_name: str, **_: Any) -> None:
        self.counts[event_name.split(".")[1]] += 1
        self._started = time.perf_counter()

    def after(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started

    def reset(self) -> None:
        self.counts.clear()
        self.seconds = 0.0


class Untransacted:
    """Seeding only: moto's TransactWriteItems deep-copies the whole table on every call
    (quadratic over 1,000 endpoints), so the seed writes each Put on its own."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:
        for item in TransactItems:
            if "Put" in item:
                put = {k: v for k, v in item["Put"].items() if "Expression" not in k}
                self._client.put_item(**put)


def _repository(root: Path, count: int) -> tuple[Path, Repo, random.Random]:
    from git import Repo

    from bench.validate import declaration

    bare = root / "remote.git"
    Repo.init(bare, bare=True, initial_branch="main")
    work = Repo.init(root / "clone", initial_branch="main")
    work.create_remote("origin", str(bare))
    rng = random.Random(7)
    for index in range(count):
        path = Path(work.working_dir) / "endpoints" / f"endpoint-{index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(declaration(index, rng))
    work.git.add("-A")
    return bare, work, rng


def _commit(work: Repo, message: str) -> str:
    with work.git.custom_environment(**AUTHOR_ENV):
        work.git.commit("-q", "--allow-empty", "-m", message)
        work.git.push("-q", "origin", "HEAD:refs/heads/main")
    return str(work.head.commit.hexsha)


def _change(work: Repo, indexes: Sequence[int], version: int) -> None:
    for index in indexes:
        path = Path(work.working_dir) / "endpoints" / f"endpoint-{index:04d}.yaml"
        text = path.read_text()
        start = text.index("modelDataUrl:")
        end = text.index("\n", start)
        path.write_text(
            text[:start]
            + f"modelDataUrl: s3://ml-models/bench/r{version}/model.tar.gz"
            + text[end:]
        )
    work.git.add("-A")


def _finish_all(table: str) -> None:
    """Every rollout reached Succeeded (what the tick function would do, minus the waiting)."""
    from smgitops.aws import clients
    from smgitops.aws.store import StatusStore
    from smgitops.rollout.status import Phase

    store = StatusStore(table, Untransacted(clients.client("dynamodb")))
    for status in store.list_statuses():
        if status.phase != Phase.SUCCEEDED:
            store.save(status.evolve(phase=Phase.SUCCEEDED), expected_version=status.version)


def _setup_aws(workdir: Path, bare: Path, endpoints: int) -> tuple[str, dict[str, Any]]:
    from bench.support import put_manual_alarm
    from smgitops.aws import clients
    from smgitops.local.resources import create_table

    table = "bench-reconcile"
    clients.reset()
    create_table(clients.client("dynamodb"), table)
    cloudwatch = clients.client("cloudwatch")
    for index in range(endpoints):  # the alarms the declarations check (a missing one: refused)
        for alarm in ("5xx", "latency"):
            put_manual_alarm(cloudwatch, f"bench-endpoint-{index:04d}-{alarm}")
    arn = clients.client("stepfunctions").create_state_machine(
        name="bench-rollout",
        definition=json.dumps({"StartAt": "Tick", "States": {"Tick": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/bench",
    )["stateMachineArn"]
    os.environ.update(
        {
            "SMGITOPS_TABLE": table,
            "SMGITOPS_STATE_MACHINE_ARN": arn,
            "SMGITOPS_REPOSITORY_URLS": str(bare),
            "SMGITOPS_WORKDIR": str(workdir),
        }
    )
    template = json.loads((ROOT / "events" / "sqs-push-work.json").read_text())["Records"][0]
    return table, template


SCENARIOS: tuple[tuple[str, int], ...] = (
    ("first push (seed)", 0),
    ("README only", 0),
    ("1 changed", 1),
    ("10 changed", 10),
    ("50 changed", 50),
)
T0 = 1_800_000_000.0


def _record(template: dict[str, Any], bare: Path, sha: str, number: int) -> dict[str, Any]:
    record = copy.deepcopy(template)
    record["body"] = json.dumps(
        {
            "provider": "local",
            "repository": str(bare),
            "fullName": "bench/models",
            "ref": "refs/heads/main",
            "commit": sha,
            "pushedAt": T0 + number,
            "delivery": f"bench-{number}",
        }
    )
    return record


def _timed_push(record: dict[str, Any], calls: Calls) -> tuple[float, dict[str, int]]:
    from smgitops.handlers import reconcile

    calls.reset()
    start = time.perf_counter()
    result = reconcile.handler({"Records": [record]}, None)
    elapsed = time.perf_counter() - start
    assert result == {"batchItemFailures": []}, result
    return elapsed, {**calls.counts, "own_ms": round((elapsed - calls.seconds) * 1000)}


def _line(label: str, elapsed: float, counts: dict[str, int], started: int) -> str:
    return (
        f"{label:<24}{elapsed:>8.2f}s  {counts['own_ms'] / 1000:>8.2f}s  "
        f"{counts.get('sagemaker', 0):>9}  {counts.get('dynamodb', 0):>8}  "
        f"{counts.get('sfn', 0):>5}  {started:>7}"
    )


def run(endpoints: int) -> list[tuple[str, float, dict[str, int], int]]:
    from smgitops.aws import clients
    from smgitops.aws.deliveries import PushStore
    from smgitops.local.emulator import emulated_aws
    from smgitops.urls import identity_of
    from smgitops.wiring import reconcile as wired

    rows = []
    with tempfile.TemporaryDirectory(prefix="smgitops-bench-") as tmp, emulated_aws():
        bare, work, _ = _repository(Path(tmp), endpoints)
        table, template = _setup_aws(Path(tmp) / "work", bare, endpoints)
        wired.settings.cache_clear()
        wired.reconciler.cache_clear()
        wired.reconciler()
        calls = Calls()
        for service in SERVICES:
            clients.client(service).meta.events.register("before-call.*.*", calls.before)
            clients.client(service).meta.events.register("after-call.*.*", calls.after)
        store = wired.reconciler().engine.store  # type: ignore[attr-defined]
        real = store.client
        rng = random.Random(11)
        for number, (label, changed) in enumerate(SCENARIOS):
            if number:
                _finish_all(table)
                _change(work, rng.sample(range(endpoints), changed), number)
                (Path(work.working_dir) / "README.md").write_text(f"# bench {number}\n")
                work.git.add("-A")
            sha = _commit(work, label)
            record = _record(template, bare, sha, number)
            store.client = Untransacted(real) if number == 0 else real
            elapsed, counts = _timed_push(record, calls)
            # keyed by the repository's identity (its clone URL), not its full name
            pushed = PushStore(table).get(identity_of(str(bare)), T0 + number, sha)
            assert pushed is not None and pushed.status == "reconciled", pushed
            started = sum(1 for o in pushed.outcomes if o["kind"] in ("started", "queued"))
            rows.append((label, elapsed, counts, started))
            print(_line(label, elapsed, counts, started), flush=True)
        elapsed, counts = _timed_push(record, calls)  # SQS redelivers the last push
        print(
            _line("retry of the last push", elapsed, counts, 0)
            + "  (StartExecution again for each active rollout: already exists)"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {args.endpoints} "
        "declarations in one repository; emulator in process"
    )
    print(
        f"{'push':<24}{'time':>9}  {'own time':>9}  {'SageMaker':>9}  {'DynamoDB':>8}  "
        f"{'SFN':>5}  started"
    )
    rows = run(args.endpoints)
    readme, one = rows[1], rows[2]
    # one DescribeEndpoint per endpoint no status manages yet (the ownership check): the
    # first push only; none for an endpoint smgitops already manages
    new = [args.endpoints] + [0] * (len(rows) - 1)
    grows = all(
        row[2].get("sagemaker", 0) <= fresh for row, fresh in zip(rows, new, strict=True)
    ) and all(row[2].get("sfn", 0) == row[3] for row in rows)
    print(
        f"1 changed of {args.endpoints}: {one[1]:.2f}s, {one[2].get('sagemaker', 0)} SageMaker "
        f"calls, {one[2].get('sfn', 0)} StartExecution; README-only {readme[1]:.2f}s, "
        f"{readme[2].get('sagemaker', 0)} SageMaker calls. SageMaker calls per push: one "
        "DescribeEndpoint per new endpoint, 0 for managed ones; "
        f"StartExecution = rollouts started; DynamoDB = batch reads of 100 + one write per "
        f"started rollout (target O(changed): {'met' if grows else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
