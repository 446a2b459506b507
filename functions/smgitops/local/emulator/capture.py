"""Data capture for the traffic simulator: what SageMaker writes to S3 for an endpoint config
with a ``DataCaptureConfig``, so that a capture destination can be looked at locally.

AWS, "Capture data from real-time endpoint"
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html):
records go to ``<DestinationS3Uri>/<endpoint-name>/<variant-name>/yyyy/mm/dd/hh/`` as JSON
Lines, one line per captured request, ``{"captureData": {"endpointInput": {...},
"endpointOutput": {...}}, "eventMetadata": {"eventId", "inferenceTime"}, "eventVersion": "0"}``;
without ``CaptureContentTypeHeader`` the data is base64 encoded. Each variant of a rollout is
captured under its own name, which is how the stable and the candidate model are told apart.

Kinder than AWS, on purpose: SageMaker buffers records into a file every few minutes; here each
captured request is one object, written at once. A destination bucket that does not exist (in
the emulator's S3) captures nothing, as on AWS, where the endpoint keeps serving.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from smgitops import clock

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence


class Invocation(Protocol):
    """What a capture record needs of one simulated request (``traffic.Invocation``)."""

    @property
    def variant(self) -> str: ...

    @property
    def body(self) -> bytes: ...

    @property
    def content_type(self) -> str: ...


MODES: dict[str, tuple[str, ...]] = {
    "Input": ("endpointInput",),
    "Output": ("endpointOutput",),
    "InputAndOutput": ("endpointInput", "endpointOutput"),
}


def sampled(config: dict[str, Any], rng: random.Random) -> bool:
    """This request is captured: capture on, and within ``InitialSamplingPercentage``."""
    if not config or not config.get("EnableCapture", True):
        return False
    return rng.random() * 100.0 < float(config.get("InitialSamplingPercentage", 0))


def key_of(config: dict[str, Any], endpoint: str, variant: str, at: datetime) -> tuple[str, str]:
    """(bucket, key) of one captured request."""
    bucket, _, prefix = str(config["DestinationS3Uri"]).removeprefix("s3://").partition("/")
    folder = "/".join(p for p in (prefix.strip("/"), endpoint, variant) if p)
    name = f"{at:%M-%S-%f}-{uuid.uuid4()}.jsonl"
    return bucket, f"{folder}/{at:%Y/%m/%d/%H}/{name}"


def line(
    config: dict[str, Any], body: bytes, content_type: str, invocation: Invocation, at: datetime
) -> dict[str, Any]:
    """One JSON Lines record, as SageMaker writes it."""
    wanted = {
        part
        for option in config.get("CaptureOptions") or []
        for part in MODES.get(str(option.get("CaptureMode")), ())
    }
    data: dict[str, Any] = {}
    if "endpointInput" in wanted:
        data["endpointInput"] = _payload(body, content_type, "INPUT")
    if "endpointOutput" in wanted:
        data["endpointOutput"] = _payload(invocation.body, invocation.content_type, "OUTPUT")
    return {
        "captureData": data,
        "eventMetadata": {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "eventVersion": "0",
    }


def _payload(data: bytes, content_type: str, mode: str) -> dict[str, str]:
    return {
        "observedContentType": content_type,
        "mode": mode,
        "data": base64.b64encode(data).decode(),
        "encoding": "BASE64",
    }


def write(
    account_id: str,
    region: str,
    endpoint: str,
    *,
    config: dict[str, Any],
    body: bytes,
    content_type: str,
    captured: Sequence[Invocation],
) -> None:
    """Put one capture object per captured invocation, if the destination bucket exists."""
    if not captured:
        return
    backend = s3_backends[account_id][get_partition(region)]
    at = datetime.fromtimestamp(clock.now(), UTC)
    for invocation in captured:
        bucket, key = key_of(config, endpoint, invocation.variant, at)
        if bucket not in backend.buckets:
            return
        record = line(config, body, content_type, invocation, at)
        backend.put_object(bucket, key, (json.dumps(record) + "\n").encode())
