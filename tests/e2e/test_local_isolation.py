"""The security review's attacks, each against ``smgitops local up`` (docs/security.md): two
repositories of one deployment, a forged ``full_name``, a commit that is not on the tracked
branch, a far-future ``pushed_at``, a rotated secret, a small repository with a huge blob, a
poison commit followed by its fix, a replay under a new delivery id, 5,000 endpoints; and
ownership: another repository's push refused and unable to prune, a transfer, an adoption."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from smgitops.aws.deliveries import PushRecord, PushStore
from smgitops.local.scenario import GitRemote, send_webhook
from smgitops.urls import identity_of
from tests.builders import declaration_dict
from tests.e2e.conftest import LocalUp, Repo, running_local_up
from tests.support.emulator import create_config, create_model, variant, wait_for_status

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    log = tmp_path_factory.mktemp("local-up") / "stderr.log"
    # the previous webhook secret is refused as soon as a new one is in use
    env = {"SMGITOPS_PREVIOUS_SECRET_SECONDS": "0", "SMGITOPS_SECRET_REFRESH_SECONDS": "0"}
    options = ("--update-delay", "0.2", "--drift-interval", "0", "--prune")
    with running_local_up(log, *options, env_extra=env) as up:
        yield up


def _repo(up: LocalUp, root: Path, name: str) -> Repo:
    return Repo(GitRemote(root, name=name), up)


def _push_record(up: LocalUp, repo: Repo, commit: str, timeout: float = 60) -> PushRecord:
    """The push record of ``commit`` once reconciled (or refused, invalid, failed)."""
    store = PushStore("smgitops", client=up.client("dynamodb"))
    deadline = time.monotonic() + timeout
    found: list[PushRecord] = []
    while time.monotonic() < deadline:
        found = [
            r
            for r in store.history(identity_of(repo.remote.clone_url), 50)
            if r.commit == commit and r.status != "processing"
        ]
        if found:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no push record for {commit[:12]}: {store.recent(10)}")


def _settle(up: LocalUp, name: str, commit: str) -> dict[str, Any]:
    return up.wait_for(name, commit, {"Succeeded"}, timeout=60)


def test_a_forged_full_name_cannot_prune_another_repositorys_endpoint(
    local_up: LocalUp, tmp_path: Path
) -> None:
    team_a = _repo(local_up, tmp_path / "a", "models")
    team_b = _repo(local_up, tmp_path / "b", "models")  # the same full_name: acme/models
    name = "iso-victim"
    sha, _ = team_a.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    _settle(local_up, name, sha)
    prune, _ = team_b.push({".smgitops.yaml": "prune: true\n"}, "prune whatever acme/models had")
    record = _push_record(local_up, team_b, prune)
    assert record.status == "reconciled" and record.orphans == ()
    assert local_up.weights(name), "the victim's endpoint was deleted"
    assert local_up.status(name)["phase"] == "Succeeded"


def test_a_commit_that_is_not_on_the_tracked_branch_is_refused(
    local_up: LocalUp, tmp_path: Path
) -> None:
    repo = _repo(local_up, tmp_path, "models")
    name = "iso-unmerged"
    merged, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    _settle(local_up, name, merged)
    # a pull request's head: pushed to another ref of the remote, never merged
    remote = repo.remote
    remote.repo.git.checkout("-b", "feature")
    document = declaration_dict(name, version=2, interval="1s")
    unmerged = remote.commit({f"endpoints/{name}.yaml": yaml.safe_dump(document)}, "unreviewed")
    remote.repo.git.push("origin", "feature:refs/pull/1/head")
    remote.repo.git.checkout("main")
    payload = remote.push_payload(merged, merged)
    payload["after"] = unmerged  # signed, on the tracked ref, but not on the branch
    assert send_webhook(local_up.webhook, local_up.secret, payload).status == 202
    record = _push_record(local_up, repo, unmerged)
    assert record.status == "failed"
    assert "is not on branch main" in record.reason
    assert local_up.status(name)["commit"] == merged


def test_a_far_future_pushed_at_does_not_pin_the_model(local_up: LocalUp, tmp_path: Path) -> None:
    repo = _repo(local_up, tmp_path, "models")
    name = "iso-pinned"
    remote = repo.remote
    document = declaration_dict(name, version=1, interval="1s")
    first = remote.commit({f"endpoints/{name}.yaml": yaml.safe_dump(document)}, "v1")
    before, after = remote.push()
    forged = remote.push_payload(before, after, pushed_at=253402300799)  # 9999-12-31
    assert send_webhook(local_up.webhook, local_up.secret, forged).status == 202
    _settle(local_up, name, first)
    second, _ = repo.declare(declaration_dict(name, version=2, interval="1s"), "v2")
    assert _push_record(local_up, repo, second).outcomes[0]["kind"] == "started"
    _settle(local_up, name, second)


def test_after_rotation_a_delivery_signed_with_the_old_secret_is_refused(
    local_up: LocalUp, tmp_path: Path
) -> None:
    repo = _repo(local_up, tmp_path, "models")
    sm = local_up.client("secretsmanager")
    sm.put_secret_value(SecretId="smgitops/webhook-secret", SecretString="rotated-" + "x" * 20)
    try:
        remote = repo.remote
        remote.commit({"README.md": "one"}, "one")
        payload = remote.push_payload(*remote.push())
        new = send_webhook(local_up.webhook, "rotated-" + "x" * 20, payload)
        assert new.status == 202
        remote.commit({"README.md": "two"}, "two")
        payload = remote.push_payload(*remote.push())
        old = send_webhook(local_up.webhook, local_up.secret, payload)
        assert (old.status, old.body["message"]) == (401, "signature mismatch")
    finally:
        sm.put_secret_value(SecretId="smgitops/webhook-secret", SecretString=local_up.secret)


def test_a_replay_under_a_new_delivery_id_does_not_revive_a_pruned_endpoint(
    local_up: LocalUp, tmp_path: Path
) -> None:
    repo = _repo(local_up, tmp_path, "models")
    name = "iso-replayed"
    remote = repo.remote
    document = declaration_dict(name, version=1, interval="1s")
    sha = remote.commit(
        {f"endpoints/{name}.yaml": yaml.safe_dump(document), ".smgitops.yaml": "prune: true\n"},
        "v1",
    )
    captured = remote.push_payload(*remote.push())
    body = json.dumps(captured).encode()
    assert send_webhook(local_up.webhook, local_up.secret, body).status == 202
    _settle(local_up, name, sha)
    removed, _ = repo.push({f"endpoints/{name}.yaml": None}, "remove it")
    assert _push_record(local_up, repo, removed).orphans[0]["action"] == "deleted"
    replay = send_webhook(local_up.webhook, local_up.secret, body, delivery_id="replay-1")
    assert replay.status == 202 and replay.body["delivery"] != "replay-1"  # the first answer
    time.sleep(3)
    status = local_up.status(name)
    assert status is not None and status["deleted"] is True and local_up.weights(name) == {}


def test_a_small_repository_with_a_huge_blob_is_refused_before_it_is_read(
    local_up: LocalUp, tmp_path: Path
) -> None:
    repo = _repo(local_up, tmp_path, "models")
    zeros = tmp_path / "zeros"
    with zeros.open("wb") as handle:  # 64 MiB of zeros: a few hundred KiB once git packs it
        handle.truncate(64 * 1024 * 1024)
    remote = repo.remote
    for index in range(4):
        target = remote.work_path / "endpoints" / f"bomb-{index}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.hardlink_to(zeros)
    remote.repo.index.add([f"endpoints/bomb-{i}.yaml" for i in range(4)])
    sha = remote.repo.index.commit("a bomb").hexsha
    payload = remote.push_payload(*remote.push())
    assert send_webhook(local_up.webhook, local_up.secret, payload).status == 202
    record = _push_record(local_up, repo, sha)
    assert record.status == "invalid"
    assert any("endpoints/bomb-0.yaml:1: file is 67108864 bytes" in p for p in record.problems)


def test_a_poison_commit_is_recorded_and_its_fix_deploys(local_up: LocalUp, tmp_path: Path) -> None:
    repo = _repo(local_up, tmp_path, "models")
    name = "iso-poison"
    document = yaml.safe_dump(declaration_dict(name, version=1, interval="1s"))
    poison, _ = repo.push({"endpoints/bad\\name.yaml": document}, "a backslash in a name")
    record = _push_record(local_up, repo, poison)
    assert record.status == "invalid" and "file name not allowed" in record.problems[0]
    deep, _ = repo.push(
        {"endpoints/bad\\name.yaml": None, ".smgitops.yaml": "[" * 5000 + "]" * 5000},
        "a deeply nested app config",
    )
    record = _push_record(local_up, repo, deep)
    assert record.status == "invalid" and record.problems[0].startswith(".smgitops.yaml:1:")
    fix, _ = repo.push(
        {".smgitops.yaml": "prune: false\n", f"endpoints/{name}.yaml": document}, "fix"
    )
    _settle(local_up, name, fix)


def test_five_thousand_endpoints_in_one_push_are_refused_above_the_cap(
    local_up: LocalUp, tmp_path: Path
) -> None:
    repo = _repo(local_up, tmp_path, "models")
    remote = repo.remote
    folder = remote.work_path / "endpoints"
    folder.mkdir(parents=True)
    text = yaml.safe_dump(declaration_dict("many-INDEX", version=1))  # one dump, not 5,000
    for index in range(5000):
        (folder / f"many-{index}.yaml").write_text(text.replace("INDEX", str(index)))
    remote.repo.git.add("endpoints")
    sha = remote.repo.index.commit("5,000 endpoints").hexsha
    payload = remote.push_payload(*remote.push())
    started = time.monotonic()
    assert send_webhook(local_up.webhook, local_up.secret, payload).status == 202
    record = _push_record(local_up, repo, sha, timeout=120)
    assert record.status == "invalid"
    assert "5000 declaration files" in record.problems[0] and "cap" in record.problems[0]
    assert time.monotonic() - started < 60  # refused from the tree, nothing loaded
    assert local_up.status("many-0") is None


# --- ownership: one owner per endpoint (DESIGN §6, finding 1) ---------------------------------


def test_another_repository_cannot_change_or_prune_an_owned_endpoint(
    local_up: LocalUp, tmp_path: Path
) -> None:
    victim = _repo(local_up, tmp_path / "victim", "models")
    other = _repo(local_up, tmp_path / "other", "models")
    owner, intruder = identity_of(victim.remote.clone_url), identity_of(other.remote.clone_url)
    name = "iso-owned"
    first, _ = victim.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    weights = _settle(local_up, name, first)["weights"]
    theirs, _ = other.declare(declaration_dict("iso-theirs", version=1, interval="1s"), "own")
    _settle(local_up, "iso-theirs", theirs)
    sha, _ = other.declare(declaration_dict(name, version=2, interval="1s"), "take it over")
    record = _push_record(local_up, other, sha)
    kinds = {o["endpoint"]: (o["kind"], o["reason"]) for o in record.outcomes}
    assert kinds[name][0] == "refused"
    assert kinds[name][1].startswith(f"endpoint {name} is owned by {owner};")
    assert kinds["iso-theirs"][0] == "unchanged"  # deployed by its previous push
    status = local_up.status(name)
    assert status is not None and status["owner"] == owner and status["commit"] == first
    assert status["weights"] == weights and status["phase"] == "Succeeded"  # untouched
    assert status["refused"].startswith(f"{sha[:12]} from {intruder}: endpoint {name} is owned")
    shown = local_up.cli("status", name)
    assert re.search(rf"^owner +{re.escape(owner)}$", shown.stdout, re.MULTILINE)
    pushes = local_up.cli("pushes", "--commit", sha[:12])
    assert f"{name}: refused (endpoint {name} is owned by {owner};" in pushes.stdout
    # prune in the other repository: only its own endpoint is an orphan
    removed, _ = other.push(
        {
            ".smgitops.yaml": "prune: true\n",
            f"endpoints/{name}.yaml": None,
            "endpoints/iso-theirs.yaml": None,
        },
        "remove everything, prune",
    )
    pruned = _push_record(local_up, other, removed)
    assert [(o["endpoint"], o["action"]) for o in pruned.orphans] == [("iso-theirs", "deleted")]
    assert local_up.weights(name) and local_up.weights("iso-theirs") == {}
    after = local_up.status(name)
    assert after is not None and after["commit"] == first and after["deleted"] is False


def test_after_a_transfer_the_new_owners_push_deploys(local_up: LocalUp, tmp_path: Path) -> None:
    old = _repo(local_up, tmp_path / "old", "models")
    new = _repo(local_up, tmp_path / "new", "models")
    name = "iso-moved"
    first, _ = old.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    _settle(local_up, name, first)
    moved = local_up.cli(
        "transfer", name, "--to", new.remote.clone_url, "--allowed", "/*", "--by", "ops"
    )
    assert moved.returncode == 0, moved.stderr
    owner = identity_of(new.remote.clone_url)
    second, _ = new.declare(declaration_dict(name, version=2, interval="1s"), "v2, new owner")
    status = _settle(local_up, name, second)
    assert status["owner"] == owner
    history = local_up.cli("history", name)
    assert history.stdout.splitlines()[0] == f"{name}: owner {owner}"
    assert f"ownership transferred from {identity_of(old.remote.clone_url)} to {owner} by ops" in (
        history.stdout
    )
    late, _ = old.declare(declaration_dict(name, version=3, interval="1s"), "v3, old owner")
    assert _push_record(local_up, old, late).outcomes[0]["kind"] == "refused"
    refused = local_up.cli("transfer", name, "--to", "https://github.com/x/y", "--allowed", "/*")
    assert refused.returncode == 1 and "is not in SMGITOPS_REPOSITORY_URLS" in refused.stderr


def test_an_endpoint_smgitops_did_not_create_deploys_only_once_adopted(
    local_up: LocalUp, tmp_path: Path
) -> None:
    repo = _repo(local_up, tmp_path, "models")
    name = "iso-adopted"
    sm = local_up.client("sagemaker")
    create_model(sm, "hand-made-model")
    create_config(sm, "hand-made-config", [variant("hand-made", "hand-made-model")])
    sm.create_endpoint(EndpointName=name, EndpointConfigName="hand-made-config")
    wait_for_status(sm, name, "InService", timeout=30)
    first, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "declare it")
    [refused] = _push_record(local_up, repo, first).outcomes
    assert refused["kind"] == "refused" and "smgitops did not create it" in refused["reason"]
    assert local_up.status(name) is None and local_up.weights(name) == {"hand-made": 100.0}
    adopted = local_up.cli(
        "adopt", name, "--repository", repo.remote.clone_url, "--allowed", "/*", "--by", "ops"
    )
    assert adopted.returncode == 0, adopted.stderr
    second, _ = repo.push({"README.md": "adopted"}, "push again once adopted")
    status = _settle(local_up, name, second)
    assert status["owner"] == identity_of(repo.remote.clone_url)
    assert "hand-made" not in local_up.weights(name)  # the declared model replaced it
    again = local_up.cli("adopt", name, "--repository", repo.remote.clone_url, "--allowed", "/*")
    assert again.returncode == 1 and "already managed by smgitops" in again.stderr
