"""Secrets Manager: the webhook's HMAC secret, git credentials and the GitHub token.

Values are cached per container and never logged. A failed fetch raises
:class:`DependencyUnavailableError` (the caller answers 503 or lets the message be retried).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws.clients import client as aws_client
from smgitops.errors import ConfigurationError, DependencyUnavailableError, secret_object

if TYPE_CHECKING:
    from collections.abc import Callable

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"


class SecretReader:
    """Reads one secret's string value at a version stage."""

    def __init__(self, secret_id: str, client: Any = None) -> None:
        self.secret_id = secret_id
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("secretsmanager")
        return self._client

    def read(self, stage: str = CURRENT) -> str | None:
        """The value at ``stage``; None when that stage does not exist (except AWSCURRENT)."""
        version = self.version(stage)
        return None if version is None else version.value

    def version(self, stage: str = CURRENT) -> Version | None:
        """The value at ``stage`` and when that version was created; None when that stage does
        not exist (except AWSCURRENT: a missing secret is a configuration error)."""
        try:
            response = self.client.get_secret_value(SecretId=self.secret_id, VersionStage=stage)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                if stage != CURRENT:
                    return None
                raise ConfigurationError(f"secret {self.secret_id} does not exist") from None
            raise DependencyUnavailableError(
                f"Secrets Manager refused to read {self.secret_id}: {code}"
            ) from None
        except BotoCoreError as exc:
            raise DependencyUnavailableError(
                f"Secrets Manager unavailable: {type(exc).__name__}"
            ) from None
        value = response.get("SecretString")
        if value is None:
            raise ConfigurationError(f"secret {self.secret_id} has no string value")
        created = response.get("CreatedDate")
        return Version(str(value), created.timestamp() if isinstance(created, datetime) else None)


class Version(NamedTuple):
    value: str
    created_at: float | None  # seconds since the epoch (GetSecretValue's CreatedDate)


class CachedSecret:
    """A secret cached across invocations for at most ``max_age`` seconds, refreshed on demand
    (a signature that does not verify may mean a rotation) but at most once per
    ``min_refresh`` seconds, so a stream of bad signatures cannot hammer Secrets Manager.

    Rotation revokes: AWSPREVIOUS is among :meth:`values` only while less than
    ``previous_window`` seconds have passed since AWSCURRENT was created (its
    ``CreatedDate``, by the wall clock), cached or not; ``0`` never accepts it. Removing the
    AWSPREVIOUS stage takes effect within ``max_age``.
    """

    def __init__(
        self,
        reader: SecretReader,
        *,
        max_age: float | None = None,
        min_refresh: float = 5.0,
        previous_window: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._reader = reader
        self.max_age = max_age
        self.previous_window = previous_window
        self._min_refresh = min_refresh
        self._clock = clock
        self._wall = wall
        self._current: str | None = None
        self._previous: str | None = None
        self._previous_until = 0.0  # wall-clock end of the previous value's window
        self._fetched_at = 0.0

    def values(self) -> tuple[str, ...]:
        """AWSCURRENT, then AWSPREVIOUS while its window lasts."""
        expired = self.max_age is not None and self._clock() - self._fetched_at > self.max_age
        if self._current is None or expired:
            self._load()
        return self._accepted()

    def refresh(self) -> tuple[str, ...] | None:
        """Re-read the secret; None when refreshed too recently to try again."""
        if self._current is not None and self._clock() - self._fetched_at < self._min_refresh:
            return None
        self._load()
        return self._accepted()

    def _accepted(self) -> tuple[str, ...]:
        current = self._current
        if current is None:  # _load() sets it or raises; kept for the type checker
            raise ConfigurationError(f"secret {self._reader.secret_id} has no current value")
        if self._previous is None or self._wall() >= self._previous_until:
            return (current,)
        return (current, self._previous)

    def _load(self) -> None:
        current = self._reader.version(CURRENT)
        if current is None:  # version() raises instead for AWSCURRENT; for the type checker
            raise ConfigurationError(f"secret {self._reader.secret_id} has no current value")
        previous = None
        until = 0.0
        if self.previous_window > 0 and current.created_at is not None:
            until = current.created_at + self.previous_window
            if self._wall() < until:
                found = self._reader.version(PREVIOUS)
                previous = found.value if found is not None else None
        self._current = current.value
        self._previous = previous if previous != current.value else None
        self._previous_until = until
        self._fetched_at = self._clock()


def token_from(value: str) -> str:
    """A GitHub token from its secret: a bare token or ``{"token": …}``."""
    text = value.strip()
    data = secret_object(text, "GitHub token")
    if data is not None:
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ConfigurationError("GitHub token secret has no token")
        return token
    return text
