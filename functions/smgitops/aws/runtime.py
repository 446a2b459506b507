"""SageMaker Runtime adapter: golden requests to one variant (``InvokeEndpoint`` + TargetVariant).

The model's own failures are answers, not exceptions: a ``ModelError`` (the container
returned an error status) and a read timeout become a :class:`Response` the validation scores
as failed. Throttling and 5xx raise ``TransientError`` (the tick retries); a request SageMaker
refuses (unknown endpoint or variant) raises ``ActionRejectedError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from smgitops.aws import clients
from smgitops.aws.errors import code_of, message_of, translate
from smgitops.errors import TransientError
from smgitops.rollout.golden import Response

if TYPE_CHECKING:
    from smgitops.rollout.golden import Invoke

MODEL_ERROR = "ModelError"
NOT_READY = frozenset({"ModelNotReadyException", "ModelNotReady"})
MODEL_ERROR_STATUS = 424  # what SageMaker answers when the container failed


class Runtime:
    """``client``: used for every request (tests); otherwise a client per timeout, one attempt
    each: botocore's standard mode would retry a read timeout 4 more times (InvokeEndpoint is
    not idempotent, and 5 × 30 s outlasts the tick)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def client_for(self, timeout: float | None) -> Any:
        if self._client is not None:
            return self._client
        if timeout is None:
            return clients.client("sagemaker-runtime")
        return clients.timed_client("sagemaker-runtime", timeout)

    def invoke(
        self,
        endpoint: str,
        variant: str,
        body: bytes,
        content_type: str,
        accept: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Response:
        params: dict[str, Any] = {
            "EndpointName": endpoint,
            "TargetVariant": variant,
            "Body": body,
            "ContentType": content_type,
        }
        if accept:
            params["Accept"] = accept
        try:
            out = self.client_for(timeout).invoke_endpoint(**params)
        except ClientError as exc:
            return _model_failure(exc)
        except ReadTimeoutError as exc:
            return Response(status=0, error=f"no answer in time: {exc}")
        except BotoCoreError as exc:
            raise translate(exc, "InvokeEndpoint") from exc
        stream = out.get("Body")
        payload = stream.read() if hasattr(stream, "read") else (stream or b"")
        return Response(
            status=200,
            body=payload if isinstance(payload, bytes) else str(payload).encode(),
            content_type=str(out.get("ContentType", "")),
        )

    def invoker(self, endpoint: str, variant: str, timeout: float | None = None) -> Invoke:
        """``invoke(body, content_type, accept)`` bound to one variant, for ``golden.run``."""

        def invoke(body: bytes, content_type: str, accept: str | None) -> Response:
            return self.invoke(endpoint, variant, body, content_type, accept, timeout=timeout)

        return invoke


def _model_failure(exc: ClientError) -> Response:
    code = code_of(exc)
    if code == MODEL_ERROR:
        original = exc.response.get("OriginalStatusCode")
        message = str(exc.response.get("OriginalMessage") or message_of(exc))
        return Response(
            status=int(original) if original else MODEL_ERROR_STATUS,
            body=message.encode(),
            error=f"ModelError: {message_of(exc)}",
        )
    if code in NOT_READY:
        raise TransientError(f"InvokeEndpoint: {message_of(exc)}") from exc
    raise translate(exc, "InvokeEndpoint") from exc
