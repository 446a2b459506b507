"""Mapping botocore errors to the smgitops hierarchy, in one place."""

from __future__ import annotations

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
