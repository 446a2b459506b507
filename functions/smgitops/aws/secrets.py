"""Secrets Manager: the webhook's HMAC secret, git credentials and the GitHub token.

Values are cached per container and never logged. A failed fetch raises
:class:`DependencyUnavailableError` (the caller answers 503 or lets the message be retried).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws.clients import client as aws_client
from smgitops.errors import ConfigurationError, DependencyUnavailableError

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
        return str(value)


class CachedSecret:
    """A secret cached across invocations, refreshed on demand (rotation) but at most once per
    ``min_refresh`` seconds, so a stream of bad signatures cannot hammer Secrets Manager."""

    def __init__(
        self,
        reader: SecretReader,
        *,
        max_age: float | None = None,
        min_refresh: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._clock = clock
        self._values: tuple[str, ...] | None = None
        self._fetched_at = 0.0

    def values(self) -> tuple[str, ...]:
        """The cached value(s): AWSCURRENT, plus AWSPREVIOUS after a refresh found one."""
        values = self._values
        expired = self._max_age is not None and self._clock() - self._fetched_at > self._max_age
        if values is None or expired:
            values = self._store((self._current(),))
        return values

    def refresh(self) -> tuple[str, ...] | None:
        """Re-read AWSCURRENT and AWSPREVIOUS; None when refreshed too recently to try again."""
        if self._values is not None and self._clock() - self._fetched_at < self._min_refresh:
            return None
        current = self._current()
        previous = self._reader.read(PREVIOUS)
        extra = (previous,) if previous is not None and previous != current else ()
        return self._store((current, *extra))

    def _current(self) -> str:
        value = self._reader.read(CURRENT)
        if value is None:  # read() raises instead for AWSCURRENT; kept for the type checker
            raise ConfigurationError(f"secret {self._reader.secret_id} has no current value")
        return value

    def _store(self, values: tuple[str, ...]) -> tuple[str, ...]:
        self._values = values
        self._fetched_at = self._clock()
        return values


@dataclass(frozen=True)
class GitCredentials:
    """HTTPS git credentials. Secret: ``{"username": …, "password": …}`` or a bare token."""

    username: str
    password: str

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return f"GitCredentials(username={self.username!r}, password=***)"

    @classmethod
    def parse(cls, value: str) -> GitCredentials:
        text = value.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                raise ConfigurationError("git credentials secret is not valid JSON") from None
            if not isinstance(data, dict):
                raise ConfigurationError("git credentials secret must be a JSON object")
            username = data.get("username")
            password = data.get("password") or data.get("token")
            if not isinstance(password, str) or not password:
                raise ConfigurationError("git credentials secret has no password or token")
            return cls(
                username if isinstance(username, str) and username else "x-access-token", password
            )
        if not text:
            raise ConfigurationError("git credentials secret is empty")
        return cls("x-access-token", text)


def token_from(value: str) -> str:
    """A GitHub token from its secret: a bare token or ``{"token": …}``."""
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigurationError("GitHub token secret is not valid JSON") from None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ConfigurationError("GitHub token secret has no token")
        return token
    return text
