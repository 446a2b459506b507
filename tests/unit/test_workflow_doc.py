"""docs/workflow.md's ``post-receive`` hook sends what smgitops' webhook accepts.

The hook is taken from the document itself, installed in a real bare repository, and a real
``git push`` makes it POST to a server on loopback; the request must carry a valid GitHub
signature and a push payload that asks for the pushed commit of the tracked branch.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from git import Repo

from smgitops.ingest.push import Push
from smgitops.ingest.signature import verify
from smgitops.ingest.work import Ignored, PushWork

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"
HOOK = re.compile(r"cat > ml-endpoints\.git/hooks/post-receive <<'EOF'\n(.*?)\nEOF\n", re.S)
SECRET = "tour-secret"


class _Recorder(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        answer = json.dumps({"message": "accepted"}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture
def webhook() -> Any:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()


def test_the_documented_hook_signs_a_push_the_webhook_accepts(
    tmp_path: Path, webhook: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = webhook
    match = HOOK.search(DOC.read_text())
    assert match is not None, "the post-receive hook block is missing from docs/workflow.md"
    bare = tmp_path / "ml-endpoints.git"
    Repo.init(bare, bare=True, initial_branch="main")
    hook = bare / "hooks" / "post-receive"
    hook.write_text(match[1] + "\n")
    hook.chmod(0o755)

    work = Repo.init(tmp_path / "ml-endpoints", initial_branch="main")
    (tmp_path / "ml-endpoints" / "README.md").write_text("# models\n")
    work.index.add(["README.md"])
    sha = work.index.commit("first").hexsha
    environ = {**os.environ, "WEBHOOK_URL": url, "WEBHOOK_SECRET": SECRET}
    pushed = subprocess.run(
        ["git", "push", str(bare), "main"],
        cwd=work.working_dir,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr
    assert "smgitops webhook: 202" in pushed.stderr  # the hook's output, shown by git push

    ((headers, body),) = received
    assert headers["x-github-event"] == "push"
    uuid.UUID(headers["x-github-delivery"])
    assert verify([SECRET.encode()], body, headers["x-hub-signature-256"])
    assert not verify([b"another secret"], body, headers["x-hub-signature-256"])
    work_item = Push.parse(json.loads(body)).work(
        branch="main", delivery=headers["x-github-delivery"], received_at=0.0
    )
    assert not isinstance(work_item, Ignored)
    work_item = PushWork.of(work_item)  # as the reconcile function reads the queued message
    assert work_item.commit == sha
    assert Path(work_item.repository).resolve() == bare.resolve()
    assert work_item.provider == "local"
