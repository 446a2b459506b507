"""The reconcile function's service: git, the push records, commit statuses and the engine."""

from __future__ import annotations

from pathlib import Path

from smgitops.aws.deliveries import PushStore
from smgitops.aws.github import GitHubStatuses
from smgitops.aws.secrets import CachedSecret, SecretReader, token_from
from smgitops.git.credentials import GitCredentials
from smgitops.git.repository import GitFetcher
from smgitops.ingest.allowlist import AllowList
from smgitops.reconcile.reconciler import Reconciler
from smgitops.settings import ReconcileSettings
from smgitops.wiring import once
from smgitops.wiring.rollout import build

SECRET_MAX_AGE_S = 300.0


@once
def settings() -> ReconcileSettings:
    return ReconcileSettings.from_env()


@once
def reconciler() -> Reconciler:
    """Built once per container."""
    config = settings()
    git_secret = (
        CachedSecret(SecretReader(config.git_credentials_secret), max_age=SECRET_MAX_AGE_S)
        if config.git_credentials_secret
        else None
    )
    token_secret = (
        CachedSecret(SecretReader(config.github_token_secret), max_age=SECRET_MAX_AGE_S)
        if config.github_token_secret
        else None
    )

    def credentials(url: str) -> GitCredentials | None:
        del url
        return GitCredentials.parse(git_secret.values()[0]) if git_secret else None

    def statuses() -> GitHubStatuses | None:
        if token_secret is None:
            return None
        return GitHubStatuses(config.github_api_url, token_from(token_secret.values()[0]))

    return Reconciler(
        fetcher=GitFetcher(Path(config.workdir), credentials),
        engine=build(config),
        pushes=PushStore(config.table),
        allow=AllowList.parse(config.repository_urls),
        statuses=statuses,
        branch=config.branch,
        declarations_dir=config.declarations_dir,
        prune=config.prune,
        max_endpoints=config.max_endpoints,
        checks=config.checks,
        heal_allowed=config.self_heal,
        role_path=config.execution_role_path,
        deployment_arn=config.state_machine_arn,
    )
