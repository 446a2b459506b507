"""What a rollout creates on SageMaker and CloudWatch: the model, its endpoint configs (by
content-addressed name), the generated alarms and weight changes, and what to clean up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.declaration import images, production
from smgitops.declaration.models import Strategy
from smgitops.rollout import naming
from smgitops.rollout.actions import (
    Action,
    AlarmSpec,
    CreateEndpointConfig,
    CreateModel,
    DeleteAlarms,
    DeleteUnused,
    SetWeights,
    VariantSpec,
)
from smgitops.rollout.observation import IN_SERVICE, WEIGHT_TOLERANCE
from smgitops.rollout.ownership import ENDPOINT_TAG, MANAGED_TAG, OWNER_TAG, owner_tag
from smgitops.rollout.status import VariantRef

if TYPE_CHECKING:
    from smgitops.declaration.models import Declaration, ModelSpec
    from smgitops.rollout.decide.context import TickContext

MANAGED_TAGS = {MANAGED_TAG: "true"}


def managed_tags(decl: Declaration, owner: str) -> dict[str, str]:
    """The declaration's tags and smgitops' own three, written by the Create calls only
    (no owner tag for a status with no recorded owner)."""
    tags = {**decl.metadata.tags, **MANAGED_TAGS, ENDPOINT_TAG: decl.name}
    return {**tags, OWNER_TAG: owner_tag(owner)} if owner else tags


def candidate_ref(decl: Declaration) -> VariantRef:
    spec = decl.spec
    return VariantRef(
        name=naming.variant_name(decl),
        model=naming.model_name(decl),
        instance_type=spec.instance_type or "",
        instance_count=0 if spec.serverless is not None else spec.instance_count,
        settings=spec.variant_settings(),
        config_settings=spec.config_settings(),
    )


def _serverless(ref: VariantRef) -> bool:
    return "ServerlessConfig" in ref.settings


def serverless_refusal(stable: VariantRef, candidate: VariantRef, strategy: Strategy) -> str:
    """Why SageMaker would refuse this rollout of a serverless endpoint ("" when it would not):
    an instance-based endpoint cannot become serverless, and a serverless endpoint holds one
    production variant (its serverless feature exclusions)."""
    return serverless_refusal_of(_serverless(stable), _serverless(candidate), strategy)


def serverless_refusal_of(stable: bool, candidate: bool, strategy: Strategy) -> str:
    """:func:`serverless_refusal` from whether each variant is serverless (``plan`` asks it
    of the live stable variant and the declaration)."""
    if candidate and not stable:
        return (
            "SageMaker cannot turn an instance-based endpoint into a serverless one "
            "(UpdateEndpoint answers ValidationError): delete the endpoint and push again, or "
            "declare the serverless model under another endpoint name"
        )
    if (stable or candidate) and strategy not in SWAPPABLE:
        return (
            f"{strategy} serves the stable and the new variant side by side, and SageMaker "
            "allows one production variant on a serverless endpoint: use strategy blueGreen "
            "or allAtOnce to move this endpoint off serverless"
        )
    return ""


SWAPPABLE = frozenset({Strategy.ALL_AT_ONCE, Strategy.BLUE_GREEN})


def swapped(ctx: TickContext) -> bool:
    """A blue/green rollout to or from a serverless variant: SageMaker holds one production
    variant there, so the candidate replaces the stable variant in one update, bakes alone
    with the checks, and a rollback swaps the stable variant back (its config)."""
    stable, candidate = ctx.status.stable, ctx.status.candidate
    return stable is not None and (_serverless(stable) or _serverless(candidate))


def resolve_image(model: ModelSpec, region: str) -> str | None:
    """The container image of ``model`` in ``region``.

    ``image`` as declared; ``framework`` looked up in the image table (``ImageResolutionError``
    for a region it does not know); ``None`` for ``modelPackageArn`` (the package names its
    image).
    """
    framework = model.framework
    if framework is not None:
        return images.framework_image(
            framework.name, framework.version, framework.processor, region
        )
    return model.image


def create_model(decl: Declaration, region: str, owner: str) -> CreateModel:
    model = decl.spec.model
    return CreateModel(
        name=naming.model_name(decl),
        execution_role_arn=model.execution_role_arn,
        image=resolve_image(model, region),
        model_data_url=model.model_data_url,
        model_package_arn=model.model_package_arn,
        environment=dict(model.environment),
        vpc=production.model_vpc(model.vpc),
        tags=managed_tags(decl, owner),
    )


def _variant(ref: VariantRef, weight: float) -> VariantSpec:
    return VariantSpec(
        name=ref.name,
        model=ref.model,
        instance_type=ref.instance_type,
        instance_count=ref.instance_count,
        weight=weight,
        settings=dict(ref.settings),
    )


def _config(
    decl: Declaration, owner: str, *weighted: tuple[VariantRef, float]
) -> CreateEndpointConfig:
    """A config of the ``weighted`` variants, with the endpoint-config settings (data capture,
    KMS key) of the last one: the candidate's while it rolls out (both variants capture, each
    under its own name), the stable variant's own when it is alone again."""
    refs = [ref for ref, _ in weighted]
    weights = {ref.name: w for ref, w in weighted}
    extra = {"weights": weights} if len(weighted) > 1 else None
    return CreateEndpointConfig(
        name=naming.config_name(decl.name, refs, extra),
        variants=[_variant(ref, w) for ref, w in weighted],
        settings=dict(refs[-1].config_settings),
        tags=managed_tags(decl, owner),
    )


def both_config(ctx: TickContext) -> CreateEndpointConfig:
    assert ctx.status.stable is not None  # noqa: S101 - phases after Pending always have one
    return _config(
        ctx.declaration, ctx.status.owner, (ctx.status.stable, 100.0), (ctx.status.candidate, 0.0)
    )


def final_config(ctx: TickContext) -> CreateEndpointConfig:
    return _config(ctx.declaration, ctx.status.owner, (ctx.status.candidate, 100.0))


def shadow_config(ctx: TickContext) -> CreateEndpointConfig:
    """The stable variant serving all traffic, the candidate receiving a sampled copy of it."""
    assert ctx.status.stable is not None  # noqa: S101
    sampling = float(ctx.declaration.spec.rollout.shadow.sampling_percent)
    base = _config(ctx.declaration, ctx.status.owner, (ctx.status.stable, 100.0))
    extra = {"shadow": naming.variant_payload(ctx.status.candidate), "sampling": sampling}
    return base.model_copy(
        update={
            "name": naming.config_name(ctx.declaration.name, [ctx.status.stable], extra),
            "shadow_variants": [_variant(ctx.status.candidate, sampling)],
            # the declaration's settings: the shadow is what is being rolled out
            "settings": dict(ctx.status.candidate.config_settings),
        }
    )


def stable_only_config(ctx: TickContext) -> CreateEndpointConfig:
    assert ctx.status.stable is not None  # noqa: S101
    return _config(ctx.declaration, ctx.status.owner, (ctx.status.stable, 100.0))


def generated_alarms(decl: Declaration, variant: str) -> list[AlarmSpec]:
    """One alarm per metric check, in the check's namespace (declared, or SageMaker's)."""
    return [
        AlarmSpec(
            name=naming.alarm_name(decl.name, variant, m.metric, m.statistic, m.resolved_namespace),
            endpoint=decl.name,
            variant=variant,
            metric=m.metric,
            statistic=m.statistic,
            threshold=m.max,
            period=m.period,
            namespace=m.resolved_namespace,
        )
        for m in decl.spec.rollout.analysis.metrics
    ]


def weights_at(ctx: TickContext, candidate_percent: float) -> dict[str, float]:
    weights = {ctx.status.candidate.name: candidate_percent}
    if ctx.status.stable is not None:
        weights[ctx.status.stable.name] = 100.0 - candidate_percent
    return weights


def set_weights(
    ctx: TickContext, weights: dict[str, float], counts: dict[str, int] | None = None
) -> SetWeights:
    return SetWeights(endpoint=ctx.status.endpoint, weights=weights, counts=counts or {})


def weights_live(ctx: TickContext, weights: dict[str, float]) -> bool:
    """True when the endpoint's desired weights already are ``weights`` (each variant named is
    on the endpoint, at its weight)."""
    live = ctx.endpoint.desired_percent() if ctx.endpoint is not None else {}
    return all(
        name in live and abs(live[name] - w) <= WEIGHT_TOLERANCE for name, w in weights.items()
    )


def both_live(ctx: TickContext) -> bool:
    """Stable and candidate are both production variants: a weights call can move traffic."""
    ep, status = ctx.endpoint, ctx.status
    return (
        ep is not None
        and ep.status == IN_SERVICE
        and status.stable is not None
        and ep.variant(status.stable.name) is not None
        and ep.variant(status.candidate.name) is not None
    )


def cleanup(ctx: TickContext, configs: list[str], models: list[str]) -> list[Action]:
    actions: list[Action] = []
    if ctx.status.generated_alarms:
        actions.append(DeleteAlarms(names=list(ctx.status.generated_alarms)))
    configs = [c for c in dict.fromkeys(configs) if c.startswith(naming.PREFIX)]
    models = [m for m in dict.fromkeys(models) if m.startswith(naming.PREFIX)]
    if configs or models:
        actions.append(DeleteUnused(endpoint=ctx.status.endpoint, configs=configs, models=models))
    return actions
