"""Drift: what smgitops last applied (the persisted status and its declaration) against what
is live (DescribeEndpoint + DescribeEndpointConfig + DescribeModel), pure.

What is expected live, from the last rollout's status:

* ``Succeeded`` — the declared model alone: the status's variant (name, model, instance type,
  count, its production settings and its config's data capture and KMS key) at 100 %, in the
  config smgitops names for it, its model with the declared image, model data, environment (or
  model package), role and VPC;
* ``RolledBack`` — the stable variant the rollout went back to (its model by name only: its
  content was declared by an older commit), in the config it came from or the one smgitops
  made for it;
* anything else (an active rollout, Failed, pruned) is not compared: see :func:`not_comparable`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smgitops.declaration import production
from smgitops.rollout import naming
from smgitops.rollout.decide.scaling import POLICY_NAME
from smgitops.rollout.observation import BUSY, IN_SERVICE, WEIGHT_TOLERANCE
from smgitops.rollout.status import Phase, RolloutStatus, VariantRef, VariantScaling


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- live state (built by smgitops.aws.live) ------------------------------------------------------


class LiveModel(_Frozen):
    name: str
    found: bool = True
    image: str | None = None
    model_data_url: str | None = None
    model_package_arn: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    execution_role_arn: str = ""
    containers: int = 1
    vpc: dict[str, Any] | None = None  # VpcConfig

    def content(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "modelDataUrl": self.model_data_url,
            "modelPackageArn": self.model_package_arn,
            "environment": dict(self.environment),
            "executionRoleArn": self.execution_role_arn,
            "vpc": self.vpc,
        }


class LiveVariantState(_Frozen):
    name: str
    model: str = ""  # "" when the endpoint config could not be read
    instance_type: str = ""
    instance_count: int = 0  # desired count (DescribeEndpoint), else the config's initial count
    weight: float = 0.0  # desired weight (DescribeEndpoint), else the config's initial weight
    settings: dict[str, Any] = Field(default_factory=dict)  # as VariantRef.settings
    config_settings: dict[str, Any] = Field(default_factory=dict)  # the config's


class LiveEndpoint(_Frozen):
    name: str
    status: str
    config: str
    config_found: bool = True
    failure_reason: str = ""
    variants: list[LiveVariantState] = Field(default_factory=list)
    shadow_variants: list[LiveVariantState] = Field(default_factory=list)
    models: dict[str, LiveModel] = Field(default_factory=dict)
    # the variants' scalable targets (absent: not registered); None: not read
    scaling: dict[str, VariantScaling] | None = None

    def variant(self, name: str) -> LiveVariantState | None:
        return next((v for v in self.variants if v.name == name), None)

    def percent(self) -> dict[str, float]:
        total = sum(v.weight for v in self.variants)
        if total <= 0:
            return {v.name: 0.0 for v in self.variants}
        return {v.name: round(100.0 * v.weight / total, 3) for v in self.variants}


# --- expected state -------------------------------------------------------------------------------


class Expected(_Frozen):
    endpoint: str
    basis: Literal["declaration", "rollback"]
    variants: list[VariantRef]
    weights: dict[str, float]
    configs: list[str]  # acceptable endpoint config names; the first is smgitops's own
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)  # known model content
    # autoscaled variants: the instance counts their scalable target may move them to
    scaled: dict[str, tuple[int, int]] = Field(default_factory=dict)


def not_comparable(status: RolloutStatus) -> str:
    """Why this status says nothing about what should be live ("" when it does)."""
    if status.active or status.next is not None:
        return f"a rollout is {status.phase}"
    if status.phase == Phase.FAILED:
        return f"the last rollout failed ({status.reason}); what is live is not known"
    if status.phase == Phase.SUPERSEDED:
        return "the last rollout was superseded"
    if status.stable is None or not status.weights:
        return "no variant is recorded as live (pruned or never deployed)"
    return ""


def declared_model(status: RolloutStatus) -> dict[str, Any]:
    """The declared model's content, in the shape of :meth:`LiveModel.content`."""
    model = status.spec().spec.model
    return {
        # A ``framework:`` image is resolved from the image table when the model is created
        # (its name hashes the declaration, so the same name means the same resolution): there
        # is no declared image to compare; the name, data, environment and role still are.
        "framework": model.framework is not None,
        "image": model.image,
        "modelDataUrl": model.model_data_url,
        "modelPackageArn": model.model_package_arn,
        "environment": dict(model.environment),
        "executionRoleArn": model.execution_role_arn,
        "vpc": production.model_vpc(model.vpc),
    }


def expected_state(status: RolloutStatus) -> Expected | None:
    """What should be live after ``status`` (None: see :func:`not_comparable`)."""
    if not_comparable(status) or status.stable is None:
        return None
    stable = status.stable
    basis: Literal["declaration", "rollback"] = (
        "declaration" if status.phase == Phase.SUCCEEDED else "rollback"
    )
    configs = [naming.config_name(status.endpoint, [stable])]
    if basis == "rollback" and status.stable_config:
        configs.append(status.stable_config)
    models: dict[str, dict[str, Any]] = {}
    if stable.model == status.candidate.model:
        models[stable.model] = declared_model(status)
    return Expected(
        endpoint=status.endpoint,
        basis=basis,
        variants=[stable],
        weights={stable.name: 100.0},
        configs=configs,
        models=models,
        scaled=_scaled(status, basis),
    )


def _scaled(status: RolloutStatus, basis: str) -> dict[str, tuple[int, int]]:
    """The serving variant's instance range when something scales it: the declared autoscaling
    (promoted), or the stable's scalable target the rollback put back. Its count moving within
    that range is the autoscaler at work, not drift."""
    if status.stable is None:
        return {}
    if basis == "declaration":
        scaling = status.spec().spec.autoscaling
        if scaling is not None:
            return {status.stable.name: (scaling.min_instances, scaling.max_instances)}
        return {}
    recorded = status.stable_scaling
    if recorded is not None and recorded.variant == status.stable.name:
        return {status.stable.name: (recorded.min_capacity, recorded.max_capacity)}
    return {}


# --- comparison -----------------------------------------------------------------------------------


class Drift(_Frozen):
    field: str
    declared: Any
    live: Any
    healable: bool = True  # a rollout back to the declaration can repair it

    def describe(self) -> str:
        return f"{self.field}: {_short(self.declared)} → {_short(self.live)}"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:119] + "…"


def _variant_drifts(
    ref: VariantRef,
    live: LiveVariantState,
    config_found: bool,
    scaled: tuple[int, int] | None = None,
) -> list[Drift]:
    where = f"variants[{ref.name}]"
    drifts: list[Drift] = []
    if config_found and live.model != ref.model:
        drifts.append(Drift(field=f"{where}.model", declared=ref.model, live=live.model))
    if config_found and live.instance_type != ref.instance_type:
        drifts.append(
            Drift(
                field=f"{where}.instanceType", declared=ref.instance_type, live=live.instance_type
            )
        )
    if scaled is not None:
        low, high = scaled
        if not low <= live.instance_count <= high:
            drifts.append(
                Drift(
                    field=f"{where}.instanceCount",
                    declared=f"{low}..{high}",
                    live=live.instance_count,
                )
            )
    elif live.instance_count != ref.instance_count:
        drifts.append(
            Drift(
                field=f"{where}.instanceCount",
                declared=ref.instance_count,
                live=live.instance_count,
            )
        )
    if config_found:
        drifts += _settings_drifts(where, ref.settings, live.settings)
        drifts += _settings_drifts("endpointConfig", ref.config_settings, live.config_settings)
    return drifts


def _settings_drifts(where: str, want: dict[str, Any], have: dict[str, Any]) -> list[Drift]:
    """Each declared production member (``VolumeSizeInGB``, ``DataCaptureConfig``…) the live
    config does not have as declared: a config re-created under smgitops's name with other
    settings. Members set live and not declared are not compared: SageMaker may answer a
    default for them. (Another config, from the console or another tool, is an
    ``endpointConfig`` drift already.) Not healable: a rollout would find the config by its
    name and make nothing new."""
    return [
        Drift(field=f"{where}.{key}", declared=value, live=have.get(key), healable=False)
        for key, value in sorted(want.items())
        if have.get(key) != value
    ]


def _model_drifts(name: str, want: dict[str, Any], live: LiveModel | None) -> list[Drift]:
    where = f"models[{name}]"
    if live is None or not live.found:
        return [Drift(field=where, declared="present", live="missing", healable=False)]
    have = live.content()
    if want.get("modelPackageArn"):
        keys = ["modelPackageArn"]
    else:
        keys = ["modelDataUrl"] if want.get("framework") else ["image", "modelDataUrl"]
    keys += ["environment", "executionRoleArn", "vpc"]
    drifts = [
        Drift(field=f"{where}.{key}", declared=want.get(key), live=have.get(key), healable=False)
        for key in keys
        if (want.get(key) or None) != (have.get(key) or None)
    ]
    if live.containers != 1:
        drifts.append(
            Drift(field=f"{where}.containers", declared=1, live=live.containers, healable=False)
        )
    return drifts


def detect(expected: Expected, live: LiveEndpoint | None) -> list[Drift]:
    """Every difference between what should be live and what is (empty: in sync)."""
    if live is None:
        return [Drift(field="endpoint", declared=IN_SERVICE, live="missing")]
    drifts: list[Drift] = []
    if live.status != IN_SERVICE:
        state = f"{live.status}: {live.failure_reason}" if live.failure_reason else live.status
        drifts.append(Drift(field="endpoint.status", declared=IN_SERVICE, live=state))
    if live.config not in expected.configs:
        drifts.append(Drift(field="endpointConfig", declared=expected.configs[0], live=live.config))
    elif not live.config_found:
        drifts.append(
            Drift(field="endpointConfig", declared=live.config, live=f"{live.config} (deleted)")
        )
    declared_names = sorted(v.name for v in expected.variants)
    live_names = sorted(v.name for v in live.variants)
    if declared_names != live_names:
        drifts.append(Drift(field="variants", declared=declared_names, live=live_names))
    for ref in expected.variants:
        variant = live.variant(ref.name)
        if variant is not None:
            drifts += _variant_drifts(
                ref, variant, live.config_found, expected.scaled.get(ref.name)
            )
    if declared_names == live_names:
        shares = live.percent()
        drifts += [
            Drift(field=f"variants[{name}].weight", declared=weight, live=shares.get(name, 0.0))
            for name, weight in sorted(expected.weights.items())
            if abs(shares.get(name, 0.0) - weight) > WEIGHT_TOLERANCE
        ]
    if live.shadow_variants:
        drifts.append(
            Drift(
                field="shadowVariants",
                declared=[],
                live=sorted(v.name for v in live.shadow_variants),
            )
        )
    for name, want in sorted(expected.models.items()):
        drifts += _model_drifts(name, want, live.models.get(name))
    return drifts + _every_scaling_drift(expected, live)


def _every_scaling_drift(expected: Expected, live: LiveEndpoint) -> list[Drift]:
    if live.scaling is None:  # not read
        return []
    return [
        drift
        for name, bounds in sorted(expected.scaled.items())
        for drift in _scaling_drifts(name, bounds, live.scaling.get(name), expected.basis)
    ]


def _scaling_drifts(
    variant: str, bounds: tuple[int, int], live: VariantScaling | None, basis: str
) -> list[Drift]:
    """The variant's scalable target: registered, with the range expected; and, for a declared
    autoscaling, smgitops' policy on it."""
    where = f"autoscaling[{variant}]"
    declared = f"{bounds[0]}..{bounds[1]}"
    if live is None:
        return [Drift(field=where, declared=declared, live="not registered")]
    drifts = []
    if (live.min_capacity, live.max_capacity) != bounds:
        drifts.append(
            Drift(field=where, declared=declared, live=f"{live.min_capacity}..{live.max_capacity}")
        )
    names = [p.name for p in live.policies or []]
    if basis == "declaration" and live.policies is not None and POLICY_NAME not in names:
        drifts.append(Drift(field=f"{where}.policy", declared=POLICY_NAME, live=names or "none"))
    return drifts


_CAUSE_BY_FIELD = (
    ("shadowVariants", "a shadow variant was added outside smgitops"),
    ("models", "a model was deleted or re-created outside smgitops"),
    (
        "autoscaling",
        "the variant's scalable target was deregistered or changed outside smgitops "
        "(Application Auto Scaling)",
    ),
)


def cause(drifts: list[Drift], live: LiveEndpoint | None) -> str:
    """The most likely reason, for people reading the notification."""
    fields = {d.field.split("[")[0].split(".")[0] for d in drifts}
    if not drifts:
        return ""
    if live is None:
        return "the endpoint was deleted outside smgitops"
    if "endpoint" in fields:
        return f"the endpoint is {live.status}"
    if not live.config_found and live.config in {d.declared for d in drifts}:
        return "the endpoint config was deleted outside smgitops (the endpoint still serves)"
    members = (*production.VARIANT_MEMBERS, *production.CONFIG_MEMBERS)
    replaced = any(d.field == "endpointConfig" for d in drifts)
    if not replaced and any(d.field.rsplit(".", 1)[-1] in members for d in drifts):
        return (
            "the endpoint config smgitops named holds other production settings: it was "
            "deleted and re-created outside smgitops (delete it and push a change: smgitops "
            "finds configs by name, so a repair rollout would reuse it)"
        )
    if "endpointConfig" in fields or any(d.field.endswith(".model") for d in drifts):
        if live.config.startswith(naming.PREFIX):
            return (
                "the endpoint runs another smgitops config: SageMaker rolled an update back, "
                "or an older config was re-applied"
            )
        return "the endpoint config was replaced outside smgitops (console, CLI or another tool)"
    said = next((text for field, text in _CAUSE_BY_FIELD if field in fields), None)
    if said is not None:
        return said
    return (
        "weights or instance counts were changed outside smgitops "
        "(UpdateEndpointWeightsAndCapacities from the console, the CLI or autoscaling)"
    )


class DriftReport(_Frozen):
    endpoint: str
    commit: str = ""
    basis: Literal["declaration", "rollback", ""] = ""
    skipped: str = ""  # why nothing was compared
    drifts: list[Drift] = Field(default_factory=list)
    cause: str = ""

    @property
    def drifted(self) -> bool:
        return bool(self.drifts)

    @property
    def healable(self) -> bool:
        """A rollout back to the declaration would repair at least part of it."""
        return self.basis == "declaration" and any(d.healable for d in self.drifts)

    def fingerprint(self) -> str:
        """Same drift, same fingerprint: a repeated check does not notify again."""
        payload = [d.model_dump(mode="json") for d in sorted(self.drifts, key=lambda d: d.field)]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def summary(self) -> str:
        if self.skipped:
            return f"not checked: {self.skipped}"
        if not self.drifts:
            return "in sync"
        return f"{self.cause}: " + "; ".join(d.describe() for d in self.drifts)

    def message(self) -> dict[str, Any]:
        """The compact JSON of a notification."""
        return {
            "endpoint": self.endpoint,
            "commit": self.commit,
            "basis": self.basis,
            "drift": [d.model_dump(mode="json") for d in self.drifts],
            "cause": self.cause,
            "fingerprint": self.fingerprint(),
        }


def compare(status: RolloutStatus, live: LiveEndpoint | None) -> DriftReport:
    """The drift report of one endpoint (``live`` None: the endpoint does not exist)."""
    expected = expected_state(status)
    if expected is None:
        return DriftReport(
            endpoint=status.endpoint, commit=status.commit, skipped=not_comparable(status)
        )
    if live is not None and live.status in BUSY:
        return DriftReport(
            endpoint=status.endpoint,
            commit=status.commit,
            basis=expected.basis,
            skipped=f"the endpoint is {live.status}; checked next time",
        )
    drifts = detect(expected, live)
    return DriftReport(
        endpoint=status.endpoint,
        commit=status.commit,
        basis=expected.basis,
        drifts=drifts,
        cause=cause(drifts, live),
    )
