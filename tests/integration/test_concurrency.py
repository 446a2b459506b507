"""50 signed deliveries for 10 commits, sent at once to a local runtime's webhook (real HTTP on
loopback, a bounded thread pool): each push acted on once, never more than one rollout
moving an endpoint's traffic, and the end state is the newest commit's declarations.

Also home of :func:`local_runtime`, the in-process runtime the security test shares.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml

from smgitops import observability
from smgitops.aws import clients
from smgitops.aws.store import StatusStore
from smgitops.declaration.models import Declaration
from smgitops.local.runtime import LocalRuntime, RuntimeOptions
from smgitops.local.scenario import GitRemote, send_webhook
from smgitops.rollout import naming
from smgitops.rollout.status import TERMINAL_PHASES, Phase
from tests.builders import declaration_dict

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ENDPOINTS = ("conc-a", "conc-b", "conc-c")
COMMITS = 10
T0 = 1_800_000_000.0


@contextlib.contextmanager
def local_runtime(**options: Any) -> Iterator[LocalRuntime]:
    """``LocalRuntime.start`` in this process; its stop puts back everything it changed."""
    with LocalRuntime.start(RuntimeOptions(**options)) as runtime:
        yield runtime


def aws_client(runtime: LocalRuntime, service: str) -> Any:
    """A boto3 client of the runtime's emulator, separate from the functions' own clients."""
    return boto3.session.Session().client(
        service,
        endpoint_url=runtime.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def document(name: str, version: int) -> dict[str, Any]:
    return declaration_dict(name, version=version, interval="1s", steps=[50])


def versions(commit: int) -> dict[str, int]:
    """What commit ``commit`` (1-based) declares: every commit changes conc-a; conc-b changes
    every second commit, conc-c every third."""
    return {"conc-a": commit, "conc-b": (commit + 1) // 2, "conc-c": (commit + 2) // 3}


@dataclass
class Sampler:
    """Polls the live endpoints while the deliveries are processed."""

    runtime: LocalRuntime
    most_variants: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        sm = aws_client(self.runtime, "sagemaker")
        while not self.stop.wait(0.05):
            for name in ENDPOINTS:
                try:
                    out = sm.describe_endpoint(EndpointName=name)
                except sm.exceptions.ClientError:
                    continue
                count = len(out["ProductionVariants"])
                self.most_variants[name] = max(self.most_variants[name], count)
            self.samples += 1


def _spans(store: StatusStore, endpoint: str) -> list[tuple[str, float, float]]:
    """(rollout, first record, terminal record) per rollout of ``endpoint``, by start."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for entry in sorted(store.history(endpoint, limit=1000), key=lambda r: r.at):
        first.setdefault(entry.rollout_id, entry.at)
        if entry.phase in TERMINAL_PHASES:
            last.setdefault(entry.rollout_id, entry.at)
    return sorted(((r, first[r], last.get(r, float("inf"))) for r in first), key=lambda s: s[1])


@pytest.mark.slow
def test_fifty_concurrent_deliveries_for_ten_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = GitRemote(tmp_path / "models")
    payloads = []
    for commit in range(1, COMMITS + 1):
        files: dict[str, str | None] = {
            f"endpoints/{name}.yaml": yaml.safe_dump(document(name, version))
            for name, version in versions(commit).items()
        }
        remote.commit(files, f"commit {commit}")
        before, after = remote.push()
        payloads.append(remote.push_payload(before, after, pushed_at=T0 + commit))
    # 10 commits x (3 deliveries + 2 redeliveries of one of them) = 50 requests, shuffled.
    requests = []
    for index, payload in enumerate(payloads):
        ids = [f"conc-{index}-{n}" for n in range(3)]
        requests += [(payload, delivery) for delivery in [*ids, ids[0], ids[1]]]
    random.Random(9).shuffle(requests)
    # Still all in flight together, but the newest commit's deliveries leave last, so older
    # commits are reconciled first and the newer ones supersede them (not only "stale").
    requests.sort(key=lambda r: r[0]["after"] == payloads[-1]["after"])

    with local_runtime(update_delay=0.05) as runtime:
        from smgitops.handlers import reconcile

        sent = Counter[str]()
        reconciled = Counter[str]()
        clients.client("sqs").meta.events.register(
            "before-parameter-build.sqs.SendMessage",
            lambda params, **_: sent.update([json.loads(params["MessageBody"])["commit"]]),
        )
        handler = reconcile.handler

        def counting(event: dict[str, Any], context: Any) -> Any:
            result = handler(event, context)
            if not result.get("batchItemFailures"):
                reconciled.update(json.loads(r["body"])["commit"] for r in event["Records"])
            return result

        monkeypatch.setattr(reconcile, "handler", counting)
        sampler = Sampler(runtime)
        watcher = threading.Thread(target=sampler.run, daemon=True)
        watcher.start()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(
                pool.map(
                    lambda r: send_webhook(
                        runtime.webhook_url, runtime.secret, *r[:1], delivery_id=r[1]
                    ),
                    requests,
                )
            )
        assert [a.status for a in answers] == [202] * 50, [a.body for a in answers]
        store = StatusStore(runtime.options.table, client=aws_client(runtime, "dynamodb"))
        final = {
            name: Declaration.model_validate(document(name, version))
            for name, version in versions(COMMITS).items()
        }
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = store.get_many(ENDPOINTS)
            if (
                all(
                    (s := statuses.get(n)) is not None
                    and s.phase == Phase.SUCCEEDED
                    and s.next is None
                    and s.spec_hash == final[n].content_hash()
                    for n in ENDPOINTS
                )
                and sum(reconciled.values()) == COMMITS
            ):
                break
            time.sleep(0.2)
        converged = time.monotonic() - started
        sampler.stop.set()
        watcher.join()
        statuses = store.get_many(ENDPOINTS)
        assert {n: (s.phase, s.spec_hash) for n, s in statuses.items()} == {
            n: (Phase.SUCCEEDED, d.content_hash()) for n, d in final.items()
        }, statuses
        # each push acted on once, whatever its delivery ids (three each here, plus two
        # redeliveries): the webhook records the push by what the signature covers. A delivery
        # racing the first attempt (recorded, not yet marked queued) enqueues again by design;
        # the FIFO queue's deduplication id (the same claim key) drops the copy, so reconcile
        # sees each push once.
        distinct = {payload["after"] for payload, _ in requests}
        assert len(distinct) == COMMITS
        assert set(sent) == distinct and max(sent.values()) <= 5  # at most once per delivery
        assert reconciled == Counter(dict.fromkeys(distinct, 1))
        # one rollout at a time per endpoint: never a third variant, rollouts never overlap
        sm = aws_client(runtime, "sagemaker")
        assert sampler.samples > 20
        for name, decl in final.items():
            assert sampler.most_variants[name] <= 2, sampler.most_variants
            live = sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
            assert [v["VariantName"] for v in live] == [naming.variant_name(decl)]
            spans = _spans(store, name)
            for (_, _, end), (later, begin, _) in itertools.pairwise(spans):
                assert end <= begin, (later, spans)
        rollouts = {n: len(_spans(store, n)) for n in ENDPOINTS}
        assert sum(rollouts.values()) > len(ENDPOINTS)  # some rollouts were superseded
        print(f"converged in {converged:.1f} s; rollouts per endpoint {rollouts}")


def test_first_logger_calls_from_two_threads_both_get_a_working_logger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import aws_lambda_powertools

    std = logging.getLogger(observability.SERVICE)
    saved_handlers, saved_vars = list(std.handlers), dict(vars(std))
    real = aws_lambda_powertools.Logger
    both_built = threading.Barrier(2, timeout=1)  # with the lock, the second never comes

    def building(*args: Any, **kwargs: Any) -> Any:
        built = real(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_built.wait()  # the first returns only once the second was built too
        return built

    errors: list[Exception] = []

    def first_call() -> None:
        try:
            observability.logger().append_keys(delivery="d-1")
        except Exception as exc:  # the assertion below reports it
            errors.append(exc)

    monkeypatch.setenv("SMGITOPS_LOG_STREAM", "stderr")  # as the local runtime sets it
    monkeypatch.setattr(aws_lambda_powertools, "Logger", building)
    observability._logger.cache_clear()
    std.handlers = []
    for attribute in [a for a in vars(std) if a == "init" or a.startswith("powertools")]:
        delattr(std, attribute)
    try:
        threads = [threading.Thread(target=first_call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        observability._logger.cache_clear()
        std.handlers = saved_handlers
        vars(std).clear()
        vars(std).update(saved_vars)
    assert errors == []
