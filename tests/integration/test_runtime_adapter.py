"""InvokeEndpoint with TargetVariant on the emulator (a model's error is a failed answer, not
an exception); throttling and timeouts through botocore's Stubber and event hooks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from smgitops.aws.runtime import Runtime
from smgitops.errors import ActionRejectedError, TransientError
from smgitops.local.emulator import emulated_aws
from smgitops.local.emulator.traffic import ERROR_RATE, RESPONSE
from smgitops.rollout.validation import NamedRequest, check, parse_request, run
from tests.support.emulator import (
    REGION,
    client,
    create_config,
    create_model,
    deploy,
    variant,
)

ENDPOINT = "churn-predictor"


def runtime_client(**config: Any) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        "sagemaker-runtime", config=Config(**config)
    )


@pytest.fixture
def endpoint() -> Iterator[Any]:
    """stable (all the traffic), cand (weight 0, echoes) and broken (its model always fails)."""
    with emulated_aws(update_delay=0, seed=3):
        sm = client("sagemaker")
        create_model(sm, "m-stable", environment={RESPONSE: '{"label": "stay"}'})
        create_model(sm, "m-cand")
        create_model(sm, "m-broken", environment={ERROR_RATE: "1"})
        create_config(
            sm,
            "cfg",
            [
                variant("stable", "m-stable", weight=1.0),
                variant("cand", "m-cand", weight=0.0),
                variant("broken", "m-broken", weight=0.0),
            ],
        )
        deploy(sm, ENDPOINT, "cfg")
        yield client("sagemaker-runtime")


def golden(name: str, request: dict[str, Any]) -> NamedRequest:
    return NamedRequest(name, parse_request(name, json.dumps(request)))


def test_golden_requests_go_to_the_candidate_variant_and_are_scored(endpoint: Any) -> None:
    headers: list[dict[str, Any]] = []
    endpoint.meta.events.register(
        "before-send.sagemaker-runtime.InvokeEndpoint",
        lambda request, **_: headers.append(dict(request.headers)),
    )
    echo_checks = [
        {"path": "$.variant", "op": "==", "value": "cand"},
        {"path": "$.input", "op": "matches", "value": '"customer":"a"'},
    ]
    requests = [
        golden("a.json", {"body": {"customer": "a"}, "expect": {"fields": echo_checks}}),
        golden("b.json", {"body": "b", "expect": {"exact": {"label": "stay"}}}),
    ]
    outcome = run(requests, Runtime(endpoint).invoker(ENDPOINT, "cand"), "text/csv", 1.0)
    assert [h["X-Amzn-SageMaker-Target-Variant"] for h in headers] == [b"cand", b"cand"]
    assert [h["Content-Type"] for h in headers] == [b"text/csv"] * 2
    assert outcome.score == 0.5
    assert not outcome.ok
    assert outcome.failures[0].startswith("b.json: body differs: $.input: expected nothing")


def test_a_model_error_is_a_failed_answer_not_an_exception(endpoint: Any) -> None:
    response = Runtime(endpoint).invoke(ENDPOINT, "broken", b"{}", "application/json")
    assert response.status == 500
    assert response.body == b"Internal Server Error"
    assert response.error.startswith("ModelError: Received server error (500) from primary")
    assert check(parse_request("x.json", '{"body": 1}'), response) == [
        f"status 500, expected 200 ({response.error})"
    ]


def test_an_unknown_variant_is_refused(endpoint: Any) -> None:
    with pytest.raises(ActionRejectedError, match="Target variant nope"):
        Runtime(endpoint).invoke(ENDPOINT, "nope", b"{}", "application/json")


@pytest.mark.parametrize(
    "code, error",
    [
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
