"""The GitHub webhook, as a domain function: one request in, one response out.

Order of checks (each answer is documented in docs/ingestion.md):
405 not a POST · 413 body over the limit · 400 undecodable base64 · 401 signature missing,
malformed or wrong under every secret (nothing else is looked at before it passes) · 400
missing or bad ``X-GitHub-Event`` / ``X-GitHub-Delivery`` · 202 any event but ping and push
(ignored) · 400 body not JSON · 200 ``ping`` · 400 not a push payload · 403 repository not
allowed · 401 signed by a secret that is not this repository's (per-repository secrets) ·
202 tag push, other branch, branch deletion (ignored) · 202 accepted (recorded once per
repository, ref, before and after, enqueued) · 503 a dependency (Secrets Manager, DynamoDB,
SQS) is unavailable — GitHub's redelivery is then safe.

Nothing here imports pydantic (the webhook's cold start, docs/benchmarks.md): the payloads are
validated by :mod:`smgitops.ingest.push`, the environment by :class:`WebhookConfig`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any, NamedTuple, Self, TypeVar, get_type_hints
from urllib.parse import parse_qs

from smgitops.clock import now as clock_now
from smgitops.errors import ConfigurationError, DependencyUnavailableError
from smgitops.ingest import signature
from smgitops.ingest.allowlist import AllowList
from smgitops.ingest.push import Ignored, PayloadError, Ping, Push
from smgitops.urls import identity_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Protocol

    from smgitops.aws.deliveries import Delivery
    from smgitops.ingest.push import WorkMessage

    # What the webhook needs from its adapters (typing only: nothing to build at import).
    class Secret(Protocol):
        def values(self) -> tuple[str, ...]: ...
        def refresh(self) -> tuple[str, ...] | None: ...

    class Deliveries(Protocol):
        def claim(
            self,
            key: str,
            *,
            delivery: str,
            status_code: int,
            response: dict[str, Any],
            repository: str,
            commit: str,
        ) -> Delivery | None: ...
        def mark_queued(self, key: str) -> None: ...

    class Queue(Protocol):
        def send(self, work: WorkMessage) -> str: ...


SIGNATURE = "x-hub-signature-256"
EVENT = "x-github-event"
DELIVERY = "x-github-delivery"
FORM = "application/x-www-form-urlencoded"
DELIVERY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$")
EVENT_NAME = re.compile(r"^[a-z_]{1,64}$")
SHARED = ""  # the signer label of the deployment's shared secret
_P = TypeVar("_P", Push, Ping)


class Request(NamedTuple):
    method: str
    headers: Mapping[str, str]  # names in lower case
    body: str
    is_base64: bool = False


class Response(NamedTuple):
    status_code: int
    body: dict[str, Any]
    headers: Mapping[str, str] = {}  # never mutated

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


class Rejected(Exception):
    """Control flow inside this module: an early answer. Never raised out of it."""

    def __init__(self, status_code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.response = Response(status_code, {"message": message, **extra})


def _answer(status_code: int, message: str, **extra: Any) -> Response:
    return Response(status_code, {"message": message, **extra})


class Webhook:
    def __init__(
        self,
        *,
        secret: Secret,
        deliveries: Deliveries,
        queue: Queue,
        allow: AllowList,
        repository_secrets: Secret | None = None,
        branch: str = "main",
        max_body_bytes: int = 5 * 1024 * 1024,
        clock: Callable[[], float] = clock_now,
    ) -> None:
        self.secret = secret
        self.repository_secrets = repository_secrets
        self.deliveries = deliveries
        self.queue = queue
        self.allow = allow
        self.branch = branch
        self.max_body_bytes = max_body_bytes
        self.clock = clock

    def handle(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except Rejected as rejected:
            return rejected.response
        except DependencyUnavailableError as exc:
            return Response(
                503, {"message": f"unavailable, retry later: {exc}"}, {"Retry-After": "5"}
            )
        except ConfigurationError as exc:
            return _answer(500, f"webhook misconfigured: {exc}")

    def _handle(self, request: Request) -> Response:
        if request.method.upper() != "POST":
            return Response(405, {"message": "only POST is accepted"}, {"Allow": "POST"})
        raw = self._raw_body(request)
        signers = self._verify(request.headers.get(SIGNATURE), raw)
        event = request.headers.get(EVENT, "").strip()
        delivery = request.headers.get(DELIVERY, "").strip()
        if not event:
            raise Rejected(400, "missing header X-GitHub-Event")
        if not EVENT_NAME.match(event):
            raise Rejected(400, "bad header X-GitHub-Event")
        if not DELIVERY_ID.match(delivery):
            raise Rejected(400, "missing or bad header X-GitHub-Delivery")
        if event not in ("ping", "push"):
            return _answer(202, f"ignored: {event}", delivery=delivery)
        data = self._json(raw, request.headers.get("content-type", ""))
        if event == "ping":
            ping = self._validate(Ping, data)
            return _answer(200, "pong", hookId=ping.id, delivery=delivery)
        push = self._validate(Push, data)
        if not self.allow.allows(push.clone_url):
            raise Rejected(403, self.allow.refusal(push.clone_url), delivery=delivery)
        if not signers & self._signers_for(identity_of(push.clone_url)):
            # A valid signature, but by a secret that does not sign for this repository.
            raise Rejected(401, "signature mismatch")
        work = push.work(branch=self.branch, delivery=delivery, received_at=self.clock())
        if isinstance(work, Ignored):
            return _answer(202, work.reason, delivery=delivery)
        return self._accept(work)

    def _raw_body(self, request: Request) -> bytes:
        body = request.body
        if not request.is_base64:
            raw = body.encode("utf-8", "surrogateescape")
        else:
            if len(body) > (self.max_body_bytes + 2) // 3 * 4 + 4:
                raise Rejected(413, f"body over {self.max_body_bytes} bytes")
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise Rejected(400, "body is not valid base64") from None
        if len(raw) > self.max_body_bytes:
            raise Rejected(413, f"body over {self.max_body_bytes} bytes")
        return raw

    def _verify(self, header: str | None, raw: bytes) -> frozenset[str]:
        """Who signed ``raw``: the labels of every secret the signature verifies under
        (:data:`SHARED`, or a repository's entry in the per-repository secrets)."""
        if not header:
            raise Rejected(401, "signature missing: X-Hub-Signature-256")
        header = header.strip()
        if not signature.is_well_formed(header):
            raise Rejected(401, "signature malformed: expected sha256=<64 hex digits>")
        signers = signature.signers(self._candidates(refresh=False), raw, header)
        if signers:
            return signers
        # The secret may have been rotated: re-read (at most once per interval) and retry.
        candidates = self._candidates(refresh=True)
        signers = signature.signers(candidates, raw, header) if candidates else frozenset()
        if not signers:
            raise Rejected(401, "signature mismatch")
        return signers

    def _candidates(self, *, refresh: bool) -> list[tuple[str, bytes]]:
        """(label, secret) for every secret a delivery may be signed with; on ``refresh``, an
        empty list when every source was refreshed too recently to try again."""
        sources = [self.secret]
        if self.repository_secrets is not None:
            sources.append(self.repository_secrets)
        read = [source.refresh() if refresh else source.values() for source in sources]
        if all(values is None for values in read):
            return []
        shared, *teams = [
            values if values is not None else source.values()
            for values, source in zip(read, sources, strict=True)
        ]
        candidates = [(SHARED, value.encode()) for value in shared]
        for document in (document for values in teams for document in values):
            candidates += [
                (entry, value.encode()) for entry, value in repository_secrets(document).items()
            ]
        return candidates

    def _signers_for(self, identity: str) -> frozenset[str]:
        """The labels whose secret may sign for ``identity``: its entries in the
        per-repository secrets when it has any, else the shared secret alone."""
        if self.repository_secrets is None:
            return frozenset({SHARED})
        entries = {
            entry
            for document in self.repository_secrets.values()
            for entry in repository_secrets(document)
            if AllowList((entry,)).allows(identity)
        }
        return frozenset(entries or {SHARED})

    @staticmethod
    def _json(raw: bytes, content_type: str) -> dict[str, Any]:
        try:
            text = raw.decode("utf-8")
            if content_type.split(";", maxsplit=1)[0].strip().lower() == FORM:
                form = parse_qs(text, max_num_fields=64, strict_parsing=True)
                text = form["payload"][0]
            data = json.loads(text)
        except (UnicodeDecodeError, ValueError, KeyError, IndexError, RecursionError) as exc:
            raise Rejected(400, f"body is not JSON: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise Rejected(400, "body is not a JSON object")
        return data

    @staticmethod
    def _validate(payload: type[_P], data: dict[str, Any]) -> _P:
        try:
            return payload.parse(data)
        except PayloadError as exc:
            raise Rejected(400, str(exc)) from None

    def _accept(self, work: WorkMessage) -> Response:
        response = {
            "message": "accepted",
            "delivery": work.delivery,
            "repository": work.identity,
            "commit": work.commit,
        }
        # Keyed on what the signature covers, not on the unsigned delivery id: a captured body
        # replayed under a new X-GitHub-Delivery is the same push, answered as the first time.
        earlier = self.deliveries.claim(
            work.claim_key,
            delivery=work.delivery,
            status_code=202,
            response=response,
            repository=work.identity,
            commit=work.commit,
        )
        if earlier is not None and earlier.state == "queued":
            return Response(earlier.status_code, earlier.response, {"X-Smgitops-Replayed": "true"})
        # New, or an earlier attempt stopped before enqueueing: enqueue (SQS drops a duplicate
        # with the same key inside its 5-minute window), then mark it done.
        self.queue.send(work)
        self.deliveries.mark_queued(work.claim_key)
        if earlier is not None:
            return Response(earlier.status_code, earlier.response, {"X-Smgitops-Replayed": "true"})
        return Response(202, response)


def repository_secrets(document: str) -> dict[str, str]:
    """The per-repository secrets: a JSON object ``{clone URL or pattern: secret}``, keys
    normalised as allow-list entries. Anything else is a configuration error."""
    try:
        data = json.loads(document)
    except ValueError:
        raise ConfigurationError("repository secrets: not a JSON object") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ConfigurationError(
            "repository secrets: expected a JSON object of clone URL: non-empty secret"
        )
    return {AllowList.parse(key).entries[0]: value for key, value in data.items()}


# --- configuration -------------------------------------------------------------------------

_WHOLE = re.compile(r"\+?[0-9]+")


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """The webhook function's environment, read once at cold start without pydantic.

    Each field is read from ``SMGITOPS_<FIELD>`` as the settings models of
    :mod:`smgitops.settings` are (the contract the template is checked against). A missing
    required variable, or a number that is not one, fails loudly with every problem named.
    Numbers are plain decimals, never negative.
    """

    table: str
    webhook_secret: str  # Secrets Manager name or ARN of the HMAC secret
    queue_url: str
    branch: str = "main"
    repository_urls: str = ""  # comma-separated clone URLs (or fnmatch patterns) accepted
    repository_secrets: str = ""  # optional secret: {clone URL or pattern: HMAC secret}
    max_body_bytes: int = 5 * 1024 * 1024
    secret_refresh_seconds: float = 5.0  # at most one re-read of the secret per this, on a 401
    secret_cache_seconds: float = 300.0  # cached secrets are read again after this
    previous_secret_seconds: float = 3600.0  # AWSPREVIOUS verifies this long after a rotation
    delivery_ttl_seconds: int = 7 * 86400  # delivery records (dedupe) expire after this

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        types = get_type_hints(cls)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for field in fields(cls):
            name = f"SMGITOPS_{field.name.upper()}"
            raw = env.get(name, "")
            if raw == "":  # unset or empty: the default, if there is one
                if field.default is MISSING:  # no default: required
                    problems.append(f"{name} (missing)")
                continue
            try:
                values[field.name] = _convert(types[field.name], raw)
            except ValueError as exc:
                problems.append(f"{name} ({exc}: {raw[:40]!r})")
        if problems:
            raise ConfigurationError(f"webhook: bad environment: {', '.join(problems)}")
        return cls(**values)


def _convert(kind: type, raw: str) -> str | int | float:
    text = raw.strip()
    if kind is int:
        if not _WHOLE.fullmatch(text):
            raise ValueError("not a whole number >= 0")
        return int(text)
    if kind is float:
        try:
            number = float(text) if text.isascii() else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise ValueError("not a number >= 0")
        return number
    return raw
