"""Shared by the ingestion tests (webhook, reconcile, git, plan): AWS resources on moto, signed
webhook events built from the events/ fixtures, a bare "remote" with a clone that pushes, and
a loopback HTTP server standing in for GitHub's API. Its own tests check these helpers."""

from __future__ import annotations

import base64
import copy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from git import Actor, Repo

from smgitops.aws import clients
from smgitops.ingest import signature
from smgitops.local.resources import create_table
from tests.builders import declaration_dict
from tests.conftest import load_event

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

TEST_SECRET = "smgitops-test-secret"  # the secret events/github-*.json are signed with
TABLE = "smgitops-test"
QUEUE = "smgitops-reconcile.fifo"
SECRET_NAME = "smgitops/webhook-secret"
TOKEN_NAME = "smgitops/github-token"
GITHUB_REPO = "https://github.com/acme/ml-endpoints.git"
AUTHOR = Actor("Jane Doe", "jdoe@example.com")


# --- AWS -------------------------------------------------------------------------------------


@dataclass
class Aws:
    table: str
    queue_url: str
    secret_arn: str

    def queued(self) -> int:
        attributes = clients.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def receive(self) -> list[dict[str, Any]]:
        """Every message on the queue, as the SQS event records Lambda would get."""
        sqs = clients.client("sqs")
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                VisibilityTimeout=0,
            ).get("Messages", [])
            fresh = [m for m in got if m["MessageId"] not in {r["messageId"] for r in out}]
            if not fresh:
                return out
            for message in fresh:
                out.append(
                    {
                        "messageId": message["MessageId"],
                        "body": message["Body"],
                        "attributes": message.get("Attributes", {}),
                    }
                )
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_aws(secret: str = TEST_SECRET) -> Aws:
    """The table, the FIFO queue and the webhook secret, inside an active moto mock."""
    create_table(clients.client("dynamodb"), TABLE)
    queue_url = clients.client("sqs").create_queue(
        QueueName=QUEUE,
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    arn = clients.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=secret)[
        "ARN"
    ]
    return Aws(TABLE, queue_url, arn)


def webhook_env(monkeypatch: pytest.MonkeyPatch, aws: Aws, **extra: str) -> None:
    values = {
        "SMGITOPS_TABLE": aws.table,
        "SMGITOPS_QUEUE_URL": aws.queue_url,
        "SMGITOPS_WEBHOOK_SECRET": SECRET_NAME,
        "SMGITOPS_REPOSITORY_URLS": GITHUB_REPO,
        "SMGITOPS_SECRET_REFRESH_SECONDS": "0",
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    from smgitops.wiring.webhook import webhook

    webhook.cache_clear()


# --- webhook events ------------------------------------------------------------------------


def body_of(event: dict[str, Any]) -> bytes:
    raw = event["body"]
    return base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()


def signed(
    name: str,
    *,
    payload: dict[str, Any] | None = None,
    raw: bytes | None = None,
    secret: str = TEST_SECRET,
    delivery: str | None = None,
    event: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """``events/<name>`` with its payload changed (``changes`` are top-level payload keys, or
    ``clone_url``/``pushed_at`` for the repository), re-signed with ``secret``."""
    out = copy.deepcopy(load_event(name))
    if raw is None:
        data = payload if payload is not None else json.loads(body_of(out))
        repository = data.get("repository", {})
        for key, value in changes.items():
            if key in ("clone_url", "pushed_at", "full_name"):
                repository[key] = value
            else:
                data[key] = value
        raw = json.dumps(data).encode()
    if out.get("isBase64Encoded"):
        out["body"] = base64.b64encode(raw).decode()
    else:
        out["body"] = raw.decode()
    out["headers"]["x-hub-signature-256"] = signature.sign(secret.encode(), raw)
    if delivery is not None:
        out["headers"]["x-github-delivery"] = delivery
    if event is not None:
        out["headers"]["x-github-event"] = event
    return out


def call_webhook(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    from smgitops.handlers import webhook

    response = webhook.handler(event, None)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


# --- git -------------------------------------------------------------------------------------


class GitRemote:
    """A bare repository (the "remote") and a clone of it that commits and pushes."""

    def __init__(self, root: Path, name: str = "ml-endpoints") -> None:
        self.bare_path = root / f"{name}.git"
        self.bare = Repo.init(self.bare_path, bare=True, initial_branch="main")
        self.work = Repo.init(root / f"{name}-clone", initial_branch="main")
        self.work.create_remote("origin", str(self.bare_path))

    @property
    def url(self) -> str:
        return str(self.bare_path)

    @property
    def root(self) -> Path:
        return Path(self.work.working_dir)

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        self.work.index.add([path])

    def declare(self, name: str, *, version: int = 1, folder: str = "endpoints", **kw: Any) -> None:
        self.write(f"{folder}/{name}.yaml", declaration_yaml(name, version=version, **kw))

    def remove(self, path: str) -> None:
        self.work.index.remove([path], working_tree=True)

    def commit(self, message: str = "change", *, push: bool = True, branch: str = "main") -> str:
        commit = self.work.index.commit(message, author=AUTHOR, committer=AUTHOR)
        if push:
            self.work.git.push("origin", f"HEAD:refs/heads/{branch}", "--force")
        return str(commit.hexsha)


def declaration_yaml(name: str, *, version: int = 1, **kw: Any) -> str:
    return yaml.safe_dump(declaration_dict(name, version=version, **kw), sort_keys=False)


# --- GitHub API stand-in ---------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeGitHub:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 201
    delay: float = 0.0
    in_flight: int = 0  # requests being answered now
    most_in_flight: int = 0  # the most answered at once
    # with release_at: no answer until that many requests were in flight at once (at most
    # ``delay`` seconds), so a test of concurrency does not depend on how fast threads start
    release_at: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def fake_github(status: int = 201) -> Iterator[FakeGitHub]:
    """A loopback HTTP server that records commit-status requests (use as a fixture body)."""
    state = FakeGitHub(url="")
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            state.requests.append(
                Recorded(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw or b"{}"),
                )
            )
            with state.lock:
                state.in_flight += 1
                state.most_in_flight = max(state.most_in_flight, state.in_flight)
                if state.release_at and state.most_in_flight >= state.release_at:
                    state.released.set()
            if state.release_at:
                state.released.wait(state.delay)
            elif state.delay:
                done.wait(state.delay)
            with state.lock:
                state.in_flight -= 1
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (its timeout): what a slow GitHub is for

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.status = status
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        done.set()
        server.shutdown()
        server.server_close()
