"""Content-addressed names: a retried create is a no-op, never a duplicate."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from smgitops.declaration.models import Declaration
    from smgitops.rollout.status import VariantRef

PREFIX = "smg-"
ALARM_PREFIX = "smgitops-"


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def model_name(declaration: Declaration) -> str:
    """``smg-<endpoint>-<hash of endpoint + model spec>`` (≤ 63 characters)."""
    model = declaration.spec.model.model_dump(
        mode="json",
        by_alias=True,
        exclude_none=True,
        # settings of the production variant (in the variant's name), not of CreateModel
        exclude={"startup_health_check_timeout", "model_data_download_timeout"},
    )
    digest = _digest({"endpoint": declaration.name, "model": model})
    return f"{PREFIX}{declaration.name[:40]}-{digest[:10]}"


def variant_name(declaration: Declaration) -> str:
    """A variant per deployable content: model and capacity, not its autoscaling (a change of
    scaling alone is applied to the live variant: no new fleet). Without ``autoscaling`` this
    is the content hash."""
    content = {k: v for k, v in declaration.deployable().items() if k != "autoscaling"}
    return f"v-{_digest(content)[:12]}"


def variant_payload(variant: VariantRef) -> dict[str, Any]:
    """What a config's name hashes of a variant: settings only when it has some, so that the
    configs of variants without production fields keep the names they had before them."""
    return variant.model_dump(exclude_defaults=True)


def config_name(endpoint: str, variants: Iterable[VariantRef], extra: Any = None) -> str:
    """``smg-<endpoint>-<hash of the variants>``: same variants, same config."""
    payload = {
        "endpoint": endpoint,
        "variants": sorted((variant_payload(v) for v in variants), key=lambda v: str(v["name"])),
        "extra": extra,
    }
    return f"{PREFIX}{endpoint[:36]}-{_digest(payload)[:12]}"


MAX_ALARM_NAME = 255  # PutMetricAlarm AlarmName


def alarm_name(
    endpoint: str, variant: str, metric: str, statistic: str, namespace: str = ""
) -> str:
    """``smgitops-<endpoint>-<variant>-<metric>-<statistic>-<hash>`` (≤ 255 characters).

    The readable part may be cut to fit; the hash of every part stays, so two checks never
    share an alarm (one ``PutMetricAlarm`` would silently replace the other).
    """
    digest = _digest([endpoint, variant, namespace, metric, statistic])[:10]
    readable = f"{ALARM_PREFIX}{endpoint}-{variant}-{metric}-{statistic}"
    return f"{readable[: MAX_ALARM_NAME - len(digest) - 1]}-{digest}"


def rollout_id(endpoint: str, commit: str, spec_hash: str, pushed_at: float) -> str:
    """Also the Step Functions execution name (≤ 80 chars, [A-Za-z0-9-]).

    One per push: a redelivered push gets the same name (so a retried start is the same
    execution), a new push of the same commit and declaration — a branch reset to an older
    commit — gets a new one. Step Functions refuses a name for 90 days after its execution
    ended (``StartExecutionInput.name``), so the name cannot be the commit and spec alone.
    """
    return f"{endpoint[:50]}-{commit[:12]}-{_digest([spec_hash, pushed_at])[:8]}"


def heal_rollout_id(base: str, now: float) -> str:
    """A forced (drift repair) rollout of an unchanged declaration: a fresh execution name."""
    return f"{base[:71]}-h{int(now) % 1_000_000:06d}"
