"""Which repositories smgitops may fetch: ``SMGITOPS_REPOSITORY_URLS``, comma-separated.

Each entry is a clone URL (``https://github.com/acme/models.git``), a local path or ``file://``
URL (local runtime), or an :mod:`fnmatch` pattern (``https://github.com/acme/*``). Comparison
ignores a trailing ``/`` or ``.git`` and the case of the scheme and host. An empty list allows
nothing: a webhook that would fetch any repository a payload names is refused by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

_PATTERN_CHARS = frozenset("*?[")
_DOT_SEGMENT = frozenset({".", ".."})


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


def status_target(identity: str) -> str:
    """``owner/repo`` for the commit-status API: the last two path segments of the identity
    (``https://github.com/acme/risk`` → ``acme/risk``), never a payload's ``full_name``."""
    path = urlsplit(identity).path if "://" in identity else identity
    return "/".join([part for part in path.split("/") if part][-2:])


@dataclass(frozen=True)
class AllowList:
    entries: tuple[str, ...]

    @classmethod
    def parse(cls, setting: str) -> AllowList:
        return cls(tuple(normalise(e) for e in setting.split(",") if e.strip()))

    def allows(self, url: str) -> bool:
        candidate = normalise(url)
        if "@" in urlsplit(candidate).netloc or _DOT_SEGMENT & set(candidate.split("/")):
            return False  # no credentials in a URL, no "..": a pattern cannot be escaped
        return any(
            fnmatchcase(candidate, entry) if _PATTERN_CHARS & set(entry) else candidate == entry
            for entry in self.entries
        )

    def refusal(self, url: str) -> str:
        """Why ``url`` is refused (callers check :meth:`allows` first)."""
        if not self.entries:
            return "no repository is allowed: set SMGITOPS_REPOSITORY_URLS"
        return f"repository {redact(url)} is not in SMGITOPS_REPOSITORY_URLS"


def redact(url: str) -> str:
    """``url`` without any user or password it may carry (for logs and messages)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"***@{host}").geturl()
