"""An in-memory SageMaker + CloudWatch (+ Application Auto Scaling when asked) that applies
rollout actions, for pure decide() tests.

The integration tests run the same rollouts against moto; this one lets the unit tests walk
hundreds of ticks in milliseconds and inspect every intermediate state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from smgitops.declaration.safeguards import TrafficSpec
from smgitops.rollout import analysis
from smgitops.rollout.actions import (
    Action,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteAlarms,
    DeleteUnused,
    DeregisterScaling,
    PutAlarms,
    RegisterScaling,
    SetWeights,
    UpdateEndpoint,
)
from smgitops.rollout.decide import needs
from smgitops.rollout.observation import (
    AlarmView,
    EndpointView,
    InstanceQuota,
    LiveVariant,
    Observation,
)
from smgitops.rollout.status import Phase, VariantRef, VariantScaling

if TYPE_CHECKING:
    from smgitops.declaration.models import Declaration
    from smgitops.rollout.status import RolloutStatus


@dataclass
class Endpoint:
    status: str
    config: str
    weights: dict[str, float]
    pending_config: str = ""
    failure_reason: str = ""
    shadows: list[str] = field(default_factory=list)
    # instances each variant runs (current = desired), when a test sets them; unset: 0
    instances: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    now: float = 1_000_000.0
    models: set[str] = field(default_factory=set)
    configs: dict[str, CreateEndpointConfig] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    alarms: dict[str, str] = field(default_factory=dict)
    applied: list[Action] = field(default_factory=list)
    fail_updates_with: str = ""
    # Invocations each variant serves during a step, as the service counts them for a step
    # checked by alarms (``analysis.traffic``); 0: nobody calls the endpoint.
    served: float = 1000.0
    # Application Auto Scaling's scalable targets by variant; None: the service has no
    # autoscaling port (observations carry no scaling, as before autoscaling existed).
    targets: dict[str, VariantScaling] | None = None
    # Service Quotas' instance quotas, read (as the service reads them) in Pending only
    quotas: list[InstanceQuota] = field(default_factory=list)
    quota_unreadable: str = ""

    def apply(self, actions: tuple[Action, ...] | list[Action]) -> None:
        for action in actions:
            self.applied.append(action)
            self._apply(action)

    def _apply(self, action: Action) -> None:  # noqa: C901, PLR0912 - a switch over kinds
        match action:
            case CreateModel():
                self.models.add(action.name)
            case CreateEndpointConfig():
                self.configs[action.name] = action
            case CreateEndpoint():
                self.endpoints[action.endpoint] = Endpoint("Creating", "", {}, action.config)
            case UpdateEndpoint():
                self._update(action)
            case SetWeights():
                endpoint = self.endpoints[action.endpoint]
                assert endpoint.status == "InService"
                assert set(action.weights) <= set(endpoint.weights), "weights for unknown variant"
                endpoint.weights.update(action.weights)
            case RegisterScaling():
                self._register(action)
            case DeregisterScaling():
                assert self.targets is not None and action.variant in self.targets
                del self.targets[action.variant]
            case PutAlarms():
                for alarm in action.alarms:
                    self.alarms.setdefault(alarm.name, "OK")
            case DeleteAlarms():
                for name in action.names:
                    self.alarms.pop(name, None)
            case DeleteUnused():
                # as the adapter: a missing endpoint uses nothing
                endpoint = self.endpoints.get(action.endpoint)
                live = endpoint.config if endpoint is not None else ""
                in_use = (
                    {
                        v.model
                        for v in [*self.configs[live].variants, *self.configs[live].shadow_variants]
                    }
                    if live
                    else set()
                )
                for config in action.configs:
                    if config != live:
                        self.configs.pop(config, None)
                for model in action.models:
                    if model not in in_use:
                        self.models.discard(model)

    def _update(self, action: UpdateEndpoint) -> None:
        endpoint = self.endpoints[action.endpoint]
        assert endpoint.status == "InService", "update of a busy endpoint"
        config = self.configs.get(action.config)  # missing: the update fails when it settles
        kept = {v.name for v in config.variants} if config is not None else set()
        scaled = set(self.targets or {}) & set(endpoint.weights)
        # SageMaker refuses an update that removes a variant with a scalable target
        assert config is None or scaled <= kept, f"update removes scalable {scaled - kept}"
        endpoint.status, endpoint.pending_config = "Updating", action.config

    def _register(self, action: RegisterScaling) -> None:
        """RegisterScalableTarget (what is None is left as it is) and PutScalingPolicy."""
        assert self.targets is not None, "no autoscaling in this world"
        old = self.targets.get(action.variant)
        if old is None:
            assert action.min_capacity is not None and action.max_capacity is not None
            old = VariantScaling(
                variant=action.variant,
                min_capacity=action.min_capacity,
                max_capacity=action.max_capacity,
                policies=[],
            )
        policies = {p.name: p for p in old.policies or []} | {p.name: p for p in action.policies}
        self.targets[action.variant] = VariantScaling(
            variant=action.variant,
            min_capacity=old.min_capacity if action.min_capacity is None else action.min_capacity,
            max_capacity=old.max_capacity if action.max_capacity is None else action.max_capacity,
            suspended=old.suspended if action.suspended is None else dict(action.suspended),
            policies=list(policies.values()),
        )

    def settle(self) -> None:
        """Finish in-flight creates and updates (SageMaker's Updating → InService)."""
        for endpoint in self.endpoints.values():
            if endpoint.status in {"Creating", "Updating"}:
                config = self.configs.get(endpoint.pending_config)
                if self.fail_updates_with or config is None:
                    endpoint.failure_reason = self.fail_updates_with or "config not found"
                    endpoint.status = "InService" if endpoint.config else "Failed"
                else:
                    endpoint.status, endpoint.config = "InService", config.name
                    endpoint.weights = {v.name: v.weight for v in config.variants}
                    endpoint.shadows = [v.name for v in config.shadow_variants]
                    endpoint.failure_reason = ""
                endpoint.pending_config = ""

    def observe(self, name: str, *, with_config: bool = True) -> Observation:
        endpoint = self.endpoints.get(name)
        view = None
        variants = None
        if endpoint is not None:
            view = EndpointView(
                name=name,
                status=endpoint.status,
                config=endpoint.config,
                failure_reason=endpoint.failure_reason,
                shadow_variants=list(endpoint.shadows),
                variants=[
                    LiveVariant(
                        name=n,
                        current_weight=w,
                        desired_weight=w,
                        current_instance_count=endpoint.instances.get(n, 0),
                        desired_instance_count=endpoint.instances.get(n, 0),
                    )
                    for n, w in endpoint.weights.items()
                ],
            )
            if with_config and endpoint.config in self.configs:
                config = self.configs[endpoint.config]
                # as the adapter reads them: each variant's settings and its config's
                variants = [
                    VariantRef(
                        name=v.name,
                        model=v.model,
                        instance_type=v.instance_type,
                        instance_count=v.instance_count,
                        settings=dict(v.settings),
                        config_settings=dict(config.settings),
                    )
                    for v in config.variants
                ]
        return Observation(
            now=self.now,
            endpoint=view,
            config_variants=variants,
            # the live config deleted behind smgitops' back (DescribeEndpointConfig: NotFound)
            config_missing=with_config and endpoint is not None and variants is None,
            alarms={
                n: AlarmView(name=n, state=s, reason=f"{n} breached")
                for n, s in self.alarms.items()
            },
        )

    def percent(self, name: str) -> dict[str, float]:
        weights = self.endpoints[name].weights
        total = sum(weights.values()) or 1.0
        return {n: round(100 * w / total, 3) for n, w in weights.items()}

    def observe_tick(self, declaration: Declaration, status: RolloutStatus) -> Observation:
        """What the service observes for a tick: the world, plus the step's traffic counted
        when the step's alarms need it (as ``aws.checks.Analysis.judge`` does)."""
        observation = self.observe(status.endpoint)
        scaling = self._scaling(declaration, status, observation.endpoint)
        if scaling is not None:
            observation = observation.model_copy(update={"scaling": scaling})
        if status.phase == Phase.PENDING:
            quotas = {"quotas": list(self.quotas), "quota_unreadable": self.quota_unreadable}
            observation = observation.model_copy(update=quotas)
        floor = declaration.spec.rollout.analysis.floor
        if isinstance(floor, TrafficSpec) and "judgement" in needs(
            declaration, status, observation
        ):
            counted = analysis.judge_traffic(floor, (self.served, self.served), status.extensions)
            return observation.model_copy(update={"judgement": counted})
        return observation

    def _scaling(
        self, declaration: Declaration, status: RolloutStatus, endpoint: EndpointView | None
    ) -> dict[str, VariantScaling] | None:
        """The targets of the endpoint's variants, read when the service reads them
        (``rollout.tick``): the endpoint InService, and in Pending (with the policies),
        with autoscaling declared, or when the stable variant had a target."""
        if self.targets is None or endpoint is None or endpoint.status != "InService":
            return None
        pending = status.phase == Phase.PENDING
        if not (pending or declaration.spec.autoscaling or status.stable_scaling):
            return None
        return {
            v.name: self.targets[v.name].model_copy(
                update={"policies": self.targets[v.name].policies if pending else None}
            )
            for v in endpoint.variants
            if v.name in self.targets
        }
