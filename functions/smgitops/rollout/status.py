"""Persisted rollout status (Flagger's CanaryStatus, for SageMaker) and its phase enum."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from smgitops.declaration.freeze import FreezeWindow
from smgitops.declaration.golden import NamedRequest
from smgitops.declaration.models import TRUSTED, Declaration, Strategy


class Phase(StrEnum):
    PENDING = "Pending"
    INITIALIZING = "Initializing"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    PROMOTING = "Promoting"
    FINALIZING = "Finalizing"
    SUCCEEDED = "Succeeded"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"
    SUPERSEDED = "Superseded"


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED, Phase.SUPERSEDED})
ACTIVE_PHASES = frozenset(set(Phase) - TERMINAL_PHASES)
# Phases in which the candidate may be taking traffic: an alarm must send it all back now.
TRAFFIC_PHASES = frozenset({Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VariantRef(_Frozen):
    """A production variant as smgitops deploys it (name, model, capacity), with the settings
    of its production variant and of the endpoint config it was declared in, each as the
    botocore member it is (``declaration.production.VARIANT_MEMBERS`` / ``CONFIG_MEMBERS``).

    The config's settings (data capture, KMS key) travel with the variant so that a config
    smgitops makes for a variant alone (the stable one, after a rollback) keeps the settings
    that variant was deployed with. A serverless variant has no instance type and 0 instances.
    """

    name: str
    model: str
    instance_type: str
    instance_count: int
    settings: dict[str, Any] = Field(default_factory=dict)
    config_settings: dict[str, Any] = Field(default_factory=dict)


class ScalingPolicy(_Frozen):
    """One Application Auto Scaling policy of a variant, as PutScalingPolicy takes it."""

    name: str
    policy_type: str = "TargetTrackingScaling"
    configuration: dict[str, Any] = Field(default_factory=dict)  # the policy type's structure


class VariantScaling(_Frozen):
    """A variant's scalable target (``endpoint/<ep>/variant/<v>``, DesiredInstanceCount) as
    DescribeScalableTargets (and, when asked, DescribeScalingPolicies) showed it."""

    variant: str
    min_capacity: int
    max_capacity: int
    suspended: dict[str, bool] = Field(default_factory=dict)  # SuspendedState
    policies: list[ScalingPolicy] | None = None  # None: not read


class Context(_Frozen):
    """What a rollout needs from the repository at its commit besides the declaration."""

    golden: list[NamedRequest] = Field(default_factory=list)
    golden_ref: str = ""  # where the store keeps ``golden`` (never inside the status item)
    freeze: list[FreezeWindow] = Field(default_factory=list)  # .smgitops.yaml's, at the commit
    override: str = ""  # the commit's Deploy-Override trailer
    self_heal: bool | None = None  # the app config's selfHeal (None: the drift function decides)


class QueuedRollout(_Frozen):
    """A newer declaration for the same endpoint, waiting for the active rollout to hand over."""

    rollout_id: str
    commit: str
    pushed_at: float
    spec_hash: str
    declaration: dict[str, Any]
    source: dict[str, str] = Field(default_factory=dict)
    context: Context = Field(default_factory=Context)


class _Validated:
    """``declaration`` as the model it validates to, remembered beside the status.

    Kept with the very dict it was validated from (an identity check), so a copy with another
    declaration, however it was made, validates its own. Every one equals every other: a status
    that has validated its declaration still equals one that has not.
    """

    __slots__ = ("pair",)

    def __init__(self) -> None:
        self.pair: tuple[dict[str, Any], Declaration] | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Validated)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the model holding it


class RolloutStatus(_Frozen):
    """Everything a tick needs to decide, persisted after every tick (conditional on version)."""

    endpoint: str
    rollout_id: str
    phase: Phase = Phase.PENDING
    strategy: Strategy
    commit: str
    pushed_at: float
    spec_hash: str
    declaration: dict[str, Any]
    source: dict[str, str] = Field(default_factory=dict)
    # The repository identity (normalised allowlisted clone URL) that owns the endpoint: only
    # its pushes change or prune it; ``smgitops transfer`` moves it. "" = no owner recorded
    # (written before ownership, with no source to derive it from): every push is refused.
    owner: str = ""
    first_deploy: bool = False
    stable: VariantRef | None = None
    stable_config: str = ""  # the config live before the rollout (deleted only if smgitops made it)
    # the stable variant's scalable target when the rollout began: a rollback puts it back
    stable_scaling: VariantScaling | None = None
    candidate: VariantRef
    step_index: int = -1
    weights: dict[str, float] = Field(default_factory=dict)
    started_at: float
    phase_since: float
    step_since: float | None = None
    deadline_at: float
    updated_at: float
    failed_checks: int = 0
    reason: str = ""
    watched_alarms: list[str] = Field(default_factory=list)
    generated_alarms: list[str] = Field(default_factory=list)
    promote: Literal["", "step", "full"] = ""
    abort_requested: str = ""
    gate_token: str = ""
    next: QueuedRollout | None = None
    # manual gates: the one waited at now, and those already released
    gate: str = ""
    gates_passed: list[str] = Field(default_factory=list)
    # analysis: extensions of the current step, golden requests passed, candidate is a shadow
    extensions: int = 0
    validated: bool = False
    shadow: bool = False
    # from the repository at the commit: golden requests, freeze windows, a Deploy-Override
    golden: list[NamedRequest] = Field(default_factory=list)
    golden_ref: str = ""  # where the store keeps ``golden`` (never inside the status item)
    freeze: list[FreezeWindow] = Field(default_factory=list)
    override: str = ""
    self_heal: bool | None = None  # .smgitops.yaml's selfHeal at the commit (None: not set)
    deleted: bool = False  # pruned: the endpoint was deleted with its declaration
    # The last push refused for this endpoint ("<commit>: reason"), e.g. a declared alarm that
    # does not exist; cleared when a rollout starts.
    refused: str = ""
    version: int = 0
    _validated: _Validated = PrivateAttr(default_factory=_Validated)

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    @property
    def done(self) -> bool:
        return self.phase in TERMINAL_PHASES

    def spec(self) -> Declaration:
        """The declaration this rollout applies (validated when it was accepted: trusted).

        Validated on the first call only: a tick asks for it many times.
        """
        pair = self._validated.pair
        if pair is None or pair[0] is not self.declaration:
            pair = (self.declaration, Declaration.model_validate(self.declaration, context=TRUSTED))
            self._validated.pair = pair
        return pair[1]

    def evolve(self, **changes: Any) -> RolloutStatus:
        """A copy with ``changes`` (validated), the way every transition is written."""
        # Field by field, not through model_dump(): a nested model (a golden request, the queued
        # rollout) is kept as it is rather than serialised and parsed again on every transition.
        evolved = RolloutStatus.model_validate({**dict(self), **changes})
        pair = self._validated.pair
        if "declaration" not in changes and pair is not None and pair[0] is self.declaration:
            # the same declaration (validation copied the dict): its model is still the one
            evolved._validated.pair = (evolved.declaration, pair[1])
        return evolved


class HistoryRecord(_Frozen):
    """One append-only event of an endpoint's history."""

    at: float
    endpoint: str
    rollout_id: str
    commit: str
    spec_hash: str
    phase: Phase
    weights: dict[str, float] = Field(default_factory=dict)
    reason: str = ""
    event: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    owner: str = ""  # the endpoint's owner when this happened ("" in records before ownership)

    @classmethod
    def of(
        cls, status: RolloutStatus, *, at: float, event: str, details: dict[str, Any]
    ) -> HistoryRecord:
        """What happened to ``status`` at ``at``: its rollout, commit, phase, weights, owner."""
        return cls(
            at=at,
            endpoint=status.endpoint,
            rollout_id=status.rollout_id,
            commit=status.commit,
            spec_hash=status.spec_hash,
            phase=status.phase,
            weights=status.weights,
            reason=status.reason,
            event=event,
            details=details,
            owner=status.owner,
        )
