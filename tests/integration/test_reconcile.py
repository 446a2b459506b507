"""The reconcile function end to end on the emulator: real git repositories (a bare "remote"
and a clone that pushes), the real webhook and reconcile handlers, the real rollout engine on
moto (DynamoDB, SQS FIFO, Step Functions, emulated SageMaker), GitHub's API on loopback."""

from __future__ import annotations

import copy
import json
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from botocore.exceptions import ClientError

from smgitops.aws import clients
from smgitops.aws.deliveries import PushRecord, PushStore
from smgitops.aws.stepfunctions import Executions
from smgitops.aws.store import StatusStore
from smgitops.cli import main
from smgitops.errors import ConflictError, NotFoundError
from smgitops.handlers import reconcile
from smgitops.ingest.work import PushWork
from smgitops.local.emulator import emulated_aws
from smgitops.reconcile import reconciler
from smgitops.reconcile.roles import repository_folder
from smgitops.rollout.status import Phase
from smgitops.urls import identity_of
from smgitops.wiring import reconcile as wired
from tests.builders import declaration_dict
from tests.conftest import load_event
from tests.support.emulator import create_config, create_model, deploy, variant
from tests.support.ingest import (
    TOKEN_NAME,
    Aws,
    FakeGitHub,
    GitRemote,
    call_webhook,
    create_aws,
    fake_github,
    signed,
    webhook_env,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = 1_800_000_000.0
FULL_NAME = "acme/ml-endpoints"


@dataclass
class Stack:
    aws: Aws
    remote: GitRemote
    github: FakeGitHub
    monkeypatch: pytest.MonkeyPatch
    calls: list[str]

    # --- driving ---------------------------------------------------------------------------

    def work(
        self, commit: str, pushed_at: float, *, provider: str = "github", **changes: Any
    ) -> dict[str, Any]:
        return PushWork.model_validate(
            {
                "provider": provider,
                "repository": self.remote.url,
                "fullName": FULL_NAME,
                "ref": "refs/heads/main",
                "commit": commit,
                "pushedAt": pushed_at,
                "delivery": f"d-{commit[:8]}-{int(pushed_at)}",
                **changes,
            }
        ).model_dump(by_alias=True, exclude_none=True)

    def deliver(self, *bodies: Any, receive_count: int = 1) -> dict[str, Any]:
        """The reconcile handler on an SQS batch whose bodies are ``bodies`` (in order)."""
        template = load_event("sqs-push-work.json")["Records"][0]
        records = []
        for index, body in enumerate(bodies):
            record = copy.deepcopy(template)
            record["messageId"] = f"m-{index}"
            record["body"] = body if isinstance(body, str) else json.dumps(body)
            record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
            records.append(record)
        result: dict[str, Any] = reconcile.handler({"Records": records}, None)
        return result

    def push(self, commit: str, pushed_at: float, **kw: Any) -> PushRecord:
        assert self.deliver(self.work(commit, pushed_at, **kw)) == {"batchItemFailures": []}
        return self.record(commit, pushed_at)

    def record(self, commit: str, pushed_at: float | None = None, url: str = "") -> PushRecord:
        """The push record of ``commit`` (received at ``pushed_at``, when given)."""
        pushes = PushStore(self.aws.table).history(identity_of(url or self.remote.url), 100)
        found = [p for p in pushes if p.commit == commit and pushed_at in (None, p.pushed_at)]
        assert found, pushes
        return found[0]

    def prune(self, *, operator: bool) -> None:
        """The operator's setting (``SMGITOPS_PRUNE``), the upper bound of every repository's."""
        self.monkeypatch.setenv("SMGITOPS_PRUNE", "true" if operator else "false")
        wired.settings.cache_clear()
        wired.reconciler.cache_clear()

    def checks(self, operator: str) -> None:
        """The operator's ``SMGITOPS_CHECKS``: the widest ``checks`` a repository may choose."""
        self.monkeypatch.setenv("SMGITOPS_CHECKS", operator)
        wired.settings.cache_clear()
        wired.reconciler.cache_clear()

    def self_heal(self, *, operator: bool) -> None:
        """The operator's ``SMGITOPS_SELF_HEAL``: the upper bound of every repository's."""
        self.monkeypatch.setenv("SMGITOPS_SELF_HEAL", "true" if operator else "false")
        wired.settings.cache_clear()
        wired.reconciler.cache_clear()

    def finish(self) -> None:
        """Tick every active rollout to its end (first deploys: no bake time to wait)."""
        engine = wired.reconciler().engine
        store = StatusStore(self.aws.table)
        for status in store.list_statuses():
            for _ in range(20):
                result = engine.tick(status.endpoint, status.rollout_id)  # type: ignore[attr-defined]
                if result.done:
                    break
            assert result.phase == Phase.SUCCEEDED, result

    def team(self, name: str) -> GitRemote:
        """Another repository of the same deployment (``acme/<name>``), allowed beside the
        first one."""
        other = GitRemote(self.remote.bare_path.parent, name)
        self.monkeypatch.setenv("SMGITOPS_REPOSITORY_URLS", f"{self.remote.url},{other.url}")
        wired.settings.cache_clear()
        wired.reconciler.cache_clear()
        return other

    def push_from(self, other: GitRemote, commit: str, pushed_at: float) -> PushRecord:
        work = self.work(
            commit, pushed_at, repository=other.url, fullName=f"acme/{other.bare_path.stem}"
        )
        assert self.deliver(work) == {"batchItemFailures": []}
        return self.record(commit, pushed_at, url=other.url)

    # --- looking -----------------------------------------------------------------------------

    def executions(self) -> list[str]:
        sfn = clients.client("stepfunctions")
        arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
        return sorted(e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"])

    def spec_hash(self, endpoint: str) -> str:
        status = StatusStore(self.aws.table).get(endpoint)
        assert status is not None
        return status.next.spec_hash if status.next else status.spec_hash

    def endpoint_exists(self, name: str) -> bool:
        try:
            clients.client("sagemaker").describe_endpoint(EndpointName=name)
        except ClientError:
            return False
        return True

    def statuses(self) -> list[tuple[str, str, str]]:
        return [(r.path, r.body["context"], r.body["state"]) for r in self.github.requests]


def _count(calls: list[str]) -> Any:
    def hook(event_name: str, **_: Any) -> None:
        calls.append(event_name.split(".", 2)[2])

    return hook


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    remote = GitRemote(tmp_path / "acme")  # statuses go to acme/ml-endpoints, as on GitHub
    with emulated_aws(update_delay=0), next_github() as github:
        clients.reset()
        aws = create_aws()
        sfn = clients.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="smgitops-rollout",
            definition=json.dumps({"StartAt": "Tick", "States": {"Tick": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/smgitops-rollout",
        )["stateMachineArn"]
        clients.client("secretsmanager").create_secret(Name=TOKEN_NAME, SecretString="gh-token")
        env = {
            "SMGITOPS_STATE_MACHINE_ARN": arn,
            "SMGITOPS_WORKDIR": str(tmp_path / "work"),
            "SMGITOPS_REPOSITORY_URLS": remote.url,
            "SMGITOPS_GITHUB_TOKEN_SECRET": TOKEN_NAME,
            "SMGITOPS_GITHUB_API_URL": github.url,
        }
        webhook_env(monkeypatch, aws, **env)
        wired.settings.cache_clear()
        wired.reconciler.cache_clear()
        calls: list[str] = []
        clients.client("sagemaker").meta.events.register("before-call.sagemaker.*", _count(calls))
        yield Stack(aws, remote, github, monkeypatch, calls)
    wired.settings.cache_clear()
    wired.reconciler.cache_clear()
    clients.reset()


class next_github:
    """A context manager over the :func:`fake_github` generator."""

    def __enter__(self) -> FakeGitHub:
        self._gen = fake_github()
        return next(self._gen)

    def __exit__(self, *exc: object) -> None:
        self._gen.close()


def _outcomes(record: PushRecord) -> dict[str, str]:
    return {o["endpoint"]: o["kind"] for o in record.outcomes}


# --- the whole path ------------------------------------------------------------------------------


def test_signed_push_through_the_webhook_ends_in_exactly_the_declared_rollouts(
    stack: Stack,
) -> None:
    stack.remote.declare("churn-predictor")
    stack.remote.declare("fraud-scorer")
    sha = stack.remote.commit("two endpoints")
    event = signed(
        "github-push-main.json", after=sha, clone_url=stack.remote.url, pushed_at=int(T0)
    )
    status, body, _ = call_webhook(event)
    assert (status, body["commit"]) == (202, sha)
    messages = stack.aws.receive()
    assert len(messages) == 1
    assert reconcile.handler({"Records": messages}, None) == {"batchItemFailures": []}
    record = stack.record(sha)  # received now: the payload's pushed_at is not the order
    assert record.status == "reconciled"
    assert record.provider == "local"  # a local bare repository plays GitHub
    assert _outcomes(record) == {"churn-predictor": "started", "fraud-scorer": "started"}
    assert stack.executions() == sorted(o["rolloutId"] for o in record.outcomes)
    # creating the endpoints is the engine's tick's job; reconcile only asks whether an
    # endpoint nobody manages already exists (then it is not smgitops' to change: adopt)
    assert stack.calls == ["DescribeEndpoint", "DescribeEndpoint"]
    # a local repository plays GitHub: its statuses go to the configured (here: local) API
    sent = {(r.path, r.body["context"], r.body["state"]) for r in stack.github.requests}
    assert sent == {
        (f"/repos/acme/ml-endpoints/statuses/{sha}", context, state)
        for context, state in [
            ("smgitops/validate", "success"),
            ("smgitops/churn-predictor", "pending"),
            ("smgitops/fraud-scorer", "pending"),
        ]
    }
    stack.finish()  # what the state machine's ticks do
    sagemaker = clients.client("sagemaker")
    for name in ("churn-predictor", "fraud-scorer"):
        live = sagemaker.describe_endpoint(EndpointName=name)
        assert live["EndpointStatus"] == "InService"
        assert len(live["ProductionVariants"]) == 1
        config = sagemaker.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://ml-models/churn/v1/model.tar.gz"


# --- what a push changes --------------------------------------------------------------------------


def test_two_endpoints_changed_in_one_push_start_two_rollouts(stack: Stack) -> None:
    for name in ("churn-predictor", "fraud-scorer", "ltv-model"):
        stack.remote.declare(name, version=1)
    first = stack.remote.commit("v1")
    assert set(_outcomes(stack.push(first, T0)).values()) == {"started"}
    stack.finish()
    before = stack.executions()
    stack.remote.declare("churn-predictor", version=2)
    stack.remote.declare("fraud-scorer", version=2)
    second = stack.remote.commit("bump two models")
    record = stack.push(second, T0 + 60)
    assert _outcomes(record) == {
        "churn-predictor": "started",
        "fraud-scorer": "started",
        "ltv-model": "unchanged",
    }
    new = sorted(set(stack.executions()) - set(before))
    assert new == sorted(o["rolloutId"] for o in record.outcomes if o["endpoint"] != "ltv-model")
    assert all(second[:12] in name for name in new)


def test_push_touching_only_a_readme_starts_nothing_and_calls_no_sagemaker(stack: Stack) -> None:
    stack.remote.declare("churn-predictor")
    stack.push(stack.remote.commit("v1"), T0)
    stack.finish()
    executions = stack.executions()
    stack.calls.clear()
    stack.remote.write("README.md", "# models\n")
    record = stack.push(stack.remote.commit("docs"), T0 + 60)
    assert _outcomes(record) == {"churn-predictor": "unchanged"}
    assert stack.executions() == executions
    assert stack.calls == []


def test_invalid_declaration_deploys_nothing_and_records_every_problem(stack: Stack) -> None:
    stack.remote.declare("churn-predictor", version=1)
    stack.remote.declare("fraud-scorer", version=1)
    stack.push(stack.remote.commit("v1"), T0)
    executions = stack.executions()
    hashes = {n: stack.spec_hash(n) for n in ("churn-predictor", "fraud-scorer")}
    stack.remote.declare("churn-predictor", version=2, steps=[50, 10])  # not increasing
    stack.remote.write(
        "endpoints/fraud-scorer.yaml",
        stack.remote.root.joinpath("endpoints/fraud-scorer.yaml").read_text() + "surprise: true\n",
    )
    stack.remote.declare("ltv-model", version=1)  # valid, and still not deployed
    sha = stack.remote.commit("broken")
    record = stack.push(sha, T0 + 60)
    assert record.status == "invalid"
    assert len(record.problems) == 2
    steps, unknown = sorted(record.problems)
    assert steps.startswith("endpoints/churn-predictor.yaml:")
    assert "spec.rollout.steps: " in steps and "strictly increasing" in steps
    assert unknown.startswith("endpoints/fraud-scorer.yaml:")
    assert "surprise" in unknown
    assert all(p.split(":")[1].isdigit() for p in record.problems)  # file:line
    assert stack.executions() == executions
    assert {n: stack.spec_hash(n) for n in hashes} == hashes
    assert StatusStore(stack.aws.table).get("ltv-model") is None
    [request] = [r for r in stack.github.requests if r.body["context"] == "smgitops/validate"][-1:]
    assert request.path == f"/repos/acme/ml-endpoints/statuses/{sha}"
    assert request.body["state"] == "failure"
    assert request.body["description"].startswith("2 problems: endpoints/churn-predictor.yaml:")
    assert len(request.body["description"]) <= 140


def test_out_of_order_pushes_never_let_the_older_commit_win(stack: Stack) -> None:
    stack.remote.declare("churn-predictor", version=1)
    older = stack.remote.commit("v1")
    stack.remote.declare("churn-predictor", version=2)
    newer = stack.remote.commit("v2")
    record = stack.push(newer, T0 + 60)  # the newer push is processed first
    assert _outcomes(record) == {"churn-predictor": "started"}
    applied = stack.spec_hash("churn-predictor")
    late = stack.push(older, T0)
    # git ancestry, not a clock: v1 is an ancestor of the applied v2, still on the branch
    assert late.status == "ignored" and "is an ancestor of" in late.reason
    assert stack.spec_hash("churn-predictor") == applied
    assert len(stack.executions()) == 1


def test_removed_declaration_is_reported_and_deleted_only_with_prune(stack: Stack) -> None:
    stack.remote.declare("churn-predictor")
    stack.remote.declare("fraud-scorer")
    stack.push(stack.remote.commit("two"), T0)
    stack.finish()
    stack.remote.remove("endpoints/fraud-scorer.yaml")
    record = stack.push(stack.remote.commit("drop fraud-scorer"), T0 + 60)
    assert record.status == "reconciled"
    assert [(o["endpoint"], o["action"]) for o in record.orphans] == [("fraud-scorer", "reported")]
    assert stack.endpoint_exists("fraud-scorer")
    # a repository can narrow what the operator allows, never widen it: prune is off here
    stack.remote.write(".smgitops.yaml", "prune: true\n")
    widened = stack.push(stack.remote.commit("opt in to prune"), T0 + 120)
    assert [(o["endpoint"], o["action"]) for o in widened.orphans] == [("fraud-scorer", "reported")]
    assert stack.endpoint_exists("fraud-scorer")
    stack.prune(operator=True)
    stack.remote.write("README.md", "again")
    pruned = stack.push(stack.remote.commit("now the operator allows it"), T0 + 180)
    assert [(o["endpoint"], o["action"]) for o in pruned.orphans] == [("fraud-scorer", "deleted")]
    assert not stack.endpoint_exists("fraud-scorer")
    assert stack.endpoint_exists("churn-predictor")


def test_a_repository_can_turn_the_operators_prune_off(stack: Stack) -> None:
    stack.prune(operator=True)
    stack.remote.write(".smgitops.yaml", "prune: false\n")
    stack.remote.declare("churn-predictor")
    stack.push(stack.remote.commit("one"), T0)
    stack.finish()
    stack.remote.remove("endpoints/churn-predictor.yaml")
    record = stack.push(stack.remote.commit("drop it"), T0 + 60)
    assert [(o["endpoint"], o["action"]) for o in record.orphans] == [
        ("churn-predictor", "reported")
    ]
    assert stack.endpoint_exists("churn-predictor")


def test_a_repository_says_once_that_its_endpoints_need_no_check(stack: Stack) -> None:
    """``checks: optional`` in .smgitops.yaml instead of ``analysis: none`` in every file, where
    the operator allows it (the default); the operator can narrow what repositories may say."""
    stack.remote.declare("churn-predictor", analysis={})  # no check, not acknowledged in the file
    refused = stack.push(stack.remote.commit("no check"), T0)
    assert refused.status == "invalid"
    assert "declares no check" in refused.problems[0], refused.problems
    stack.remote.write(".smgitops.yaml", "branch: main\nchecks: optional\n")
    started = stack.push(stack.remote.commit("said once for the repository"), T0 + 60)
    assert started.status == "reconciled", started.problems
    stack.finish()
    assert stack.endpoint_exists("churn-predictor")
    stack.checks("acknowledged")  # this operator wants it said in each file
    stack.remote.write("README.md", "again")
    narrowed = stack.push(stack.remote.commit("the operator narrowed it"), T0 + 120)
    assert narrowed.status == "invalid"
    assert list(narrowed.problems) == [
        ".smgitops.yaml:2: checks: optional is wider than the operator allows "
        "(SMGITOPS_CHECKS=acknowledged): a repository can narrow it, never widen it"
    ]


def test_a_repository_can_require_a_check_on_every_rollout(stack: Stack) -> None:
    stack.remote.write(".smgitops.yaml", "checks: required\n")
    stack.remote.declare("churn-predictor")  # analysis: none
    record = stack.push(stack.remote.commit("none is not enough here"), T0)
    assert record.status == "invalid"
    assert "requires one (checks: required; analysis: none is not enough)" in record.problems[0]


def test_an_older_push_never_prunes_what_a_newer_push_declares(stack: Stack) -> None:
    stack.prune(operator=True)
    stack.remote.write(".smgitops.yaml", "prune: true\n")
    stack.remote.declare("churn-predictor")
    older = stack.remote.commit("one")
    stack.remote.declare("fraud-scorer")
    newer = stack.remote.commit("two")
    stack.push(newer, T0 + 60)
    stack.finish()
    late = stack.push(older, T0)
    assert late.status == "ignored" and late.orphans == ()  # an ancestor of what is applied
    assert stack.endpoint_exists("fraud-scorer")


def test_declarations_folder_comes_from_the_app_config(stack: Stack) -> None:
    stack.remote.write(".smgitops.yaml", "declarationsDir: deploy/sagemaker\n")
    stack.remote.declare("churn-predictor", folder="deploy/sagemaker")
    stack.remote.declare("ignored-here", folder="endpoints")
    record = stack.push(stack.remote.commit("moved"), T0)
    assert _outcomes(record) == {"churn-predictor": "started"}


def test_bad_app_config_is_an_invalid_push(stack: Stack) -> None:
    stack.remote.write(".smgitops.yaml", "branch: main\nprune: maybe\ndeclarationsDir: ../etc\n")
    stack.remote.declare("churn-predictor")
    record = stack.push(stack.remote.commit("bad config"), T0)
    assert record.status == "invalid"
    assert record.problems == (
        ".smgitops.yaml:2: prune: must be a valid boolean (got 'maybe')",
        ".smgitops.yaml:3: declarationsDir: '../etc' is not a relative path inside the repository",
    )
    assert stack.executions() == []


# --- CodeCommit ----------------------------------------------------------------------------------


def test_codecommit_events_reconcile_the_tracked_branch_and_ignore_tags(
    stack: Stack, tmp_path: Path
) -> None:
    codecommit = "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/ml-endpoints"
    gitconfig = tmp_path / "gitconfig"  # git fetches "CodeCommit" from the local remote
    gitconfig.write_text(f'[url "{stack.remote.url}"]\n\tinsteadOf = {codecommit}\n')
    stack.monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    stack.monkeypatch.setenv("SMGITOPS_REPOSITORY_URLS", codecommit)
    wired.settings.cache_clear()
    wired.reconciler.cache_clear()
    stack.remote.declare("churn-predictor")
    sha = stack.remote.commit("v1")
    event = load_event("codecommit-reference-updated.json")
    event["detail"]["commitId"] = sha
    assert stack.deliver(event) == {"batchItemFailures": []}
    record = stack.record(sha, 1714564800.0, url=codecommit)
    assert record is not None and record.provider == "codecommit"
    assert record.clone_url == codecommit
    assert _outcomes(record) == {"churn-predictor": "started"}
    tag = load_event("codecommit-tag-created.json")
    tag["detail"]["commitId"] = sha
    assert reconcile.process(tag)["reason"] == "ignored: tag v1.4.0 is not a branch"
    assert len(stack.executions()) == 1
    assert stack.github.requests == []  # CodeCommit: no GitHub statuses


# --- commit statuses -----------------------------------------------------------------------------


def test_commit_statuses_reach_github(stack: Stack) -> None:
    stack.remote.declare("churn-predictor")
    stack.remote.declare("fraud-scorer")
    sha = stack.remote.commit("v1")
    record = stack.push(sha, T0)
    path = f"/repos/acme/ml-endpoints/statuses/{sha}"
    assert sorted(stack.statuses()) == [
        (path, "smgitops/churn-predictor", "pending"),
        (path, "smgitops/fraud-scorer", "pending"),
        (path, "smgitops/validate", "success"),
    ]
    for request in stack.github.requests:
        assert request.headers["authorization"] == "Bearer gh-token"
        assert request.headers["accept"] == "application/vnd.github+json"
    pending = next(
        r for r in stack.github.requests if r.body["context"].endswith("churn-predictor")
    )
    rollout = next(o["rolloutId"] for o in record.outcomes if o["endpoint"] == "churn-predictor")
    assert pending.body["description"] == f"rollout started: {rollout}"


def test_github_api_down_does_not_fail_the_deploy(stack: Stack) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    stack.monkeypatch.setenv("SMGITOPS_GITHUB_API_URL", f"http://127.0.0.1:{port}")
    wired.settings.cache_clear()
    wired.reconciler.cache_clear()
    stack.remote.declare("churn-predictor")
    record = stack.push(stack.remote.commit("v1"), T0)
    assert record.status == "reconciled"
    assert _outcomes(record) == {"churn-predictor": "started"}


# --- failures and retries ------------------------------------------------------------------------


def test_an_unknown_commit_is_recorded_failed_once_and_never_blocks_the_queue(
    stack: Stack,
) -> None:
    stack.remote.declare("churn-predictor")
    good = stack.remote.commit("v1")
    missing = "ab" * 20
    # deterministic: not on the branch as fetched, so no retry; the next push proceeds
    assert stack.deliver(stack.work(missing, T0), stack.work(good, T0 + 1)) == {
        "batchItemFailures": []
    }
    record = stack.record(missing, T0)
    assert record.status == "failed"
    assert record.reason.startswith("commit abababababab is not on branch main of ")
    assert _outcomes(stack.record(good, T0 + 1)) == {"churn-predictor": "started"}


def test_an_unreachable_remote_is_recorded_as_failed_and_retried(stack: Stack) -> None:
    stack.remote.declare("churn-predictor")
    sha = stack.remote.commit("v1")
    body = stack.work(sha, T0)
    hidden = stack.remote.bare_path.with_name("hidden.git")
    stack.remote.bare_path.rename(hidden)  # the remote is down
    try:
        assert stack.deliver(body) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
        record = stack.record(sha, T0)
        assert record.status == "failed"
        assert record.reason.startswith("attempt 1 failed, the queue retries: fetching branch")
        assert stack.deliver(body, receive_count=3) == {
            "batchItemFailures": [{"itemIdentifier": "m-0"}]
        }
        assert stack.record(sha, T0).reason.startswith("attempt 3 failed")
    finally:
        hidden.rename(stack.remote.bare_path)


def test_a_failed_record_holds_back_the_rest_of_the_batch(stack: Stack) -> None:
    stack.remote.declare("churn-predictor")
    good = stack.remote.commit("v1")
    hidden = stack.remote.bare_path.with_name("hidden.git")
    stack.remote.bare_path.rename(hidden)  # the remote is down: the first record fails
    try:
        result = stack.deliver(stack.work(good, T0), stack.work(good, T0 + 1))
    finally:
        hidden.rename(stack.remote.bare_path)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert stack.executions() == []


def test_work_naming_another_repository_is_refused_and_recorded(stack: Stack) -> None:
    evil = "https://github.com/evil/exfiltrate.git"
    assert stack.deliver(stack.work("ef" * 20, T0, repository=evil)) == {"batchItemFailures": []}
    record = stack.record("ef" * 20, T0, url=evil)
    assert record.status == "failed"
    assert "is not in SMGITOPS_REPOSITORY_URLS" in record.reason


def test_bad_messages_are_dropped_with_a_reason(stack: Stack) -> None:
    assert reconcile.process("not json")["status"] == "dropped"
    assert reconcile.process({"kind": "push"})["reason"].startswith("provider: Field required")
    assert stack.deliver("[1]", {"detail-type": "Something Else"}) == {"batchItemFailures": []}


def test_a_role_outside_the_repositorys_folder_makes_the_push_invalid(stack: Stack) -> None:
    stack.monkeypatch.setenv("SMGITOPS_EXECUTION_ROLE_PATH", "/smgitops/")
    wired.settings.cache_clear()
    wired.reconciler.cache_clear()
    stack.remote.declare("churn-predictor")  # the builders' role: role/SageMakerExecution
    record = stack.push(stack.remote.commit("v1"), T0)
    assert record.status == "invalid"
    assert record.problems[0].startswith(
        "endpoints/churn-predictor.yaml:11: spec.model.executionRoleArn: role "  # its line
    )
    assert stack.executions() == []


def test_a_role_of_another_repositorys_folder_is_refused_at_its_line_and_its_own_deploys(
    stack: Stack,
) -> None:
    stack.monkeypatch.setenv("SMGITOPS_EXECUTION_ROLE_PATH", "/smgitops/")
    wired.settings.cache_clear()
    wired.reconciler.cache_clear()
    account = "arn:aws:iam::123456789012:role"
    own = repository_folder("/smgitops/", identity_of(stack.remote.url))
    theirs = repository_folder("/smgitops/", identity_of(stack.remote.url + "-risk"))

    def declare(role: str) -> int:
        """Declare churn-predictor running under ``role``; the line of its role."""
        document = declaration_dict("churn-predictor")
        document["spec"]["model"]["executionRoleArn"] = role
        text = yaml.safe_dump(document, sort_keys=False)
        stack.remote.write("endpoints/churn-predictor.yaml", text)
        return next(n for n, row in enumerate(text.splitlines(), 1) if "RoleArn:" in row)

    line = declare(f"{account}{theirs}inference")
    assert line > 1
    record = stack.push(stack.remote.commit("run under the risk team's role"), T0)
    assert record.status == "invalid"
    assert list(record.problems) == [
        f"endpoints/churn-predictor.yaml:{line}: spec.model.executionRoleArn: role "
        f"{account}{theirs}inference is not under {own} (or a parent below /smgitops/)"
    ]
    assert stack.executions() == []
    assert StatusStore(stack.aws.table).get("churn-predictor") is None
    declare(f"{account}{own}inference")
    record = stack.push(stack.remote.commit("our own role"), T0 + 60)
    assert _outcomes(record) == {"churn-predictor": "started"}


def test_a_start_step_functions_refuses_is_reported_failed_not_started(stack: Stack) -> None:
    stack.remote.declare("churn-predictor")
    sha = stack.remote.commit("one endpoint")

    def refused(self: Executions, endpoint: str, rollout_id: str) -> bool:
        return False  # the name belongs to an execution that has ended

    stack.monkeypatch.setattr(Executions, "start", refused)
    event = signed(
        "github-push-main.json", after=sha, clone_url=stack.remote.url, pushed_at=int(T0)
    )
    call_webhook(event)
    assert reconcile.handler({"Records": stack.aws.receive()}, None) == {"batchItemFailures": []}
    record = stack.record(sha)
    assert _outcomes(record) == {"churn-predictor": "failed"}
    states = {(r.body["context"], r.body["state"]) for r in stack.github.requests}
    assert ("smgitops/churn-predictor", "failure") in states
    assert ("smgitops/churn-predictor", "pending") not in states
    status = StatusStore(stack.aws.table).get("churn-predictor")
    assert status is not None and status.phase == Phase.FAILED


# --- ownership: many teams, one deployment (docs/security.md, finding 1) ------------------------


def _service(stack: Stack) -> Any:
    return wired.reconciler().engine


def test_another_repositorys_push_is_refused_for_the_owned_endpoint_only(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = identity_of(stack.remote.url)
    stack.remote.declare("churn-predictor", version=1)
    stack.push(stack.remote.commit("v1"), T0)
    stack.finish()
    applied = stack.spec_hash("churn-predictor")
    # created tagged with its owner: the endpoint, its config and its model
    sm = clients.client("sagemaker")
    live = sm.describe_endpoint(EndpointName="churn-predictor")
    config = sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    for arn in (live["EndpointArn"], config["EndpointConfigArn"], model["ModelArn"]):
        assert _tags_of(arn)["smgitops:owner"] == owner, arn
    risk = stack.team("risk-models")
    risk.declare("churn-predictor", version=2)  # the same name: another team's endpoint
    risk.declare("fraud-scorer", version=1)
    sha = risk.commit("take it over")
    record = stack.push_from(risk, sha, T0 + 60)
    assert record.status == "reconciled"
    assert _outcomes(record) == {"churn-predictor": "refused", "fraud-scorer": "started"}
    [refused] = [o for o in record.outcomes if o["endpoint"] == "churn-predictor"]
    assert refused["reason"].startswith(f"endpoint churn-predictor is owned by {owner};")
    assert "smgitops transfer churn-predictor" in refused["reason"]
    status = StatusStore(stack.aws.table).get("churn-predictor")
    assert status is not None and status.owner == owner
    assert status.spec_hash == applied and status.phase == Phase.SUCCEEDED  # untouched
    assert status.refused.startswith(f"{sha[:12]} from {identity_of(risk.url)}: endpoint")
    [event] = StatusStore(stack.aws.table).history("churn-predictor", limit=1)
    assert event.event.startswith(f"refused {sha[:12]} from {identity_of(risk.url)}")
    # the commit status names the owner, on the pushing repository's commit
    posted = {r.body["context"]: r for r in stack.github.requests if sha in r.path}
    churn = posted["smgitops/churn-predictor"]
    assert churn.path == f"/repos/acme/risk-models/statuses/{sha}"
    assert churn.body["state"] == "failure"
    assert churn.body["description"].startswith("refused: endpoint churn-predictor is owned by")
    assert posted["smgitops/fraud-scorer"].body["state"] == "pending"
    fraud = StatusStore(stack.aws.table).get("fraud-scorer")
    assert fraud is not None and fraud.owner == identity_of(risk.url)
    # the pushing team's own view of its pushes
    capsys.readouterr()
    table = ["--table", stack.aws.table, "--output", "json"]
    assert main(["pushes", "--repository", risk.url + "/", *table]) == 0
    [mine] = json.loads(capsys.readouterr().out)
    assert (mine["commit"], mine["outcome"]) == (sha, "deployed")


def test_prune_touches_only_endpoints_the_repository_owns(stack: Stack) -> None:
    stack.prune(operator=True)
    stack.remote.write(".smgitops.yaml", "prune: true\n")
    stack.remote.declare("churn-predictor")
    stack.push(stack.remote.commit("v1"), T0)
    risk = stack.team("risk-models")
    risk.write(".smgitops.yaml", "prune: true\n")
    risk.declare("fraud-scorer")
    stack.push_from(risk, risk.commit("v1"), T0 + 1)
    stack.finish()
    risk.remove("endpoints/fraud-scorer.yaml")
    risk.write("README.md", "nothing declared")
    record = stack.push_from(risk, risk.commit("remove everything"), T0 + 60)
    assert [(o["endpoint"], o["action"]) for o in record.orphans] == [("fraud-scorer", "deleted")]
    assert not stack.endpoint_exists("fraud-scorer")
    assert stack.endpoint_exists("churn-predictor")  # the other team's: never an orphan here


def test_after_a_transfer_only_the_new_owners_pushes_change_the_endpoint(stack: Stack) -> None:
    stack.remote.declare("churn-predictor", version=1)
    stack.push(stack.remote.commit("v1"), T0)
    stack.finish()
    risk = stack.team("risk-models")
    new_owner = identity_of(risk.url)
    status = _service(stack).transfer("churn-predictor", new_owner, by="ops")
    assert status.owner == new_owner
    [event] = StatusStore(stack.aws.table).history("churn-predictor", limit=1)
    assert event.event == (
        f"ownership transferred from {identity_of(stack.remote.url)} to {new_owner} by ops"
    )
    tags = _tags("churn-predictor")
    assert tags["smgitops:owner"] == new_owner and tags["smgitops:managed"] == "true"
    risk.declare("churn-predictor", version=2)
    moved = stack.push_from(risk, risk.commit("v2 by the new owner"), T0 + 60)
    assert _outcomes(moved) == {"churn-predictor": "started"}
    stack.remote.declare("churn-predictor", version=3)
    old = stack.push(stack.remote.commit("v3 by the old owner"), T0 + 120)
    assert _outcomes(old) == {"churn-predictor": "refused"}
    live = StatusStore(stack.aws.table).get("churn-predictor")
    assert live is not None and live.owner == new_owner
    _service(stack).tick("churn-predictor", live.rollout_id)  # creates the candidate
    model = clients.client("sagemaker").describe_model(ModelName=live.candidate.model)
    assert _tags_of(model["ModelArn"])["smgitops:owner"] == new_owner  # tagged on create


def test_an_endpoint_smgitops_did_not_create_is_changed_only_once_adopted(stack: Stack) -> None:
    sm = clients.client("sagemaker")
    create_model(sm, "hand-made-model")
    create_config(sm, "hand-made-config", [variant("hand-made", "hand-made-model")])
    deploy(sm, "churn-predictor", "hand-made-config")
    stack.remote.declare("churn-predictor", version=1)
    first = stack.push(stack.remote.commit("declare the hand-made endpoint"), T0)
    [refused] = first.outcomes
    assert refused["kind"] == "refused"
    assert "exists and smgitops did not create it" in refused["reason"]
    assert "smgitops adopt churn-predictor --repository URL" in refused["reason"]
    assert StatusStore(stack.aws.table).get("churn-predictor") is None  # nobody owns it
    owner = identity_of(stack.remote.url)
    tagged = _service(stack).adopt("churn-predictor", owner, by="ops")
    assert len(tagged) == 3  # the endpoint, its config, its model
    assert _tags("churn-predictor") == {
        "smgitops:managed": "true",
        "smgitops:endpoint": "churn-predictor",
        "smgitops:owner": owner,
    }
    [adopted] = StatusStore(stack.aws.table).history("churn-predictor")
    assert adopted.event.startswith(f"adopted for {owner} by ops") and adopted.owner == owner
    stack.remote.write("README.md", "adopted")
    second = stack.push(stack.remote.commit("now it is ours"), T0 + 60)
    assert _outcomes(second) == {"churn-predictor": "started"}
    with pytest.raises(ConflictError, match="already managed by smgitops"):
        _service(stack).adopt("churn-predictor", owner, by="ops")
    with pytest.raises(NotFoundError, match="nothing to adopt"):
        _service(stack).adopt("no-such-endpoint", owner, by="ops")


def test_a_status_stored_before_ownership_is_owned_by_the_repository_that_created_it(
    stack: Stack,
) -> None:
    stack.remote.declare("churn-predictor")
    stack.push(stack.remote.commit("v1"), T0)
    ddb = clients.client("dynamodb")
    key = {"pk": {"S": "ENDPOINT#churn-predictor"}, "sk": {"S": "STATUS"}}
    item = ddb.get_item(TableName=stack.aws.table, Key=key)["Item"]
    doc = json.loads(item["doc"]["S"])
    del doc["owner"]
    doc["source"] = {"repository": stack.remote.url + "/", "fullName": "acme/anything"}
    item["doc"] = {"S": json.dumps(doc)}
    ddb.put_item(TableName=stack.aws.table, Item=item)
    status = StatusStore(stack.aws.table).get("churn-predictor")
    assert status is not None and status.owner == identity_of(stack.remote.url)
    doc["source"] = {"fullName": "acme/ml-endpoints"}  # no clone URL: no owner can be derived
    item["doc"] = {"S": json.dumps(doc)}
    ddb.put_item(TableName=stack.aws.table, Item=item)
    stack.remote.declare("churn-predictor", version=2)
    record = stack.push(stack.remote.commit("v2"), T0 + 60)
    [refused] = record.outcomes
    assert refused["kind"] == "refused" and "has no recorded owner" in refused["reason"]


def _tags_of(arn: str) -> dict[str, str]:
    tags = clients.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


def _tags(endpoint: str) -> dict[str, str]:
    arn = clients.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    return _tags_of(arn)


# --- commit statuses for many endpoints (finding 11) ------------------------------------------


def test_endpoint_statuses_are_sent_concurrently_not_one_after_the_other(stack: Stack) -> None:
    names = [f"model-{n:02d}" for n in range(12)]
    for name in names:
        stack.remote.declare(name)
    # GitHub answers none before eight are in flight at once (or 2 s passed; one after the
    # other, 12 × 2 s and never two at once), however slowly a loaded machine starts threads
    stack.github.delay, stack.github.release_at = 2.0, reconciler.STATUS_WORKERS
    sha = stack.remote.commit("twelve endpoints")
    record = stack.push(sha, T0)
    assert set(_outcomes(record).values()) == {"started"}
    sent = {r.body["context"]: r.body["state"] for r in stack.github.requests if sha in r.path}
    assert sent == {"smgitops/validate": "success"} | {f"smgitops/{n}": "pending" for n in names}
    assert stack.github.most_in_flight == reconciler.STATUS_WORKERS
