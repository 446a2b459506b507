"""CodeCommit pushes: the EventBridge "CodeCommit Repository State Change" event.

The EventBridge rule targets the reconcile queue directly, so the reconcile function receives
these events as SQS message bodies and turns them into the same :class:`PushWork` as a GitHub
push. Ordering key: the event's ``time`` (when CodeCommit recorded the reference change).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smgitops.ingest.work import BRANCH_PREFIX, Ignored, PushWork, parse_timestamp

DETAIL_TYPE = "CodeCommit Repository State Change"
PUSH_EVENTS = frozenset({"referenceCreated", "referenceUpdated"})


def clone_url(region: str, repository: str) -> str:
    """The HTTPS clone URL of a CodeCommit repository (git credentials or a credential helper)."""
    return f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{repository}"


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)


class ReferenceChange(_Event):
    event: str
    repository_name: str = Field(alias="repositoryName", min_length=1, max_length=100)
    reference_type: str | None = Field(default=None, alias="referenceType")
    reference_name: str | None = Field(default=None, alias="referenceName")
    reference_full_name: str | None = Field(default=None, alias="referenceFullName")
    commit_id: str | None = Field(default=None, alias="commitId")
    old_commit_id: str | None = Field(default=None, alias="oldCommitId")
    caller_user_arn: str | None = Field(default=None, alias="callerUserArn")


class CodeCommitEvent(_Event):
    id: str = Field(min_length=1, max_length=128)
    detail_type: Literal["CodeCommit Repository State Change"] = Field(alias="detail-type")
    source: Literal["aws.codecommit"]
    time: float = Field(description="when CodeCommit recorded the change (ISO 8601 in the event)")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    detail: ReferenceChange

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: object) -> object:
        return parse_timestamp(value) if isinstance(value, str) else value

    def work(self, *, branch: str) -> PushWork | Ignored:
        """The reconcile work this reference change asks for, or why it asks for none."""
        detail = self.detail
        if detail.event not in PUSH_EVENTS:
            return Ignored(reason=f"ignored: CodeCommit event {detail.event}")
        if detail.reference_type != "branch":
            return Ignored(
                reason=f"ignored: {detail.reference_type} {detail.reference_name} is not a branch"
            )
        if detail.reference_name != branch:
            return Ignored(
                reason=f"ignored: branch {detail.reference_name} is not the tracked branch {branch}"
            )
        if detail.commit_id is None:
            return Ignored(reason="ignored: the event names no commit")
        return PushWork(
            provider="codecommit",
            repository=clone_url(self.region, detail.repository_name),
            full_name=detail.repository_name,
            ref=detail.reference_full_name or BRANCH_PREFIX + branch,
            commit=detail.commit_id,
            pushed_at=self.time,
            delivery=self.id,
            before=detail.old_commit_id,
            pusher=detail.caller_user_arn,
        )
