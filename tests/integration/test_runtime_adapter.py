"""InvokeEndpoint with TargetVariant (moto), a model's error as a failed answer (botocore's
Stubber: moto never answers ModelError) and a timeout as a failed answer."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws
from moto.sagemakerruntime.models import sagemakerruntime_backends

from smgitops.aws.runtime import Runtime
from smgitops.errors import ActionRejectedError, TransientError
from smgitops.rollout.validation import NamedRequest, parse_request, run
from tests.integration.emulator_support import ACCOUNT, REGION, client

ENDPOINT = "churn-predictor"


def runtime_client(**config: Any) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        "sagemaker-runtime", config=Config(**config)
    )


def test_golden_requests_go_to_the_candidate_variant_and_are_scored() -> None:
    with mock_aws():
        answers = sagemakerruntime_backends[ACCOUNT][REGION].results_queue
        answers.append(('{"label": "stay", "score": 0.2}', "application/json", "cand", ""))
        answers.append(('{"label": "churn", "score": 0.97}', "application/json", "cand", ""))
        sm_runtime = client("sagemaker-runtime")
        headers: list[dict[str, Any]] = []
        sm_runtime.meta.events.register(
            "before-send.sagemaker-runtime.InvokeEndpoint",
            lambda request, **_: headers.append(dict(request.headers)),
        )
        requests = [
            NamedRequest(
                name,
                parse_request(
                    name,
                    json.dumps(
                        {
                            "body": {"customer": name},
                            "expect": {
                                "fields": [{"path": "$.label", "op": "==", "value": "stay"}]
                            },
                        }
                    ),
                ),
            )
            for name in ("a.json", "b.json")
        ]
        invoke = Runtime(sm_runtime).invoker(ENDPOINT, "cand")
        outcome = run(requests, invoke, "application/json", min_score=1.0)
    assert [h["X-Amzn-SageMaker-Target-Variant"] for h in headers] == [b"cand", b"cand"]
    assert [h["Content-Type"] for h in headers] == [b"application/json"] * 2
    assert outcome.score == 0.5
    assert not outcome.ok
    assert outcome.failures == ('b.json: $.label: expected == "stay", got "churn"',)


def test_a_model_error_is_a_failed_answer_not_an_exception() -> None:
    sm_runtime = runtime_client()
    with Stubber(sm_runtime) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            service_message="Received server error (500) from primary",
            http_status_code=424,
            modeled_fields={"OriginalStatusCode": 500, "OriginalMessage": "division by zero"},
        )
        response = Runtime(sm_runtime).invoke(ENDPOINT, "cand", b"{}", "application/json")
    assert response.status == 500
    assert response.body == b"division by zero"
    assert response.error == "ModelError: Received server error (500) from primary"


@pytest.mark.parametrize(
    "code, error",
    [
        ("ValidationError", ActionRejectedError),
        ("ModelNotReadyException", TransientError),
        ("ThrottlingException", TransientError),
    ],
)
def test_other_errors_raise(code: str, error: type[Exception]) -> None:
    sm_runtime = runtime_client()
    with Stubber(sm_runtime) as stub:
        stub.add_client_error("invoke_endpoint", service_error_code=code, http_status_code=400)
        with pytest.raises(error):
            Runtime(sm_runtime).invoke(ENDPOINT, "cand", b"{}", "application/json")


def test_a_timeout_is_a_failed_answer() -> None:
    sm_runtime = runtime_client(retries={"max_attempts": 1})

    def too_slow(request: Any, **_: Any) -> None:
        raise ReadTimeoutError(endpoint_url=request.url)

    sm_runtime.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", too_slow)
    response = Runtime(sm_runtime).invoke(ENDPOINT, "cand", b"{}", "application/json")
    assert response.status == 0
    assert response.error.startswith("no answer in time")
