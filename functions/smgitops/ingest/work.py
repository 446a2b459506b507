"""The unit of reconcile work: one push (GitHub or CodeCommit) to the tracked branch.

It travels as the JSON body of an SQS FIFO message (camelCase keys), grouped by repository so
pushes to one repository are reconciled in order, one at a time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

Provider = Literal["github", "codecommit", "local"]

COMMIT_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
ZERO_SHA = re.compile(r"^0+$")
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"


def is_local_url(url: str) -> bool:
    """A local path or ``file://`` URL: the local runtime's stand-in for GitHub."""
    return url.startswith(("/", "file://", "./", "../"))


def parse_timestamp(value: float | str) -> float:
    """Seconds since the epoch from a number or an ISO 8601 string (``Z`` or an offset)."""
    if isinstance(value, int | float):
        return float(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class _Camel(BaseModel):
    # defer_build: the schema is built on first use, not at import (the webhook's cold start).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        defer_build=True,
    )


class PushWork(_Camel):
    """What the reconcile function needs to reconcile one push, and nothing it must trust blindly:
    the repository is checked against the allow-list again before it is fetched."""

    kind: Literal["push"] = "push"
    provider: Provider
    repository: str = Field(min_length=1, max_length=2048, description="clone URL or local path")
    full_name: str = Field(min_length=1, max_length=256, description="owner/repo or repo name")
    ref: str = Field(pattern=r"^refs/heads/.+")
    commit: str
    pushed_at: float = Field(ge=0, description="the ordering key: newer pushes win")
    delivery: str = Field(min_length=1, max_length=128)
    before: str | None = None
    pusher: str | None = Field(default=None, max_length=256)

    @field_validator("commit", "before")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not COMMIT_SHA.match(value):
            raise ValueError("not a full lowercase hex commit id")
        return value

    @property
    def branch(self) -> str:
        return self.ref.removeprefix(BRANCH_PREFIX)

    def source(self) -> dict[str, str]:
        """The ``source`` mapping the rollout engine records against each rollout."""
        return {
            "repository": self.repository,
            "fullName": self.full_name,
            "ref": self.ref,
            "delivery": self.delivery,
            "provider": self.provider,
        }

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class Ignored(NamedTuple):
    """An event that is authentic but asks for nothing to be done, and why."""

    reason: str
