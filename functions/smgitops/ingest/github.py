"""Typed GitHub webhook payloads (``push`` and ``ping``) and what a push asks for.

Only the fields smgitops reads are modelled; GitHub adds fields freely, so extras are ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smgitops.ingest.work import (
    BRANCH_PREFIX,
    COMMIT_SHA,
    TAG_PREFIX,
    ZERO_SHA,
    Ignored,
    PushWork,
    is_local_url,
    parse_timestamp,
)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class Repository(_Payload):
    full_name: str = Field(min_length=1, max_length=256)
    clone_url: str = Field(min_length=1, max_length=2048)
    # An integer in push payloads, an ISO string in others: always a number once parsed.
    pushed_at: float | None = None

    @field_validator("pushed_at", mode="before")
    @classmethod
    def _pushed_at(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_timestamp(value)
        return value


class Pusher(_Payload):
    name: str | None = None


class PushPayload(_Payload):
    ref: str = Field(min_length=1, max_length=1024)
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
            raise ValueError("not a hex commit id")
        return value

    def is_deletion(self) -> bool:
        return self.deleted or bool(ZERO_SHA.match(self.after))

    def work(self, *, branch: str, delivery: str, received_at: float) -> PushWork | Ignored:
        """The reconcile work this push asks for, or why it asks for none."""
        if self.ref.startswith(TAG_PREFIX):
            return Ignored(reason=f"ignored: tag push {self.ref.removeprefix(TAG_PREFIX)}")
        if not self.ref.startswith(BRANCH_PREFIX):
            return Ignored(reason=f"ignored: {self.ref} is not a branch")
        pushed = self.ref.removeprefix(BRANCH_PREFIX)
        if pushed != branch:
            return Ignored(reason=f"ignored: branch {pushed} is not the tracked branch {branch}")
        if self.is_deletion():
            return Ignored(reason=f"ignored: branch {pushed} was deleted")
        pushed_at = self.repository.pushed_at
        clone_url = self.repository.clone_url
        return PushWork(
            provider="local" if is_local_url(clone_url) else "github",
            repository=clone_url,
            full_name=self.repository.full_name,
            ref=self.ref,
            commit=self.after,
            pushed_at=received_at if pushed_at is None else pushed_at,
            delivery=delivery,
            before=None if ZERO_SHA.match(self.before) else self.before,
            pusher=self.pusher.name if self.pusher else None,
        )


class Hook(_Payload):
    id: int | None = None


class PingPayload(_Payload):
    zen: str | None = None
    hook_id: int | None = None
    hook: Hook | None = None

    @property
    def id(self) -> int | None:
        return self.hook_id if self.hook_id is not None else (self.hook.id if self.hook else None)
