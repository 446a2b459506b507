"""``smgitops dashboard``: a small web application on 127.0.0.1 over the status and history
records the CLI reads (through the same credentials, so it works against ``local up`` and a
real account alike).

Pages (one HTML shell, ``static/app.js`` routes by ``#``): every endpoint; one endpoint's live
rollout (the weight chart, each check, each transition's reason), polled every 2 s so it updates
without a reload; one line per rollout with a link to its audit report.

Read-only unless started with ``allow_actions``: then ``POST /api/endpoints/NAME/promote|abort``
go through the same service calls as the CLI, recorded with ``by``. Against cross-site requests:
the server listens on loopback only, answers only requests whose ``Host`` is its own address
(DNS rebinding), and an action needs the per-run token (sent as ``X-Smgitops-Token``; a page
of another origin cannot read it, and a cross-site form cannot set that header) and, when the
browser sends one, an ``Origin`` equal to the dashboard's own.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit

from smgitops import clock
from smgitops.dashboard.chart import weight_chart
from smgitops.dashboard.report import render_report
from smgitops.dashboard.views import endpoint_row, history_rows, rollout_view, timeline
from smgitops.drift.service import latest_finding as latest_drift
from smgitops.errors import SmgitopsError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from smgitops.rollout.status import HistoryRecord, RolloutStatus

TOKEN_HEADER = "X-Smgitops-Token"  # noqa: S105  # nosec B105 - a header's name
APP_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"
# The report is one self-contained file: its own inline style, no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
MAX_BODY = 4096
HISTORY_LIMIT = 500
STATIC = {
    "app.js": "application/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
_ROUTE = re.compile(r"^/api/endpoints/(?P<name>[A-Za-z0-9-]{1,63})(?P<rest>/[a-z.]+)?$")
_REPORT = re.compile(r"^/report/(?P<name>[A-Za-z0-9-]{1,63})$")


class Source(Protocol):
    """What the dashboard reads and asks: the CLI's service, seen through a narrow port."""

    def statuses(self) -> list[RolloutStatus]: ...
    def status(self, endpoint: str) -> RolloutStatus | None: ...
    def history(self, endpoint: str, limit: int) -> list[HistoryRecord]: ...
    def promote(self, endpoint: str, *, full: bool, by: str) -> RolloutStatus: ...
    def abort(self, endpoint: str, by: str) -> RolloutStatus: ...


@dataclass
class Dashboard:
    source: Source
    allow_actions: bool = False
    by: str = "dashboard"
    token: str = ""
    now: Callable[[], float] = clock.now

    def __post_init__(self) -> None:
        self.token = self.token or secrets.token_urlsafe(24)

    # --- reads ----------------------------------------------------------------------------

    def endpoints(self) -> list[dict[str, Any]]:
        now = self.now()
        return [
            endpoint_row(s, latest_drift(self.source.history(s.endpoint, 50)), now)
            for s in sorted(self.source.statuses(), key=lambda s: s.endpoint)
        ]

    def rollout(self, name: str) -> dict[str, Any] | None:
        status = self.source.status(name)
        if status is None:
            return None
        records = self.source.history(name, HISTORY_LIMIT)
        view = rollout_view(status, records, self.now())
        view["drift"] = latest_drift(records)
        return view

    def chart(self, name: str) -> str | None:
        status = self.source.status(name)
        if status is None:
            return None
        points = timeline(
            self.source.history(name, HISTORY_LIMIT), status.rollout_id, status.candidate.name
        )
        return weight_chart(points, self.now() if status.active else None)

    def history(self, name: str) -> list[dict[str, Any]]:
        return history_rows(self.source.history(name, HISTORY_LIMIT))

    def report(self, name: str, rollout: str | None) -> str | None:
        status = self.source.status(name)
        records = self.source.history(name, HISTORY_LIMIT)
        if status is None and not records:
            return None
        return render_report(name, status, records, rollout)

    # --- actions --------------------------------------------------------------------------

    def act(self, name: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        by = f"{self.by} (dashboard)"
        if action == "promote":
            status = self.source.promote(name, full=bool(body.get("full")), by=by)
        else:
            status = self.source.abort(name, by)
        return {"endpoint": name, "phase": str(status.phase), "reason": status.reason}


def page(allow_actions: bool, token: str) -> bytes:
    """The HTML shell; the token is in it only when actions are allowed."""
    html = resources.files("smgitops").joinpath("dashboard", "static", "index.html").read_text()
    meta = f'<meta name="smgitops-token" content="{token}">' if allow_actions else ""
    return html.replace("<!--TOKEN-->", meta).encode()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    csp: str = APP_CSP


def _json(status: int, data: Any) -> Answer:
    return Answer(status, json.dumps(data).encode())


def _error(status: HTTPStatus, reason: str) -> Answer:
    return _json(status, {"error": reason})


@dataclass
class Routes:
    """Every page and API answer, without HTTP (the handler below only moves bytes)."""

    dashboard: Dashboard
    origins: Callable[[], set[str]]

    def get(self, path: str, query: dict[str, list[str]], host: str) -> Answer:
        if not self._host_ok(host):
            return _error(HTTPStatus.MISDIRECTED_REQUEST, "unknown Host")
        try:
            return self._get(path, query)
        except SmgitopsError as exc:
            return _error(HTTPStatus.BAD_GATEWAY, str(exc))

    def _get(self, path: str, query: dict[str, list[str]]) -> Answer:
        if path in {"/", "/index.html"}:
            html = page(self.dashboard.allow_actions, self.dashboard.token)
            return Answer(200, html, "text/html; charset=utf-8")
        if path.startswith("/static/") and path[8:] in STATIC:
            data = resources.files("smgitops").joinpath("dashboard", "static", path[8:])
            return Answer(200, data.read_bytes(), STATIC[path[8:]])
        if path == "/api/config":
            return _json(200, {"actions": self.dashboard.allow_actions})
        if path == "/api/endpoints":
            return _json(200, self.dashboard.endpoints())
        report = _REPORT.match(path)
        if report:
            rollout = (query.get("rollout") or [""])[0] or None
            html_text = self.dashboard.report(report["name"], rollout)
            if html_text is None:
                return _error(HTTPStatus.NOT_FOUND, f"nothing recorded for {report['name']}")
            return Answer(200, html_text.encode(), "text/html; charset=utf-8", REPORT_CSP)
        match = _ROUTE.match(path)
        if match is None:
            return _error(HTTPStatus.NOT_FOUND, "no such page")
        return self._endpoint(match["name"], match["rest"] or "")

    def _endpoint(self, name: str, rest: str) -> Answer:
        if rest == "/chart.svg":
            svg = self.dashboard.chart(name)
            if svg is not None:
                return Answer(200, svg.encode(), "image/svg+xml")
            found: Any = None
        elif rest == "/history":
            found = self.dashboard.history(name)
        elif rest == "":
            found = self.dashboard.rollout(name)
        else:
            return _error(HTTPStatus.NOT_FOUND, "no such page")
        if found is None:
            return _error(HTTPStatus.NOT_FOUND, f"no rollout recorded for {name}")
        return _json(200, found)

    def post(self, path: str, headers: Mapping[str, str], body: bytes | None) -> Answer:
        refusal = self._refusal(headers)
        if refusal is not None:
            return refusal
        match = _ROUTE.match(path)
        action = (match["rest"] or "").lstrip("/") if match else ""
        if match is None or action not in {"promote", "abort"}:
            return _error(HTTPStatus.NOT_FOUND, "no such action")
        request = _object(body)
        if request is None:
            return _error(HTTPStatus.BAD_REQUEST, "body must be a JSON object under 4 KiB")
        try:
            return _json(200, self.dashboard.act(match["name"], action, request))
        except SmgitopsError as exc:
            return _error(HTTPStatus.CONFLICT, str(exc))

    def _host_ok(self, host: str) -> bool:
        return host in {urlsplit(o).netloc for o in self.origins()}

    def _refusal(self, headers: Mapping[str, str]) -> Answer | None:
        if not self.dashboard.allow_actions:
            return _error(
                HTTPStatus.FORBIDDEN, "read-only dashboard (start it with --allow-actions)"
            )
        if not self._host_ok(headers.get("Host", "")):
            return _error(HTTPStatus.MISDIRECTED_REQUEST, "unknown Host")
        origin = headers.get("Origin")
        if origin is not None and origin not in self.origins():
            return _error(HTTPStatus.FORBIDDEN, "cross-site request refused")
        token = headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(token.encode(), self.dashboard.token.encode()):
            return _error(HTTPStatus.FORBIDDEN, f"missing or wrong {TOKEN_HEADER}")
        return None


def _object(body: bytes | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Handler(BaseHTTPRequestHandler):
    """Moves bytes between HTTP and :class:`Routes` (set on a subclass per server)."""

    routes: Routes
    server_version = "smgitops-dashboard"
    timeout = 30  # an idle connection does not hold a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _write(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in (
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", answer.csp),
        ):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self._write(self.routes.get(url.path, parse_qs(url.query), self.headers.get("Host", "")))

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "0")
        body = None
        if length.isdigit() and int(length) <= MAX_BODY:
            body = self.rfile.read(int(length)) if int(length) else b""
        headers = {k: v for k, v in self.headers.items()}
        self._write(self.routes.post(urlsplit(self.path).path, headers, body))


@dataclass
class Served:
    url: str
    server: ThreadingHTTPServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(dashboard: Dashboard, port: int = 0) -> Served:
    """Start serving on 127.0.0.1 (``port`` 0: a free one) in a daemon thread."""
    box: dict[str, str] = {}

    def origins() -> set[str]:
        return {box["url"], box["url"].replace("127.0.0.1", "localhost")}

    handler = type("DashboardHandler", (Handler,), {"routes": Routes(dashboard, origins)})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    box["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    return Served(box["url"], server, thread)


@dataclass
class ServiceSource:
    """The dashboard's port on the rollout service the CLI builds (same table, same AWS)."""

    service: Any  # smgitops' RolloutService: its store and its operator requests

    def statuses(self) -> list[RolloutStatus]:
        return list(self.service.store.list_statuses())

    def status(self, endpoint: str) -> RolloutStatus | None:
        found: RolloutStatus | None = self.service.store.get(endpoint)
        return found

    def history(self, endpoint: str, limit: int) -> list[HistoryRecord]:
        return list(self.service.store.history(endpoint, limit=limit))

    def promote(self, endpoint: str, *, full: bool, by: str) -> RolloutStatus:
        promoted: RolloutStatus = self.service.promote(endpoint, full=full, by=by)
        return promoted

    def abort(self, endpoint: str, by: str) -> RolloutStatus:
        aborted: RolloutStatus = self.service.abort(endpoint, by)
        return aborted
