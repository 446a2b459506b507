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

from smgitops.aws import clients
from smgitops.aws.runtime import Runtime
from smgitops.declaration.golden import NamedRequest, parse_request
from smgitops.errors import ActionRejectedError, TransientError
from smgitops.local.emulator import Emulator, emulated_aws
from smgitops.local.emulator.traffic import ERROR_RATE, RESPONSE, STALL_MS
from smgitops.rollout.golden import check, run
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
    return NamedRequest(name=name, request=parse_request(name, json.dumps(request)))


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


def test_the_declared_timeout_applies_once_to_a_hung_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model that answers after 3 s, a golden request timeout of 1 s: one attempt, no answer
    in time (botocore's default would wait 30 s and try 5 times)."""
    with Emulator.start(update_delay=0) as aws:
        sm = aws.client("sagemaker")
        create_model(sm, "m-hung", environment={STALL_MS: "3000"})
        create_config(sm, "cfg", [variant("hung", "m-hung")])
        deploy(sm, ENDPOINT, "cfg")
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
        clients.reset()
        sent: list[str] = []
        clients.timed_client("sagemaker-runtime", 1.0).meta.events.register(
            "before-send.sagemaker-runtime.InvokeEndpoint", lambda **_: sent.append("sent")
        )
        response = Runtime().invoke(ENDPOINT, "hung", b"{}", "application/json", timeout=1.0)
        clients.reset()
    assert response.status == 0
    assert response.error.startswith("no answer in time")
    assert sent == ["sent"]


def test_requests_that_do_not_fit_in_the_tick_are_not_sent_and_fail() -> None:
    sent: list[bytes] = []

    def invoke(body: bytes, content_type: str, accept: str | None) -> Any:
        sent.append(body)
        raise AssertionError("nothing may be sent")

    requests = [golden(f"{n}.json", {"body": {"n": n}}) for n in range(3)]
    outcome = run(requests, invoke, "application/json", 1.0, timeout=10.0, time_left=lambda: 5.0)
    assert sent == []
    assert outcome.passed == 0 and outcome.total == 3 and not outcome.ok
    assert (
        "not sent: 3 golden requests of up to 10s each do not fit in one tick"
        in (outcome.failures[0])
    )
