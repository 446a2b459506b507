"""What a tick saw: one DescribeEndpoint, one DescribeAlarms, and the clock — passed in."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from smgitops.rollout.status import VariantRef

IN_SERVICE = "InService"
FAILED = "Failed"
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
# botocore EndpointStatus: an endpoint in one of these serves nothing a rollout can trust.
FAILURES = frozenset({FAILED, "OutOfService", "UpdateRollbackFailed"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LiveVariant(_Frozen):
    name: str
    current_weight: float = 0.0
    desired_weight: float = 0.0
    current_instance_count: int = 0
    desired_instance_count: int = 0


class EndpointView(_Frozen):
    name: str
    status: str
    config: str
    variants: list[LiveVariant] = Field(default_factory=list)
    shadow_variants: list[str] = Field(default_factory=list)
    failure_reason: str = ""

    def variant(self, name: str) -> LiveVariant | None:
        return next((v for v in self.variants if v.name == name), None)

    def hosts(self, name: str) -> bool:
        """The variant serves on this endpoint, as a production or a shadow variant."""
        return self.variant(name) is not None or name in self.shadow_variants

    def desired_percent(self) -> dict[str, float]:
        total = sum(v.desired_weight for v in self.variants)
        if total <= 0:
            return {v.name: 0.0 for v in self.variants}
        return {v.name: round(100.0 * v.desired_weight / total, 3) for v in self.variants}


class AlarmView(_Frozen):
    name: str
    state: str
    reason: str = ""
    since: float | None = None  # when the alarm entered ``state`` (StateUpdatedTimestamp)


class Observation(_Frozen):
    now: float
    region: str = "us-east-1"  # where the endpoint lives: resolves framework images
    endpoint: EndpointView | None = None
    # The variants of the live endpoint config, fetched only when the status lacks them.
    config_variants: list[VariantRef] | None = None
    alarms: dict[str, AlarmView] = Field(default_factory=dict)
    # modelPackageArn declarations, Pending only: ModelApprovalStatus and ModelPackageVersion.
    package_approval: str | None = None
    package_version: int | None = None
    # Results of checks that need I/O, run by the service when needs() asks for them.
    validation: dict[str, Any] | None = None  # ValidationOutcome.as_dict()
    judgement: dict[str, Any] | None = None  # StepJudgement.as_dict()

    def firing(self, names: list[str]) -> list[AlarmView]:
        return [
            self.alarms[n] for n in names if n in self.alarms and self.alarms[n].state == "ALARM"
        ]
