"""The local runtime's webhook server (security review 10): a malformed or negative
``Content-Length`` is refused before any body is read, and an idle connection is closed."""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from smgitops.local import runtime

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[Any]]]:
    monkeypatch.setattr(runtime, "IDLE_TIMEOUT_S", 0.5)
    calls: list[Any] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"statusCode": 202, "body": "{}"}

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), runtime._webhook_handler(handler))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], calls
    finally:
        httpd.shutdown()
        httpd.server_close()


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("length", "status"),
    [(b"-1", b"400"), (b"abc", b"400"), (b"1e3", b"400"), (b" ", b"411"), (None, b"411")],
)
def test_a_malformed_content_length_is_refused_before_reading(
    server: tuple[int, list[Any]], length: bytes | None, status: bytes
) -> None:
    port, calls = server
    header = b"" if length is None else b"Content-Length: " + length + b"\r\n"
    answer = _raw(port, b"POST / HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n" + b"x" * 100)
    assert answer.split(b" ", 2)[1] == status, answer[:200]
    assert calls == []


def test_a_well_formed_request_still_reaches_the_function(server: tuple[int, list[Any]]) -> None:
    port, calls = server
    answer = _raw(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    assert answer.split(b" ", 2)[1] == b"202"
    assert len(calls) == 1


def test_an_idle_connection_is_closed(server: tuple[int, list[Any]]) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
        # never the rest: the server gives up on it instead of holding a thread forever
        assert sock.recv(65536) == b""
