"""Property test over the webhook handler: random headers, bodies, encodings and signatures.

Whatever arrives: no exception escapes, no 5xx (the documented 503 needs a dependency down,
and here none is), and nothing is enqueued or recorded unless the body carries a valid
signature. ``HYPOTHESIS_PROFILE=nightly`` runs 10,000 cases.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from smgitops.handlers import webhook
from smgitops.ingest.signature import sign
from tests.conftest import load_event
from tests.support.ingest import TEST_SECRET, Aws, body_of, create_aws, webhook_env

if TYPE_CHECKING:
    from collections.abc import Iterator

ALLOWED = {200, 202, 400, 401, 403, 405, 413}
PUSH = json.loads(body_of(load_event("github-push-main.json")))
TEMPLATE = load_event("github-push-main.json")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """Raw bodies: junk bytes, random JSON, or GitHub's push payload with parts replaced."""
    kind = draw(st.sampled_from(["bytes", "json", "push"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    data = json.loads(json.dumps(PUSH))
    for key in draw(st.lists(st.sampled_from(sorted(PUSH)), max_size=3)):
        data[key] = draw(json_values)
    if isinstance(data.get("repository"), dict) and draw(st.booleans()):
        data["repository"]["clone_url"] = draw(
            st.sampled_from(
                [
                    "https://github.com/acme/ml-endpoints.git",
                    "https://github.com/evil/x.git",
                    "-uhoh",
                    "file:///etc",
                    "https://user:pw@github.com/acme/ml-endpoints.git",
                ]
            )
        )
    data["ref"] = draw(st.sampled_from(["refs/heads/main", "refs/tags/v1", "refs/heads/x", "main"]))
    return json.dumps(data).encode()


@st.composite
def requests(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A Function URL event and whether its signature is valid for its body."""
    raw = draw(payloads())
    mode = draw(st.sampled_from(["valid", "wrong-secret", "junk", "none", "hex", "stale-body"]))
    header: str | None
    if mode == "valid":
        header = sign(TEST_SECRET.encode(), raw)
    elif mode == "wrong-secret":
        header = sign(draw(st.text(min_size=1, max_size=30)).encode(), raw)
    elif mode == "junk":
        header = draw(st.text(max_size=80))
    elif mode == "hex":
        header = "sha256=" + draw(st.text("0123456789abcdef", min_size=64, max_size=64))
    elif mode == "stale-body":
        header = sign(TEST_SECRET.encode(), raw + b" ")
    else:
        header = None
    encoded = draw(st.booleans())
    if encoded:
        body = base64.b64encode(raw).decode()
        if draw(st.integers(0, 9)) == 0:
            body = body[:-1] + "!"  # not base64
    else:
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
    headers = dict(TEMPLATE["headers"])
    headers.pop("x-hub-signature-256")
    if header is not None:
        headers["x-hub-signature-256"] = header
    headers["x-github-event"] = draw(
        st.sampled_from(["push", "ping", "issues", "", "PUSH", "p\nx"])
    )
    headers["x-github-delivery"] = draw(st.uuids()).hex
    headers.update(draw(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=3)))
    event = {
        **TEMPLATE,
        "headers": headers,
        "body": body,
        "isBase64Encoded": encoded,
        "requestContext": {"http": {"method": draw(st.sampled_from(["POST", "POST", "GET"]))}},
    }
    if draw(st.integers(0, 19)) == 0:
        event = draw(st.sampled_from([{}, {"headers": None}, {"body": 3}, {"requestContext": 1}]))
    valid = mode == "valid" and headers.get("x-hub-signature-256") == header
    return event, valid


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        resources = create_aws()
        yield resources


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=requests())
def test_random_deliveries_never_5xx_never_raise_never_enqueue_unsigned(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, case: tuple[dict[str, Any], bool]
) -> None:
    webhook_env(monkeypatch, aws, SMGITOPS_SECRET_REFRESH_SECONDS="5")
    event, valid = case
    before = aws.queued()
    response = webhook.handler(event, None)
    assert response["statusCode"] in ALLOWED, response
    assert isinstance(json.loads(response["body"])["message"], str)
    if not valid:
        assert response["statusCode"] in {400, 401, 405, 413}, response
        assert aws.queued() == before
