"""Typed GitHub webhook payloads (``push`` and ``ping``) as pydantic models.

Only the fields smgitops reads are modelled; GitHub adds fields freely, so extras are ignored.
The webhook function does not use these models (pydantic would double its cold start): it
validates with :class:`smgitops.ingest.push.Push` and :class:`~smgitops.ingest.push.Ping`,
which follow the same rules. These models are the typed, documented form of those rules, for
code and tests that already hold pydantic; ``tests/unit/test_ingest_push.py`` checks that both
accept and refuse the same payloads with the same reasons. Strict: JSON types are not coerced.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smgitops.ingest.push import (
    COMMIT_SHA,
    MAX_CLONE_URL,
    MAX_FULL_NAME,
    MAX_PUSHER,
    MAX_REF,
    MAX_TIMESTAMP,
    NOT_A_SHA,
    ZERO_SHA,
    Ignored,
    Push,
    parse_timestamp,
)
from smgitops.ingest.work import PushWork


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, defer_build=True)


class Repository(_Payload):
    full_name: str = Field(min_length=1, max_length=MAX_FULL_NAME)
    clone_url: str = Field(min_length=1, max_length=MAX_CLONE_URL)
    # An integer in push payloads, an ISO string in others: always a number once parsed.
    pushed_at: float | None = Field(default=None, ge=0, le=MAX_TIMESTAMP, allow_inf_nan=False)

    @field_validator("pushed_at", mode="before")
    @classmethod
    def _pushed_at(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_timestamp(value)
        return value


class Pusher(_Payload):
    name: str | None = Field(default=None, max_length=MAX_PUSHER)


class PushPayload(_Payload):
    ref: str = Field(min_length=1, max_length=MAX_REF)
    before: str
    after: str
    created: bool = False
    deleted: bool = False
    forced: bool = False
    repository: Repository
    pusher: Pusher | None = None

    @field_validator("before", "after")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not (COMMIT_SHA.match(value) or ZERO_SHA.match(value)):
            raise ValueError(NOT_A_SHA)
        return value

    def is_deletion(self) -> bool:
        return self.deleted or bool(ZERO_SHA.match(self.after))

    def work(self, *, branch: str, delivery: str, received_at: float) -> PushWork | Ignored:
        """The reconcile work this push asks for, or why it asks for none (the webhook's rules:
        :meth:`smgitops.ingest.push.Push.work`)."""
        push = Push(
            ref=self.ref,
            before=self.before,
            after=self.after,
            full_name=self.repository.full_name,
            clone_url=self.repository.clone_url,
            pushed_at=self.repository.pushed_at,
            deleted=self.deleted,
            pusher=self.pusher.name if self.pusher else None,
        )
        work = push.work(branch=branch, delivery=delivery, received_at=received_at)
        return work if isinstance(work, Ignored) else PushWork.of(work)


class Hook(_Payload):
    id: int | None = None


class PingPayload(_Payload):
    zen: str | None = None
    hook_id: int | None = None
    hook: Hook | None = None

    @property
    def id(self) -> int | None:
        return self.hook_id if self.hook_id is not None else (self.hook.id if self.hook else None)
