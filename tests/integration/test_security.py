"""The security review, automated: bandit, no shell, constant-time signatures, the repository
allow-list, a clone folder that stays in the work folder, and secrets that never reach a log.

Bandit's findings are accepted only when listed below with the reason (bandit reads
``# nosec``, not ruff's ``# noqa``; the reasons are the ones the code's ``noqa`` comments give).
"""

from __future__ import annotations

import ast
import base64
import contextlib
import hmac
import json
import logging
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from git import Repo
from moto import mock_aws

from smgitops import observability
from smgitops.aws.deliveries import DeliveryStore
from smgitops.aws.store import StatusStore
from smgitops.git.repository import GitFetcher
from smgitops.ingest import signature
from smgitops.ingest.work import PushWork
from smgitops.local.scenario import GitRemote, send_webhook, sign
from smgitops.rollout.status import Phase
from tests.builders import declaration_dict
from tests.conftest import ROOT, load_event
from tests.integration.test_concurrency import aws_client, local_runtime
from tests.support.emulator import put_manual_alarm
from tests.support.ingest import (
    GITHUB_REPO,
    Aws,
    call_webhook,
    create_aws,
    fake_github,
    signed,
    webhook_env,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

FUNCTIONS = ROOT / "functions"
PACKAGE = FUNCTIONS / "smgitops"

# --- bandit --------------------------------------------------------------------------------------

# A finding is justified inline when its line carries ruff's matching ``noqa: S<id> - reason``
# (bandit B101 is ruff S101, ...). Lines whose noqa gives no reason are justified here:
# (file relative to functions/smgitops, bandit test id, part of the line) -> why.
JUSTIFIED: dict[tuple[str, str, str], str] = {
    ("rollout/decide/resources.py", "B101", "assert ctx.status.stable is not None"): (
        "type narrowing: phases after Pending always have a stable variant"
    ),
    ("rollout/decide/requests.py", "B101", "assert queued is not None"): (
        "type narrowing: the hand-over runs only with a queued rollout"
    ),
    ("aws/checks.py", "B101", "assert spec is not None and status.stable is not None"): (
        "type narrowing: decide() asks for the analysis only when it is declared"
    ),
    ("local/runtime.py", "B101", "assert self.webhook_server is not None"): (
        "local runtime only: the URL is read after the server started"
    ),
    ("local/runtime.py", "B105", '"SMGITOPS_WEBHOOK_SECRET": "smgitops/webhook-secret"'): (
        "the Secrets Manager secret's name, not a secret"
    ),
    ("local/scenario.py", "B310", "urllib.request.urlopen(request, timeout=timeout)"): (
        "the local GitHub: loopback http only, checked before the call"
    ),
}
INLINE = re.compile(r"#\s*noqa:[^#]*\bS(?P<id>\d{3})\b[^#]*?\s-\s*(?P<reason>\S.*)$")


def _bandit() -> list[dict[str, Any]]:
    bandit = Path(sys.executable).with_name("bandit")
    if not bandit.exists():
        pytest.skip("bandit is not installed in this environment")
    out = subprocess.run(
        [str(bandit), "-q", "-f", "json", "-c", "pyproject.toml", "-r", "functions/smgitops"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results: list[dict[str, Any]] = json.loads(out.stdout)["results"]
    return results


def _justification(finding: dict[str, Any]) -> str | None:
    path = Path(finding["filename"]).resolve()
    line = path.read_text(encoding="utf-8").splitlines()[finding["line_number"] - 1]
    inline = INLINE.search(line)
    if inline and inline["id"] == finding["test_id"].removeprefix("B"):
        return inline["reason"]
    relative = str(path.relative_to(PACKAGE))
    return next(
        (
            why
            for (file, test, snippet), why in JUSTIFIED.items()
            if (file, test) == (relative, finding["test_id"]) and snippet in line
        ),
        None,
    )


def test_bandit_finds_nothing_that_is_not_justified() -> None:
    findings = _bandit()
    unexplained = [
        f"{f['filename']}:{f['line_number']}: {f['test_id']} {f['issue_text']}"
        for f in findings
        if _justification(f) is None
    ]
    assert unexplained == []
    # the check is not vacuous: an unjustified finding is reported
    fake = {**findings[0], "test_id": "B999"} if findings else None
    assert fake is None or _justification(fake) is None


# --- no shell ------------------------------------------------------------------------------------


def _shell_calls(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                lines.append(node.lineno)
        name = ast.unparse(node.func)
        if name in {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"}:
            lines.append(node.lineno)
    return lines


def test_no_shell_anywhere_in_functions() -> None:
    files = sorted(FUNCTIONS.rglob("*.py"))
    assert len(files) > 40
    found = {
        str(path.relative_to(ROOT)): lines
        for path in files
        if (lines := _shell_calls(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert found == {}
    # the scan itself finds what it looks for
    sample = "import os, subprocess\nsubprocess.run('x', shell=True)\nos.system('y')\n"
    assert _shell_calls(ast.parse(sample)) == [2, 3]


# --- the webhook: constant-time signature, allowed repositories ---------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        resources = create_aws()
        webhook_env(monkeypatch, resources)
        yield resources


def test_signatures_are_compared_with_hmac_compare_digest(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision is compare_digest's: make it answer the opposite and the webhook follows."""
    calls: list[tuple[bytes, bytes]] = []
    answer: list[bool | None] = [None]
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b) if answer[0] is None else answer[0]

    monkeypatch.setattr(hmac, "compare_digest", spy)
    event = load_event("github-push-main.json")
    assert call_webhook(event)[0] == 202
    header = event["headers"]["x-hub-signature-256"].encode()
    assert calls and calls[0][1] == header and len(calls[0][0]) == len(header)
    answer[0] = False  # a valid signature, refused by compare_digest
    assert call_webhook(signed("github-push-main.json", delivery="spy-2"))[0] == 401
    answer[0] = True  # a wrong signature, accepted by compare_digest
    accepted = call_webhook(signed("github-push-main.json", secret="wrong", delivery="spy-3"))
    assert accepted[0] == 202
    assert vars(signature)["hmac"] is hmac  # the module the webhook compares with


HOSTILE_URLS = [
    "https://github.com/evil/ml-endpoints.git",  # another owner
    "https://github.com/acme/ml-endpoints-fork.git",  # a look-alike name
    "https://attacker@github.com/acme/ml-endpoints.git",  # credentials in the URL
    "https://github.com/acme/ml-endpoints.git/../../evil/x.git",  # dot segments
    "https://github.com.evil.example/acme/ml-endpoints.git",  # another host
    "http://github.com/acme/ml-endpoints.git",  # another scheme
    "file:///etc",
    "/etc/passwd",
    "ext::sh -c touch% /tmp/pwned",
    "-uhoh",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_push_naming_another_repository_is_refused_with_403(aws: Aws, url: str) -> None:
    event = signed("github-push-main.json", clone_url=url, delivery="hostile-1")
    status, body, _ = call_webhook(event)
    assert status == 403, body
    assert "is not in SMGITOPS_REPOSITORY_URLS" in body["message"]
    assert "attacker@" not in body["message"]  # a refusal never echoes credentials
    assert aws.queued() == 0
    assert DeliveryStore(aws.table).get("hostile-1") is None
    assert call_webhook(signed("github-push-main.json", clone_url=GITHUB_REPO))[0] == 202


# --- the clone folder stays in the work folder ---------------------------------------------------


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if not p.is_symlink()}


@pytest.mark.parametrize(
    "remote_path",
    ["../../etc", "..", "evil/../../../../tmp/escape", "-rf", " spaces and ; semicolons"],
)
def test_the_clone_folder_never_escapes_the_work_folder(tmp_path: Path, remote_path: str) -> None:
    """A real repository at a hostile path (``..`` segments, option-like and odd names) is
    fetched and checked out: every file written lies under the work folder, and the scratch
    checkout is gone afterwards."""
    base = tmp_path / "remotes" / "a" / "b" / "c" / "d" / "e"
    origin = Path(str(base / remote_path) + "-origin.git")
    origin.mkdir(parents=True, exist_ok=True)
    Repo.init(origin, bare=True, initial_branch="main")
    work = Repo.init(tmp_path / "clone", initial_branch="main")
    (tmp_path / "clone" / "endpoints").mkdir()
    (tmp_path / "clone" / "endpoints" / "x.yaml").write_text(yaml.safe_dump(declaration_dict("x")))
    work.index.add(["endpoints/x.yaml"])
    sha = work.index.commit("x").hexsha
    work.git.push(str(origin), "HEAD:refs/heads/main")
    url = f"{base}/{remote_path}-origin.git"  # unnormalised: the dot segments stay in the URL
    workdir = tmp_path / "work"
    outside = _files(tmp_path)
    fetcher = GitFetcher(workdir)
    with fetcher.checkout(url, sha) as (snapshot, scratch):
        assert scratch.resolve().is_relative_to(workdir.resolve())
        snapshot.export("endpoints", scratch)
        assert (scratch / "endpoints" / "x.yaml").is_file()
        written = _files(tmp_path) - outside
    assert written and all(p.resolve().is_relative_to(workdir.resolve()) for p in written)
    assert not scratch.exists()
    assert fetcher.repository(url).parent == workdir.resolve() / "repos"


# --- secrets never logged ------------------------------------------------------------------


class _Lines(logging.Handler):
    """Every record of the functions' powertools logger, formatted as powertools writes it."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def _all_logs() -> Iterator[_Lines]:
    """Tap the functions' logger at DEBUG (it does not propagate to the root logger)."""
    log = observability.logger()
    tap = _Lines(log.registered_formatter)
    std = logging.getLogger(observability.SERVICE)
    level = std.level
    std.addHandler(tap)
    std.setLevel(logging.DEBUG)
    try:
        yield tap
    finally:
        std.removeHandler(tap)
        std.setLevel(level)


def _wait(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_the_webhook_secret_and_github_token_never_reach_a_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A whole story on the local runtime, every log captured (the functions' powertools logger
    at DEBUG, the standard loggers at INFO, anything written to stdout/stderr): a signed push,
    a delivery with a wrong signature (which makes the webhook re-read the secret), a push for
    another repository, a canary rolled back by its alarm through the abort function, and a
    GitHub push whose commit statuses are sent with the token. Neither value is in the output.
    """
    secret = "whsec-" + base64.b32encode(b"never-log-this-secret!").decode()
    token = "ghp_" + base64.b32encode(b"never-log-this-token!!").decode()
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="smgitops.local")
    remote = GitRemote(tmp_path / "models")
    with (
        contextlib.contextmanager(fake_github)() as github,
        _all_logs() as tap,
        local_runtime(
            update_delay=0.05,
            secret=secret,
            repositories=remote.clone_url,
            github_api_url=github.url,
            github_token=token,
        ) as runtime,
    ):
        store = StatusStore(runtime.options.table, client=aws_client(runtime, "dynamodb"))
        _story(runtime, remote, store, secret)
        _github_push(runtime, remote, store)
        assert any(r.headers.get("authorization") == f"Bearer {token}" for r in github.requests)
        observability.logger().debug("capture probe", extra={"probe": "debug-probe-value"})
    captured = capfd.readouterr()
    text = "\n".join([captured.out, captured.err, caplog.text, *tap.lines])
    for expected in ("webhook answered", "push reconciled", "tick", "alarm handled"):
        assert expected in text  # the capture saw every function
    assert "debug-probe-value" in text  # and the functions' DEBUG records
    assert secret not in text
    assert token not in text
    assert sign(secret, b"") not in text  # nor anything derived from the secret


def _story(runtime: Any, remote: GitRemote, store: StatusStore, secret: str) -> None:
    name = "secure"
    cloudwatch = aws_client(runtime, "cloudwatch")
    put_manual_alarm(cloudwatch, "secure-errors")

    def push(version: int, **rollout: Any) -> str:
        document = declaration_dict(name, version=version, interval="1s", **rollout)
        remote.commit({f"endpoints/{name}.yaml": yaml.safe_dump(document)}, f"v{version}")
        before, after = remote.push()
        payload = remote.push_payload(before, after)
        assert send_webhook(runtime.webhook_url, "wrong-secret", payload).status == 401
        other = {**payload, "repository": {**payload["repository"], "clone_url": "/etc"}}
        assert send_webhook(runtime.webhook_url, secret, other).status == 403
        assert send_webhook(runtime.webhook_url, secret, payload).status == 202
        return after

    first = push(1)
    _wait("v1", lambda: (s := store.get(name)) and s.commit == first and s.phase == "Succeeded")
    second = push(2, steps=[50], analysis={"alarms": ["secure-errors"]})
    _wait("v2 at 50 %", lambda: (s := store.get(name)) and s.commit == second and s.step_index == 0)
    cloudwatch.set_alarm_state(
        AlarmName="secure-errors", StateValue="ALARM", StateReason="Threshold Crossed"
    )
    _wait("rollback", lambda: (s := store.get(name)) and s.phase == Phase.ROLLED_BACK)


def _github_push(runtime: Any, remote: GitRemote, store: StatusStore) -> None:
    """Push work as GitHub's would arrive (provider github): commit statuses use the token."""
    document = declaration_dict("secure-gh", version=1, interval="1s")
    remote.commit({"endpoints/secure-gh.yaml": yaml.safe_dump(document)}, "another endpoint")
    _, after = remote.push()
    work = PushWork(
        provider="github",
        repository=remote.clone_url,
        full_name="acme/models",
        ref="refs/heads/main",
        commit=after,
        pushed_at=time.time(),
        delivery="gh-delivery-1",
    )
    aws_client(runtime, "sqs").send_message(
        QueueUrl=runtime.env["SMGITOPS_QUEUE_URL"],
        MessageBody=work.to_message(),
        MessageGroupId="acme/models",
        MessageDeduplicationId="gh-delivery-1",
    )
    _wait("secure-gh", lambda: (s := store.get("secure-gh")) and s.phase == Phase.SUCCEEDED)


def test_the_functions_write_no_temporary_folder_outside_the_workdir() -> None:
    """What runs in Lambda (everything but the CLI's commands/ and the local runtime) creates no
    temporary folder of its own: the reconcile function writes only under SMGITOPS_WORKDIR."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in {"local", "commands"} or relative.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func).startswith(
                ("tempfile.", "mkdtemp", "mkstemp", "TemporaryDirectory")
            ):
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []
