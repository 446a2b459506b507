"""Environment read once, at cold start, into typed settings (a missing variable fails loudly)."""

from __future__ import annotations

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from smgitops.declaration.models import OPERATOR_CHECKS, ChecksPolicy
from smgitops.errors import ConfigurationError


class _Settings(BaseModel):
    """Fields are read from ``SMGITOPS_<FIELD_NAME_UPPER>`` environment variables."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Self:
        env = dict(os.environ if environ is None else environ)
        values = {
            name: env[f"SMGITOPS_{name.upper()}"]
            for name in cls.model_fields
            if f"SMGITOPS_{name.upper()}" in env and env[f"SMGITOPS_{name.upper()}"] != ""
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            missing = ", ".join(
                f"SMGITOPS_{'.'.join(str(p) for p in e['loc']).upper()} ({e['msg']})"
                for e in exc.errors()
            )
            raise ConfigurationError(f"{cls.__name__}: bad environment: {missing}") from exc


class StoreSettings(_Settings):
    """What every function that reads or writes rollout status needs."""

    table: str


class EngineSettings(StoreSettings):
    """tick, abort, drift and the CLI's operator commands."""

    topic_arn: str | None = None
    github_token_secret: str | None = None  # commit statuses on rollout outcomes (optional)
    github_api_url: str = "https://api.github.com"


class ReconcileSettings(EngineSettings):
    state_machine_arn: str
    branch: str = "main"
    declarations_dir: str = "endpoints"
    prune: bool = False
    max_endpoints: int = 1000  # declaration files per push; above, refused from the tree
    # The widest checks policy a repository's .smgitops.yaml may choose (required,
    # acknowledged, optional): a rollout that shifts user traffic with no check needs at least
    # `analysis: none` in its file unless the repository (and this) allow `optional`.
    checks: ChecksPolicy = OPERATOR_CHECKS
    # The drift function's SMGITOPS_SELF_HEAL, so a repository's `selfHeal: true` that it would
    # not honour is a problem of the push (unset: not checked here; drift still bounds it).
    self_heal: bool | None = None
    repository_urls: str = ""  # comma-separated clone URLs (or fnmatch patterns) accepted
    git_credentials_secret: str | None = None
    # Per-repository execution roles (template parameter ExecutionRolePath, e.g. /smgitops/):
    # "" = off; set, a declaration's role must be under <path><host>/<repository path>/ or a parent.
    execution_role_path: str = ""
    workdir: str = "/tmp/smgitops"  # noqa: S108 - Lambda's only writable folder  # nosec B108


class DriftSettings(EngineSettings):
    """drift: the scheduled comparison of live endpoints with their last-applied declarations."""

    state_machine_arn: str | None = None  # needed to start healing rollouts (selfHeal)
    # SMGITOPS_SELF_HEAL=true: drift starts a rollout back to the declaration, unless the
    # repository's .smgitops.yaml says selfHeal: false (the operator's is an upper bound).
    self_heal: bool = False
