"""Reconcile function: SQS FIFO records (push work, or CodeCommit EventBridge events) → rollouts.

Partial batch response: a record that failed for a reason a retry can fix (AWS unavailable,
git fetch failed, a status write conflict) is recorded as ``failed`` with the attempt number
and reported in ``batchItemFailures`` together with every record after it, so the queue's
per-repository order holds; after the queue's ``maxReceiveCount`` it goes to the dead-letter
queue, from where it can be redriven. Bad messages are logged and dropped (a retry cannot fix
them).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from smgitops.errors import ConflictError, GitFetchError, TransientError
from smgitops.ingest.codecommit import DETAIL_TYPE, CodeCommitEvent
from smgitops.ingest.work import Ignored, PushWork
from smgitops.observability import logger
from smgitops.wiring import reconcile as wiring


def work_from(body: Any, *, branch: str) -> PushWork | Ignored:
    """A message body (push work JSON, or a CodeCommit EventBridge event) as work.

    Raises ``ValueError`` (``ValidationError``) for a body that is neither.
    """
    data = json.loads(body) if isinstance(body, str | bytes) else body
    if not isinstance(data, dict):
        raise ValueError("message body is not a JSON object")
    if data.get("detail-type") == DETAIL_TYPE:
        return CodeCommitEvent.model_validate(data).work(branch=branch)
    if "detail-type" in data:
        return Ignored(reason=f"ignored: EventBridge event {str(data['detail-type'])[:80]}")
    return PushWork.model_validate(data)


LOG_KEYS = ("repository", "commit", "delivery")


def process(body: Any, *, attempt: int = 1) -> dict[str, Any]:
    """One message; returns what was done. Raises only retryable errors.

    The message's log keys are its own: cleared when it is done, so neither the next record
    of the batch nor the next invocation of a warm container is logged as this push.
    """
    try:
        return _process(body, attempt)
    finally:
        logger().remove_keys(list(LOG_KEYS))


def _process(body: Any, attempt: int) -> dict[str, Any]:
    log = logger()
    log.remove_keys(list(LOG_KEYS))
    try:
        work = work_from(body, branch=wiring.settings().branch)
    except (ValueError, ValidationError, RecursionError) as exc:
        log.error("message dropped: not push work", extra={"error": _short(exc)})
        return {"status": "dropped", "reason": _short(exc)}
    if isinstance(work, Ignored):
        log.info("message ignored", extra={"reason": work.reason})
        return {"status": "ignored", "reason": work.reason}
    log.append_keys(repository=work.identity, commit=work.commit, delivery=work.delivery)
    reconciler = wiring.reconciler()
    try:
        record = reconciler.reconcile(work)
    except (TransientError, GitFetchError, ConflictError) as exc:
        reconciler.fail(work, f"attempt {attempt} failed, the queue retries: {exc}")
        raise
    log.info("push reconciled", extra={"status": record.status, "reason": record.reason})
    return record.to_json()


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def handler(event: Any, context: Any) -> dict[str, Any]:
    del context
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return _batch(event["Records"])
    return process(event)  # invoked directly: one push work or EventBridge event


def _batch(records: list[Any]) -> dict[str, Any]:
    failures: list[dict[str, str]] = []
    for record in records:
        message_id = str(record.get("messageId", "")) if isinstance(record, dict) else ""
        if failures:  # FIFO: nothing after a failed record may run before it
            failures.append({"itemIdentifier": message_id})
            continue
        attempt = _attempt(record)
        try:
            process(record.get("body") if isinstance(record, dict) else None, attempt=attempt)
        except (TransientError, GitFetchError, ConflictError) as exc:
            logger().warning(
                "push will be retried",
                extra={"messageId": message_id, "error": f"{type(exc).__name__}: {exc}"},
            )
            failures.append({"itemIdentifier": message_id})
        except Exception:  # retried (then dead-lettered), never dropped: a push must not be lost
            logger().exception("push failed; will be retried", extra={"messageId": message_id})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _attempt(record: Any) -> int:
    try:
        return int(record["attributes"]["ApproximateReceiveCount"])
    except (KeyError, TypeError, ValueError):
        return 1
