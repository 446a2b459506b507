"""What is there now for ``smgitops plan``: live endpoints (DescribeEndpoint, its config, the
models of its variants) and, when a table is configured, the last-applied status."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws.errors import translate
from smgitops.declaration.autoscaling import policy_summary
from smgitops.errors import NotFoundError
from smgitops.plan.diff import MODEL_FIELDS, Current, production_fields
from smgitops.rollout import ownership
from smgitops.rollout.capacity import of_live
from smgitops.rollout.decide.scaling import POLICY_NAME
from smgitops.rollout.status import Phase

if TYPE_CHECKING:
    from collections.abc import Iterable

    from smgitops.aws.autoscaling import Autoscaling
    from smgitops.aws.sagemaker import SageMaker
    from smgitops.aws.store import StatusStore
    from smgitops.rollout.status import RolloutStatus


class LiveState:
    """Reads, never writes: at most three SageMaker calls per declared endpoint that exists, and
    one or two of Application Auto Scaling (its serving variant's scalable target and policies).
    The serving variant's capacity is what DescribeEndpoint says it runs now (its desired
    instance count: an autoscaled variant at 5 is counted at 5), else its config's count."""

    def __init__(
        self, sagemaker: SageMaker, autoscaling: Autoscaling, store: StatusStore | None = None
    ) -> None:
        self.sagemaker = sagemaker
        self.autoscaling = autoscaling
        self.store = store

    def current(self, names: Iterable[str]) -> dict[str, Current]:
        wanted = list(names)
        statuses = self.store.get_many(wanted) if self.store is not None else {}
        return {name: self._one(name, statuses.get(name)) for name in wanted}

    def tracked(self, owner: str | None = None) -> list[str]:
        """Endpoints with a status record (smgitops manages them), only those ``owner`` owns
        when it is given; none without a table."""
        if self.store is None:
            return []
        return [
            s.endpoint
            for s in self.store.list_statuses()
            if not s.deleted and (owner is None or s.owner == owner)
        ]

    def not_owned(self, names: Iterable[str], owner: str) -> dict[str, str]:
        """Per endpoint, why a push from the repository ``owner`` would be refused it: another
        repository owns it, or it exists and smgitops did not create it (DESIGN §6). One
        batch read; a SageMaker call only for an endpoint no status manages."""
        wanted = list(names)
        statuses = self.store.get_many(wanted) if self.store is not None else {}
        out = {}
        for name in wanted:
            tags = partial(self.sagemaker.endpoint_tags, name)
            reason = ownership.refusal(name, owner, statuses.get(name), tags)
            if reason:
                out[name] = reason
        return out

    def _one(self, name: str, status: RolloutStatus | None) -> Current:
        applied, ended = None, ""
        if status is not None:
            applied = status.next.spec_hash if status.next else status.spec_hash
            if status.next is None and status.phase in {Phase.ROLLED_BACK, Phase.FAILED}:
                ended = f"{status.phase} at {status.commit[:12]} ({status.reason})"
        managed = None if self.store is None else status is not None
        endpoint = self.sagemaker.describe_endpoint(name)
        if endpoint is None:
            return Current(None, applied, exists=False, managed=managed, ended=ended)
        try:
            variants = self.sagemaker.config_variants(endpoint.config) if endpoint.config else []
        except NotFoundError:  # its live config was deleted: what it runs is unknown
            variants = []
        if not variants:
            return Current({}, applied, exists=True, managed=managed, ended=ended)
        weights = {v.name: v.desired_weight for v in endpoint.variants}
        main = max(variants, key=lambda v: weights.get(v.name, 0.0))  # the one serving most
        described = self._describe_model(main.model)
        fields = self._model_fields(described)
        serverless = "ServerlessConfig" in main.settings
        fields["instanceType"] = None if serverless else main.instance_type
        fields["instanceCount"] = None if serverless else main.instance_count
        fields |= production_fields(main.settings, main.config_settings, described.get("VpcConfig"))
        fields |= self._scaling_fields(name, main.name)
        live = next((v for v in endpoint.variants if v.name == main.name), None)
        counted = (live.desired_instance_count or live.current_instance_count) if live else 0
        serverless_config = main.settings.get("ServerlessConfig")
        held = of_live(main.instance_type, counted or main.instance_count, serverless_config)
        return Current(fields, applied, exists=True, managed=managed, ended=ended, held=held)

    def _scaling_fields(self, endpoint: str, variant: str) -> dict[str, Any]:
        """The variant's scalable target and smgitops' policy, as ``autoscaling.*`` fields; none
        when smgitops does not scale it (not registered, or registered outside smgitops: a push
        leaves that one alone)."""
        target = self.autoscaling.targets(endpoint, [variant], policies=True).get(variant)
        if target is None:
            return {}
        policy = next((p for p in target.policies or [] if p.name == POLICY_NAME), None)
        if policy is None:
            return {}
        return {
            "autoscaling.minInstances": target.min_capacity,
            "autoscaling.maxInstances": target.max_capacity,
            **{f"autoscaling.{k}": v for k, v in policy_summary(policy.configuration).items()},
        }

    def _describe_model(self, model: str) -> dict[str, Any]:
        try:
            out: dict[str, Any] = self.sagemaker.client.describe_model(ModelName=model)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "DescribeModel") from exc
        return out

    def _model_fields(self, out: dict[str, Any]) -> dict[str, Any]:
        container = out.get("PrimaryContainer") or (out.get("Containers") or [{}])[0]
        values = {
            "image": container.get("Image"),
            "modelDataUrl": container.get("ModelDataUrl"),
            "modelPackageArn": container.get("ModelPackageName"),
            "executionRoleArn": out.get("ExecutionRoleArn"),
            "environment": dict(container.get("Environment") or {}),
        }
        return {f"model.{name}": values[name] for name in MODEL_FIELDS}
