"""HTTPS git credentials for fetching, parsed from the git credentials secret's value (which
:mod:`smgitops.aws.secrets` reads; :mod:`smgitops.git.repository` uses them)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from smgitops.errors import ConfigurationError


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
