"""GitHub's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw request body, hex, ``sha256=`` prefix.

Compared in constant time with :func:`hmac.compare_digest`; the secret is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

PREFIX = "sha256="
_HEX_DIGITS = 64


def sign(secret: bytes, body: bytes) -> str:
    """The header value GitHub sends for ``body`` signed with ``secret``."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def is_well_formed(header: str) -> bool:
    """``sha256=`` followed by 64 hex digits (a cheap check before any secret is fetched)."""
    digest = header[len(PREFIX) :]
    return (
        header.startswith(PREFIX)
        and len(digest) == _HEX_DIGITS
        and all(c in "0123456789abcdefABCDEF" for c in digest)
    )


def verify(secrets: Iterable[bytes], body: bytes, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` under one of ``secrets``; every one
    is compared, as in :func:`signers`."""
    return bool(signers((("", secret) for secret in secrets), body, header))


def signers(candidates: Iterable[tuple[str, bytes]], body: bytes, header: str) -> frozenset[str]:
    """The labels of every ``(label, secret)`` candidate ``header`` is the signature of
    ``body`` under.

    Every candidate is compared (no early exit on the first match) so the time taken does
    not tell which secret, if any, matched.
    """
    expected = header.strip().lower().encode("ascii", "replace")
    return frozenset(
        label
        for label, secret in list(candidates)
        if hmac.compare_digest(sign(secret, body).encode(), expected)
    )
