"""Clone URLs: a repository's identity, where its commit statuses go, and the form of a URL that
is safe to print.

Pure and standard library only: the webhook (on its cold path), the reconcile, git and the
notifiers all name a repository the same way (DESIGN §6, ownership).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def normalise(url: str) -> str:
    """A comparable form of a clone URL or local path."""
    url = url.strip()
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    if "://" in url:
        parts = urlsplit(url)
        url = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    url = url.rstrip("/")
    return url.removesuffix(".git").rstrip("/")


def identity_of(url: str) -> str:
    """A repository's identity: its normalised clone URL (scheme and host lower-cased, no
    trailing ``/`` or ``.git``); for the local runtime, the repository's path."""
    return normalise(url)


STATUS_PROVIDERS = frozenset({"github", "local"})
"""Pushes whose commits get GitHub commit statuses (when a token is configured): GitHub's, and
the local runtime's repositories, which play GitHub with the same payload (their statuses go to
the configured API URL, e.g. a local server)."""


def status_target(identity: str) -> str:
    """``owner/repo`` for the commit-status API: the last two path segments of the identity
    (``https://github.com/acme/risk`` → ``acme/risk``), never a payload's ``full_name``."""
    path = urlsplit(identity).path if "://" in identity else identity
    return "/".join([part for part in path.split("/") if part][-2:])


def redact(url: str) -> str:
    """``url`` without any user or password it may carry (for logs and messages)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"***@{host}").geturl()
