"""What a tick saw: one DescribeEndpoint, one DescribeAlarms, and the clock — passed in."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from smgitops.rollout.analysis import StepJudgement
from smgitops.rollout.golden import ValidationOutcome
from smgitops.rollout.status import VariantRef, VariantScaling

IN_SERVICE = "InService"
FAILED = "Failed"
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
# A live weight this close to the intended one (in percent of the endpoint's traffic) is the
# intended one: the engine does not re-apply it, the drift check does not report it.
WEIGHT_TOLERANCE = 0.5
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


class InstanceQuota(_Frozen):
    """One instance type's "<type> for endpoint usage" quota (Service Quotas) and what the
    account's other endpoints hold of it now (None: too many endpoints to count)."""

    instance_type: str
    quota: int
    others: int | None = None


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


ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
MISSING = "MISSING"  # not a CloudWatch state: DescribeAlarms did not return the alarm


class AlarmView(_Frozen):
    name: str
    state: str
    reason: str = ""
    since: float | None = None  # when the alarm entered ``state`` (StateUpdatedTimestamp)

    def failure(self) -> str:
        """How this alarm fails its check, in words."""
        if self.state == MISSING:
            return "does not exist"
        if self.state == INSUFFICIENT_DATA:
            return "sees no data"
        return f"in {self.state}"


def missing_alarms_reason(missing: list[str]) -> str:
    """Why a rollout whose declared alarms do not exist is refused before anything moves."""
    names = ", ".join(missing)
    verb = "does" if len(missing) == 1 else "do"
    return (
        f"declared alarm {names} {verb} not exist: a check that cannot fire is no check; "
        "create it or fix the name (nothing was deployed)"
    )


def failed_checks_reason(failing: list[AlarmView], where: str) -> str:
    """``alarm a, b in ALARM at 10 %: <first reason>`` (alarms grouped by how they fail;
    ``where``: ``at 10 %``, ``before the first step``)."""
    groups: dict[str, list[str]] = {}
    for view in failing:
        groups.setdefault(view.failure(), []).append(view.name)
    said = "; ".join(f"alarm {', '.join(names)} {how}" for how, names in groups.items())
    return f"{said} {where}: {failing[0].reason}".strip()


class Observation(_Frozen):
    now: float
    region: str = "us-east-1"  # where the endpoint lives: resolves framework images
    endpoint: EndpointView | None = None
    # The variants of the live endpoint config, fetched only when the status lacks them.
    config_variants: list[VariantRef] | None = None
    # The live endpoint config was deleted (SageMaker allows it): its variants are unknown.
    config_missing: bool = False
    alarms: dict[str, AlarmView] = Field(default_factory=dict)
    # The scalable targets of the endpoint's variants, by variant (absent: not registered);
    # None when they were not read this tick.
    scaling: dict[str, VariantScaling] | None = None
    # modelPackageArn declarations, Pending only: ModelApprovalStatus and ModelPackageVersion.
    package_approval: str | None = None
    package_version: int | None = None
    # Pending only, before anything is created: the instance quotas of the types the rollout
    # needs (aws/quotas.py); quota_unreadable says why they could not be read.
    quotas: list[InstanceQuota] = Field(default_factory=list)
    quota_unreadable: str = ""
    # Results of checks that need I/O, run by the service when needs() asks for them.
    validation: ValidationOutcome | None = None  # the golden requests' outcome
    judgement: StepJudgement | None = None  # the step's metrics, candidate against stable

    def firing(self, names: list[str]) -> list[AlarmView]:
        return [self.alarms[n] for n in names if n in self.alarms and self.alarms[n].state == ALARM]

    def failing(self, names: list[str], grace: float, watching_since: float) -> list[AlarmView]:
        """The watched alarms whose check fails: in ALARM, gone, or blind for too long.

        A check that cannot observe is a failed check: an alarm DescribeAlarms no longer
        returns (deleted), or one in INSUFFICIENT_DATA for more than ``grace`` seconds since
        it entered that state or since the rollout began watching, whichever is later.
        """
        failing: list[AlarmView] = []
        for name in names:
            view = self.alarms.get(name)
            if view is None:
                reason = "the alarm no longer exists, so the check cannot see"
                failing.append(AlarmView(name=name, state=MISSING, reason=reason))
            elif view.state == ALARM:
                failing.append(view)
            elif view.state == INSUFFICIENT_DATA:
                blind = self.now - max(view.since or watching_since, watching_since)
                if blind > grace:
                    reason = (
                        f"INSUFFICIENT_DATA for {blind:.0f}s, beyond the {grace:g}s grace: "
                        f"the check cannot see ({view.reason})"
                    )
                    failing.append(view.model_copy(update={"reason": reason}))
        return failing
