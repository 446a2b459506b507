"""The one error hierarchy of smgitops: every error class it raises on purpose is here.

Class names double as Step Functions ``ErrorEquals`` names, and Step Functions matches them
EXACTLY (the Python runtime reports the class name as ``errorType``; there is no subclass
match). The state machine (``infra/statemachine/rollout.asl.json``) retries
:data:`STATE_MACHINE_RETRIES` and each of their subclasses by name (tests/template/ checks the
list), never a breached alarm or a rejected update; and the tick handler raises a subclass of
those under its base's name (:func:`for_state_machine`), so a subclass not yet listed is
retried too, not rolled back.
"""

from __future__ import annotations

import json
from typing import Any


class SmgitopsError(Exception):
    """Base of every error smgitops raises on purpose."""


class TransientError(SmgitopsError):
    """Worth retrying: throttling, 5xx, an endpoint busy with another update."""


class ConflictError(SmgitopsError):
    """A conditional write lost: someone else changed the status first (a stale writer)."""


class NotFoundError(SmgitopsError):
    """A thing that should exist does not (status, endpoint, rollout)."""


class ActionRejectedError(SmgitopsError):
    """AWS refused an action for a reason retrying cannot fix (ValidationException...)."""

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(f"{action}: {reason}")
        self.action = action
        self.reason = reason


class ConfigurationError(SmgitopsError):
    """The function's environment or the application's config is wrong (fails at start-up)."""


def secret_object(text: str, what: str) -> dict[str, Any] | None:
    """A secret's (stripped) value as its JSON object, None for a bare value (not ``{…}``).

    ``{…}`` that is not JSON is a :class:`ConfigurationError` naming ``what`` (never the value).
    """
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"{what} secret is not valid JSON") from None
    if not isinstance(data, dict):  # JSON starting with "{" is an object; for the type checker
        raise ConfigurationError(f"{what} secret must be a JSON object")
    return data


class DeclarationError(SmgitopsError):
    """One or more declarations are invalid; ``problems`` holds each located problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class SignatureError(SmgitopsError):
    """A webhook delivery whose signature is missing or wrong."""


class BadRequestError(SmgitopsError):
    """A request that is malformed: the caller gets a 4xx with this reason."""


class PayloadTooLargeError(BadRequestError):
    """A request body over the accepted size."""


class EndpointBusyError(TransientError):
    """The endpoint is being updated by someone else (another tick, SageMaker itself)."""


class DependencyUnavailableError(TransientError):
    """A service the function needs (Secrets Manager...) cannot be reached right now."""


class GitFetchError(SmgitopsError):
    """The repository or the commit could not be fetched."""


class CommitNotOnBranchError(SmgitopsError):
    """The pushed commit is not reachable from the tracked branch as fetched (a pull request's
    head, a fork's commit, an unknown id): deterministic, recorded once, never retried."""


class QuotaUnreadableError(SmgitopsError):
    """The account's instance quota, or the other endpoints' use of it, could not be read
    (aws/quotas.py): the message names the missing permission."""


class ImageResolutionError(SmgitopsError):
    """``model.framework`` has no image for the function's region in the bundled image table
    (``smgitops/data/image_uris.json``); retrying cannot help, regenerating the table may."""


STATE_MACHINE_RETRIES: tuple[type[SmgitopsError], ...] = (TransientError, ConflictError)


def for_state_machine(error: Exception) -> Exception:
    """``error`` as the state machine must see it: a subclass of a retried class becomes that
    class (same message, its own name first), anything else stays as it is."""
    for retried in STATE_MACHINE_RETRIES:
        if isinstance(error, retried) and type(error) is not retried:
            return retried(f"{type(error).__name__}: {error}")
    return error
