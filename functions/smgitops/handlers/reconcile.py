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
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from smgitops.aws.deliveries import PushStore
from smgitops.aws.github import GitHubStatuses
from smgitops.aws.secrets import CachedSecret, SecretReader, token_from
from smgitops.errors import ConflictError, GitFetchError, TransientError
from smgitops.git.credentials import GitCredentials
from smgitops.git.repository import GitFetcher
from smgitops.ingest.allowlist import AllowList
from smgitops.ingest.codecommit import DETAIL_TYPE, CodeCommitEvent
from smgitops.ingest.work import Ignored, PushWork
from smgitops.observability import logger
from smgitops.reconcile.reconciler import Reconciler
from smgitops.rollout.service import RolloutService
from smgitops.settings import ReconcileSettings

SECRET_MAX_AGE_S = 300.0


@cache
def settings() -> ReconcileSettings:
    return ReconcileSettings.from_env()


@cache
def service() -> Reconciler:
    """Built once per container (tests call ``service.cache_clear()``)."""
    config = settings()
    git_secret = (
        CachedSecret(SecretReader(config.git_credentials_secret), max_age=SECRET_MAX_AGE_S)
        if config.git_credentials_secret
        else None
    )
    token_secret = (
        CachedSecret(SecretReader(config.github_token_secret), max_age=SECRET_MAX_AGE_S)
        if config.github_token_secret
        else None
    )

    def credentials(url: str) -> GitCredentials | None:
        del url
        return GitCredentials.parse(git_secret.values()[0]) if git_secret else None

    def statuses() -> GitHubStatuses | None:
        if token_secret is None:
            return None
        return GitHubStatuses(config.github_api_url, token_from(token_secret.values()[0]))

    return Reconciler(
        fetcher=GitFetcher(Path(config.workdir), credentials),
        engine=RolloutService.from_settings(config),
        pushes=PushStore(config.table),
        allow=AllowList.parse(config.repository_urls),
        statuses=statuses,
        branch=config.branch,
        declarations_dir=config.declarations_dir,
        prune=config.prune,
        max_endpoints=config.max_endpoints,
        role_path=config.execution_role_path,
        deployment_arn=config.state_machine_arn,
    )


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
        work = work_from(body, branch=settings().branch)
    except (ValueError, ValidationError, RecursionError) as exc:
        log.error("message dropped: not push work", extra={"error": _short(exc)})
        return {"status": "dropped", "reason": _short(exc)}
    if isinstance(work, Ignored):
        log.info("message ignored", extra={"reason": work.reason})
        return {"status": "ignored", "reason": work.reason}
    log.append_keys(repository=work.identity, commit=work.commit, delivery=work.delivery)
    reconciler = service()
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
