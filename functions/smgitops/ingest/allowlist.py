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

from smgitops.urls import normalise, redact

_PATTERN_CHARS = frozenset("*?[")
_DOT_SEGMENT = frozenset({".", ".."})
# A query or fragment is dropped by the comparison (and the identity), percent-encoding could
# hide a dot segment a server decodes, a backslash is a separator to some parsers: a clone URL
# carries none of them, so none is allowed (the identity is then exactly what git fetches).
_REFUSED = frozenset("?#%\\")


@dataclass(frozen=True)
class AllowList:
    entries: tuple[str, ...]

    @classmethod
    def parse(cls, setting: str) -> AllowList:
        return cls(tuple(normalise(e) for e in setting.split(",") if e.strip()))

    def allows(self, url: str) -> bool:
        if _REFUSED & set(url):
            return False
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
