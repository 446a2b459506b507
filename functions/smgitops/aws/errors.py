"""Mapping botocore errors to the smgitops hierarchy, in one place."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.errors import ActionRejectedError, DependencyUnavailableError, TransientError

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "InternalServiceError",
        "InternalServerException",
        "ServiceException",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)


def code_of(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def message_of(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def is_transient(error: Exception) -> bool:
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code_of(error) in TRANSIENT_CODES or status >= 500
    return isinstance(error, BotoCoreError)


def translate(error: Exception, action: str) -> Exception:
    """The smgitops error for a failed AWS call (botocore already retried transient ones)."""
    if is_transient(error):
        return TransientError(f"{action}: {error}")
    if isinstance(error, ClientError):
        return ActionRejectedError(action, message_of(error) or code_of(error))
    return error


def unavailable(what: str, exc: Exception) -> DependencyUnavailableError:
    """A failed call on the webhook's and the queue's path (DynamoDB, SQS), after the client's
    own retries, as a retryable error: the caller answers 503 or lets the message be retried."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        return DependencyUnavailableError(f"{what} failed: {code}")
    return DependencyUnavailableError(f"{what} failed: {type(exc).__name__}")


def sagemaker_missing(error: ClientError) -> bool:
    """SageMaker's "no such resource": a ValidationException (ResourceNotFound for some
    operations) whose message says so — not any ValidationException."""
    text = message_of(error).lower()
    return code_of(error) in {"ValidationException", "ResourceNotFound"} and (
        "could not find" in text or "not found" in text or "does not exist" in text
    )


def describe_or_none(client: Any, operation: str, **params: Any) -> dict[str, Any] | None:
    """A SageMaker Describe call's answer; None when the resource does not exist; any other
    failure translated (:func:`translate`)."""
    try:
        out: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as exc:
        if sagemaker_missing(exc):
            return None
        raise translate(exc, operation) from exc
    except BotoCoreError as exc:
        raise translate(exc, operation) from exc
    return out
