"""Mapping botocore errors to the smgitops hierarchy, in one place."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.errors import ActionRejectedError, TransientError

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
