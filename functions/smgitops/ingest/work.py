"""The unit of reconcile work: one push (GitHub or CodeCommit) to the tracked branch.

It travels as the JSON body of an SQS FIFO message (camelCase keys), grouped by repository so
pushes to one repository are reconciled in order, one at a time. The webhook writes it without
pydantic (:class:`~smgitops.ingest.push.WorkMessage`, its cold path); :class:`PushWork`
validates it on the reconcile side and writes the same JSON through the same class.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from smgitops.ingest.push import (
    BRANCH_PREFIX,
    COMMIT_SHA,
    MAX_CLONE_URL,
    MAX_FULL_NAME,
    MAX_PUSHER,
    MAX_TIMESTAMP,
    TAG_PREFIX,
    ZERO_SHA,
    Ignored,
    Provider,
    WorkMessage,
    claim_key,
    is_local_url,
    parse_timestamp,
)
from smgitops.urls import identity_of, status_target

__all__ = [
    "BRANCH_PREFIX",
    "COMMIT_SHA",
    "TAG_PREFIX",
    "ZERO_SHA",
    "Ignored",
    "Provider",
    "PushWork",
    "is_local_url",
    "parse_timestamp",
]


class _Camel(BaseModel):
    # defer_build: the schema is built on first use, not at import.
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
    repository: str = Field(
        min_length=1, max_length=MAX_CLONE_URL, description="clone URL or local path"
    )
    full_name: str = Field(
        min_length=1, max_length=MAX_FULL_NAME, description="owner/repo or repo name (display)"
    )
    ref: str = Field(pattern=r"^refs/heads/.+")
    commit: str
    pushed_at: float = Field(
        ge=0,
        le=MAX_TIMESTAMP,
        allow_inf_nan=False,
        description="when smgitops received the push: with git ancestry, the ordering key",
    )
    delivery: str = Field(min_length=1, max_length=128)
    before: str | None = None
    pusher: str | None = Field(default=None, max_length=MAX_PUSHER)

    @field_validator("commit", "before")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not COMMIT_SHA.match(value):
            raise ValueError("not a full lowercase hex commit id")
        return value

    @classmethod
    def of(cls, message: WorkMessage) -> Self:
        """The webhook's message, validated."""
        return cls.model_validate(message.fields())

    @property
    def branch(self) -> str:
        return self.ref.removeprefix(BRANCH_PREFIX)

    @property
    def identity(self) -> str:
        """The repository's identity (:attr:`WorkMessage.identity`); ``full_name`` is display."""
        return identity_of(self.repository)

    @property
    def claim_key(self) -> str:
        """What the webhook deduplicated this push on (:attr:`WorkMessage.claim_key`)."""
        return claim_key(self.identity, self.ref, self.before, self.commit)

    @property
    def status_target(self) -> str:
        """``owner/repo`` commit statuses are posted to, derived from the identity."""
        return status_target(self.identity)

    def source(self) -> dict[str, str]:
        """The ``source`` mapping the rollout engine records against each rollout."""
        return {
            "repository": self.repository,
            "identity": self.identity,
            "fullName": self.full_name,
            "ref": self.ref,
            "delivery": self.delivery,
            "provider": self.provider,
        }

    def to_message(self) -> str:
        return WorkMessage(**self.model_dump(exclude={"kind"})).to_message()
