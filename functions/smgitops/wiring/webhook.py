"""The webhook function's service. Its cold path: no pydantic, no GitPython, no YAML, no
declaration or rollout module (``tests/integration/test_webhook.py`` checks ``sys.modules``)."""

from __future__ import annotations

from smgitops.aws.deliveries import DeliveryStore
from smgitops.aws.queue import WorkQueue
from smgitops.aws.secrets import CachedSecret, SecretReader
from smgitops.ingest.allowlist import AllowList
from smgitops.ingest.webhook import Webhook, WebhookConfig
from smgitops.wiring import once


@once
def webhook() -> Webhook:
    """Built once per container from the environment."""
    settings = WebhookConfig.from_env()

    def cached(name: str) -> CachedSecret:
        return CachedSecret(
            SecretReader(name),
            max_age=settings.secret_cache_seconds,
            min_refresh=settings.secret_refresh_seconds,
            previous_window=settings.previous_secret_seconds,
        )

    return Webhook(
        secret=cached(settings.webhook_secret),
        repository_secrets=cached(settings.repository_secrets)
        if settings.repository_secrets
        else None,
        deliveries=DeliveryStore(settings.table, ttl_seconds=settings.delivery_ttl_seconds),
        queue=WorkQueue(settings.queue_url),
        allow=AllowList.parse(settings.repository_urls),
        branch=settings.branch,
        max_body_bytes=settings.max_body_bytes,
    )
