"""Commit statuses on GitHub (``POST /repos/{owner}/{repo}/statuses/{sha}``).

Best effort by design: a GitHub outage must never fail a deploy, so :meth:`post` logs a
warning and returns False instead of raising. Short timeouts; the token is never logged.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Literal
from urllib.parse import quote

from smgitops.observability import logger

State = Literal["pending", "success", "failure", "error"]
STATES = frozenset({"pending", "success", "failure", "error"})
DESCRIPTION_MAX = 140
CONTEXT_MAX = 255
_FULL_NAME = re.compile(r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+\Z")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: it would carry the token to another host."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def shorten(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class GitHubStatuses:
    def __init__(self, api_url: str, token: str, *, timeout: float = 3.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"GitHubStatuses(api_url={self.api_url!r}, token=***)"

    def post(
        self,
        full_name: str,
        sha: str,
        state: State,
        context: str,
        description: str,
        *,
        target_url: str | None = None,
    ) -> bool:
        """Set the commit status; True when GitHub accepted it, False (logged) otherwise."""
        if not _FULL_NAME.match(full_name) or not _SHA.match(sha) or state not in STATES:
            logger().warning(
                "commit status not sent: bad arguments",
                extra={"repository": full_name[:256], "commit": sha[:80], "state": state},
            )
            return False
        body: dict[str, str] = {
            "state": state,
            "context": context[:CONTEXT_MAX],
            "description": shorten(description),
        }
        if target_url:
            body["target_url"] = target_url
        owner, repo = full_name.split("/", 1)
        request = urllib.request.Request(  # noqa: S310 - the scheme is the configured API URL
            f"{self.api_url}/repos/{quote(owner)}/{quote(repo)}/statuses/{sha}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": "smgitops",
            },
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                accepted = 200 <= int(response.status) < 300
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code}"
            accepted = False
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = type(exc).__name__
            accepted = False
        else:
            reason = "ok"
        if not accepted:
            logger().warning(
                "commit status not sent",
                extra={
                    "repository": full_name,
                    "commit": sha,
                    "context": context,
                    "reason": reason,
                },
            )
        return accepted
