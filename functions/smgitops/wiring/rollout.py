"""The rollout engine on its real adapters: for the tick and abort functions, and for every
other entry point that starts, operates or reads rollouts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.rollout.service import RolloutService
from smgitops.settings import EngineSettings
from smgitops.wiring import executions, once

if TYPE_CHECKING:
    from smgitops.rollout.ports import NotifierPort


@once
def rollouts() -> RolloutService:
    """The tick and abort functions' engine, from their environment."""
    return build(EngineSettings.from_env())


def build(settings: EngineSettings) -> RolloutService:
    """The engine on SageMaker, Application Auto Scaling, CloudWatch, the status table, Step
    Functions (when the settings name a state machine) and the configured notifiers."""
    # boto3 and the adapters on first use, not when an entry point is imported
    from smgitops.aws.autoscaling import Autoscaling  # noqa: PLC0415
    from smgitops.aws.checks import Analysis  # noqa: PLC0415
    from smgitops.aws.cloudwatch import CloudWatch  # noqa: PLC0415
    from smgitops.aws.sagemaker import SageMaker  # noqa: PLC0415
    from smgitops.aws.store import StatusStore  # noqa: PLC0415

    arn = getattr(settings, "state_machine_arn", None)
    return RolloutService(
        analysis=Analysis(),
        autoscaling=Autoscaling(),
        sagemaker=SageMaker(),
        cloudwatch=CloudWatch(),
        store=StatusStore(settings.table),
        executions=executions(arn) if arn else None,
        notifier=notifier(settings),
    )


def notifier(settings: EngineSettings) -> NotifierPort | None:
    """SNS when a topic is configured, GitHub commit statuses when a token secret is."""
    from smgitops.aws.notify import GitHubNotifier, Notifier, Notifiers, SnsNotifier  # noqa: PLC0415

    chosen: list[Notifier] = []
    if settings.topic_arn:
        chosen.append(SnsNotifier(settings.topic_arn))
    if settings.github_token_secret:
        from smgitops.aws.github import GitHubStatuses  # noqa: PLC0415
        from smgitops.aws.secrets import CachedSecret, SecretReader, token_from  # noqa: PLC0415

        secret = CachedSecret(SecretReader(settings.github_token_secret), max_age=300)
        api_url = settings.github_api_url

        def statuses() -> GitHubStatuses:
            return GitHubStatuses(api_url, token_from(secret.values()[0]))

        chosen.append(GitHubNotifier(statuses))
    if not chosen:
        return None
    return chosen[0] if len(chosen) == 1 else Notifiers(*chosen)
