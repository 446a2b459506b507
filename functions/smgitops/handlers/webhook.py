"""Webhook function (Lambda Function URL): GitHub push → verified, deduplicated, enqueued.

Kept light on purpose (cold start, docs/benchmarks.md): no pydantic, no GitPython, no YAML, no
declaration or rollout models on this path, and no powertools event handler — a Function URL
has one route, so the request is mapped here. The environment is read by
:class:`~smgitops.ingest.webhook.WebhookConfig`, a dataclass.
"""

from __future__ import annotations

import json
from typing import Any

from smgitops.errors import ConfigurationError
from smgitops.ingest.webhook import Request, Response
from smgitops.observability import logger
from smgitops.wiring.webhook import webhook


def request_from(event: Any) -> Request:
    """A Function URL (payload 2.0) event as a :class:`Request`; tolerant of missing parts."""
    if not isinstance(event, dict):
        return Request(method="", headers={}, body="")
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method", "POST") if isinstance(http, dict) else "POST"
    raw_headers = event.get("headers")
    headers = (
        {str(k).lower(): str(v) for k, v in raw_headers.items()}
        if isinstance(raw_headers, dict)
        else {}
    )
    body = event.get("body")
    return Request(
        method=str(method),
        headers=headers,
        body=body if isinstance(body, str) else "",
        is_base64=event.get("isBase64Encoded") is True,
    )


def _http(response: Response) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json", **response.headers},
        "body": json.dumps(response.body),
    }


def handler(event: Any, context: Any) -> dict[str, Any]:
    del context
    request = request_from(event)
    log = logger()
    try:
        response = webhook().handle(request)
    except ConfigurationError as exc:
        log.error("webhook misconfigured", extra={"error": str(exc)})
        response = Response(500, {"message": "webhook misconfigured"})
    except Exception:  # the boundary: log the traceback, answer without it
        log.exception("webhook failed")
        response = Response(500, {"message": "internal error"})
    log.info(
        "webhook answered",
        extra={
            "status": response.status_code,
            "reason": response.message,
            "event": request.headers.get("x-github-event", "")[:64],
            "delivery": request.headers.get("x-github-delivery", "")[:128],
        },
    )
    return _http(response)
