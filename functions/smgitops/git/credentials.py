"""HTTPS git credentials for fetching, parsed from the git credentials secret's value (which
:mod:`smgitops.aws.secrets` reads; :mod:`smgitops.git.repository` uses them)."""

from __future__ import annotations

from dataclasses import dataclass

from smgitops.errors import ConfigurationError, secret_object


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
        data = secret_object(text, "git credentials")
        if data is not None:
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
