"""The outside world of the local runtime: a Git "remote" (a bare repository) with a working
clone that commits and pushes, and a GitHub that signs and POSTs push webhooks over HTTP.

Used by ``smgitops demo``, the end-to-end tests and the benchmarks — the same real parts a user
would drive by hand (GitPython repositories, HMAC-signed HTTP requests).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZERO = "0" * 40


def sign(secret: str, body: bytes) -> str:
    """GitHub's ``X-Hub-Signature-256`` header value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class GitRemote:
    """``origin``: a bare repository; ``work``: a clone that commits and pushes to it.

    The bare repository lies at ``root/<owner>/<name>.git``, so its identity (the path) ends in
    ``<owner>/<name>``: the repository commit statuses are posted to, as on GitHub.
    """

    root: Path
    branch: str = "main"
    owner: str = "acme"
    name: str = "models"

    def __post_init__(self) -> None:
        from git import Repo  # noqa: PLC0415 - GitPython needs the git executable

        self.root.mkdir(parents=True, exist_ok=True)
        self.origin_path = self.root / self.owner / f"{self.name}.git"
        self.work_path = self.root / "work"
        Repo.init(self.origin_path, bare=True, initial_branch=self.branch, mkdir=True)
        self.repo = Repo.init(self.work_path, initial_branch=self.branch)
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "smgitops demo")
            config.set_value("user", "email", "demo@smgitops.local")
            config.set_value("commit", "gpgsign", "false")
        self.repo.create_remote("origin", str(self.origin_path))
        self.head = ZERO

    @property
    def clone_url(self) -> str:
        return str(self.origin_path)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def commit(
        self, files: dict[str, str | None], message: str, *, trailers: dict[str, str] | None = None
    ) -> str:
        """Write (or, with None, delete) files and commit them; returns the commit SHA."""
        for name, text in files.items():
            path = self.work_path / name
            if text is None:
                if path.exists():
                    self.repo.index.remove([name], working_tree=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            self.repo.index.add([name])
        if trailers:
            message += "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers.items())
        return str(self.repo.index.commit(message).hexsha)

    def push(self, *, force: bool = False) -> tuple[str, str]:
        """Push the branch to origin; returns (before, after)."""
        before = self.head
        refspec = f"{'+' if force else ''}{self.branch}:{self.branch}"
        self.repo.remote("origin").push(refspec=refspec).raise_if_error()
        self.head = str(self.repo.head.commit.hexsha)
        return before, self.head

    def push_payload(
        self, before: str, after: str, *, pushed_at: float | None = None
    ) -> dict[str, Any]:
        """The body GitHub sends for this push (the fields smgitops and reviewers rely on)."""
        commit = self.repo.commit(after)
        return {
            "ref": f"refs/heads/{self.branch}",
            "before": before,
            "after": after,
            "created": before == ZERO,
            "deleted": False,
            "forced": False,
            "compare": f"file://{self.origin_path}/compare/{before[:12]}...{after[:12]}",
            "commits": [
                {
                    "id": after,
                    "message": commit.message,
                    "timestamp": commit.committed_datetime.isoformat(),
                    "author": {"name": str(commit.author.name), "email": str(commit.author.email)},
                }
            ],
            "head_commit": {"id": after, "message": commit.message},
            "repository": {
                "name": self.name,
                "full_name": self.full_name,
                "clone_url": self.clone_url,
                "default_branch": self.branch,
                "pushed_at": time.time() if pushed_at is None else pushed_at,
            },
            "pusher": {"name": "demo", "email": "demo@smgitops.local"},
            "sender": {"login": "demo"},
        }


@dataclass
class Delivery:
    status: int
    body: Any
    delivery_id: str


def send_webhook(
    url: str,
    secret: str,
    payload: dict[str, Any] | bytes,
    *,
    event: str = "push",
    delivery_id: str | None = None,
    signature: str | None = None,
    timeout: float = 10.0,
) -> Delivery:
    """POST a webhook the way GitHub does (JSON body, HMAC-SHA256 signature headers)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    delivery_id = delivery_id or str(uuid.uuid4())
    if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError("the local GitHub only sends to loopback addresses")
    request = urllib.request.Request(  # noqa: S310 - loopback http, checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/smgitops-local",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id,
            "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": signature if signature is not None else sign(secret, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        parsed: Any = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        parsed = raw.decode(errors="replace")
    return Delivery(status, parsed, delivery_id)
