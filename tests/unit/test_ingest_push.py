"""The webhook's pydantic-free path against the pydantic models it stands in for.

The webhook validates GitHub payloads by hand (smgitops.ingest.push), reads its environment
with a dataclass (WebhookConfig) and writes push work without pydantic (WorkMessage); the
pydantic models (PushPayload, PingPayload, WebhookSettings, PushWork) remain the typed form of
the same rules for everything else. These tests hold each pair to one behaviour: the same
payloads accepted, the same problems reported in the same words, the same work, the same
message on the wire, the same variables and defaults.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from smgitops.errors import ConfigurationError
from smgitops.ingest.github import PingPayload, PushPayload
from smgitops.ingest.push import Ignored, PayloadError, Ping, Problem, Push, WorkMessage
from smgitops.ingest.webhook import WebhookConfig
from smgitops.ingest.work import PushWork
from smgitops.settings import WebhookSettings
from tests.conftest import load_event
from tests.support.ingest import body_of

PUSH = json.loads(body_of(load_event("github-push-main.json")))
PING = json.loads(body_of(load_event("github-ping.json")))
SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

# Values that sit on every edge of the rules: wrong JSON types, lax-mode coercions a strict
# reader must refuse, limits, non-finite and huge numbers, timestamps, lone surrogates.
edges: st.SearchStrategy[Any] = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        1.5,
        -0.5,
        10**400,
        2**63,
        math.nan,
        math.inf,
        -math.inf,
        "",
        "true",
        "1",
        "1714564800",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00",
        "0001-01-01T00:00:00+23:59",
        "main",
        "refs/heads/main",
        "refs/tags/v1",
        "refs/heads/feature",
        SHA,
        SHA.upper(),
        "0" * 40,
        "0",
        "x" * 257,
        "x" * 1025,
        "\ud800",
        "modèles/ü",
        [],
        {},
        {"name": "x" * 300},
        {"name": 5},
        {"id": 7},
        {"id": "7"},
        {"full_name": "acme/x", "clone_url": "https://github.com/acme/x.git"},
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | edges,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _mutated(base: dict[str, Any], nested: tuple[str, ...], data: st.DataObject) -> dict[str, Any]:
    """``base`` with some keys (top level, or inside the ``nested`` objects) changed or gone."""
    payload: dict[str, Any] = json.loads(json.dumps(base))
    places: list[tuple[dict[str, Any], list[str]]] = [(payload, [*base, "pusher", "hook"])]
    for key in nested:
        if isinstance(payload.get(key), dict):
            places.append((payload[key], [*base[key], "full_name", "pushed_at", "name", "id"]))
    for _ in range(data.draw(st.integers(0, 3))):
        target, keys = data.draw(st.sampled_from(places))
        key = data.draw(st.sampled_from(sorted(set(keys))))
        if data.draw(st.integers(0, 4)) == 0:
            target.pop(key, None)
        else:
            target[key] = data.draw(edges | json_values)
    return payload


def _pydantic_problems(exc: ValidationError) -> list[Problem]:
    return [Problem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]


def _both(parse: Any, model: Any, payload: dict[str, Any]) -> tuple[Any, Any]:
    """(hand result or its problems, pydantic result or its problems)."""
    try:
        hand: Any = parse(payload)
    except PayloadError as exc:
        hand = exc.problems
    try:
        typed: Any = model.model_validate(payload)
    except ValidationError as exc:
        typed = _pydantic_problems(exc)
    return hand, typed


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_push_by_hand_and_push_payload_agree_on_every_payload(data: st.DataObject) -> None:
    payload = _mutated(PUSH, ("repository", "pusher"), data)
    hand, typed = _both(Push.parse, PushPayload, payload)
    if isinstance(typed, list):
        assert hand == typed  # the same problems, in the same order and words
        return
    assert isinstance(hand, Push)
    for branch in ("main", "feature"):
        mine = hand.work(branch=branch, delivery="d-1", received_at=7.0)
        theirs = typed.work(branch=branch, delivery="d-1", received_at=7.0)
        if isinstance(mine, Ignored):
            assert mine == theirs
        else:  # what the webhook enqueues is valid push work, the same as the model's
            assert isinstance(theirs, PushWork)
            assert PushWork.model_validate_json(mine.to_message()) == theirs
            assert mine.to_message() == theirs.to_message()


@given(data=st.data())
def test_ping_by_hand_and_ping_payload_agree_on_every_payload(data: st.DataObject) -> None:
    payload = _mutated(PING, ("hook",), data)
    hand, typed = _both(Ping.parse, PingPayload, payload)
    if isinstance(typed, list):
        assert hand == typed
    else:
        assert hand == Ping(typed.id)


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        (
            {"before": None, "after": 7, "repository": None},
            [
                "before: Input should be a valid string",
                "after: Input should be a valid string",
                "repository: Input should be a valid dictionary or instance of Repository",
            ],
        ),
        ({"after": "HEAD; rm -rf /"}, ["after: Value error, not a hex commit id"]),
        ({"before": SHA + "\n"}, ["before: Value error, not a hex commit id"]),
        (
            {"deleted": "true", "forced": 1},
            [
                "deleted: Input should be a valid boolean",
                "forced: Input should be a valid boolean",
            ],
        ),
        (
            {"pusher": {"name": "x" * 257}},
            ["pusher.name: String should have at most 256 characters"],
        ),
        (
            {"repository": {"clone_url": ""}},
            [
                "repository.full_name: Field required",
                "repository.clone_url: String should have at least 1 character",
            ],
        ),
    ],
)
def test_push_problems_are_located_and_all_reported(
    change: dict[str, Any], problems: list[str]
) -> None:
    with pytest.raises(PayloadError) as caught:
        Push.parse({**PUSH, **change})
    assert [f"{p.where}: {p.message}" for p in caught.value.problems] == problems
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    assert str(caught.value) == f"not a push payload: {problems[0]}{more}"


@pytest.mark.parametrize(
    ("pushed_at", "expected"),
    [
        (1714564800, 1714564800.0),
        ("2024-05-01T12:00:00Z", 1714564800.0),
        ("2024-05-01T14:00:00+02:00", 1714564800.0),
        (None, None),
        (-1, "repository.pushed_at: Input should be greater than or equal to 0"),
        (math.nan, "repository.pushed_at: Input should be a finite number"),
        (math.inf, "repository.pushed_at: Input should be a finite number"),
        (True, "repository.pushed_at: Input should be a valid number"),
        (10**400, "repository.pushed_at: Input should be a valid number"),
        ("soon", "repository.pushed_at: Value error, 'soon' is not a timestamp"),
    ],
)
def test_the_ordering_key_is_a_finite_non_negative_time(pushed_at: Any, expected: Any) -> None:
    payload = json.loads(json.dumps(PUSH))
    payload["repository"]["pushed_at"] = pushed_at
    if isinstance(expected, str):
        with pytest.raises(PayloadError) as caught:
            Push.parse(payload)
        assert caught.value.summary() == expected
    else:
        assert Push.parse(payload).pushed_at == expected


# --- the message on the wire ----------------------------------------------------------------


def test_work_message_has_exactly_the_fields_of_push_work() -> None:
    assert [f.name for f in dataclasses.fields(WorkMessage)] == [
        name for name in PushWork.model_fields if name != "kind"
    ]


def test_the_webhooks_message_is_push_work_and_push_work_writes_the_same_message() -> None:
    message = WorkMessage(
        provider="github",
        repository="https://github.com/acme/mod\u00e8les.git",
        full_name="acme/mod\u00e8les\uffff",
        ref="refs/heads/main",
        commit=SHA,
        pushed_at=1714564800.0,
        delivery="d-1",
        before=None,
        pusher="jdoe",
    )
    text = message.to_message()
    assert text.isascii()  # escaped: SQS refuses some code points in a body, never an escape
    assert json.loads(text) == {
        "kind": "push",
        "provider": "github",
        "repository": "https://github.com/acme/mod\u00e8les.git",
        "fullName": "acme/mod\u00e8les\uffff",
        "ref": "refs/heads/main",
        "commit": SHA,
        "pushedAt": 1714564800.0,
        "delivery": "d-1",
        "pusher": "jdoe",
    }
    work = PushWork.model_validate_json(text)
    assert work == PushWork.of(message)
    assert work.to_message() == text


def test_push_work_refuses_a_non_finite_ordering_key() -> None:
    fields = WorkMessage("github", "r", "a/b", "refs/heads/main", SHA, 1.0, "d").fields()
    with pytest.raises(ValidationError, match="finite"):
        PushWork.model_validate({**fields, "pushedAt": math.inf})


# --- the environment ------------------------------------------------------------------------

REQUIRED = {"SMGITOPS_TABLE": "t", "SMGITOPS_WEBHOOK_SECRET": "s", "SMGITOPS_QUEUE_URL": "q"}


def test_webhook_config_has_the_fields_and_defaults_of_webhook_settings() -> None:
    mine = {f.name: f.default for f in dataclasses.fields(WebhookConfig)}
    theirs = {
        name: field.default if not field.is_required() else dataclasses.MISSING
        for name, field in WebhookSettings.model_fields.items()
    }
    assert mine == theirs


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"SMGITOPS_BRANCH": "release", "SMGITOPS_REPOSITORY_URLS": "https://x/a.git, /srv/b"},
        {"SMGITOPS_MAX_BODY_BYTES": "1024", "SMGITOPS_DELIVERY_TTL_SECONDS": " 60 "},
        {"SMGITOPS_SECRET_REFRESH_SECONDS": "0.5", "SMGITOPS_MAX_BODY_BYTES": ""},
        {"SMGITOPS_SECRET_REFRESH_SECONDS": "0", "UNRELATED": "x"},
    ],
)
def test_webhook_config_reads_what_webhook_settings_reads(extra: dict[str, str]) -> None:
    environ = {**REQUIRED, **extra}
    assert dataclasses.asdict(WebhookConfig.from_env(environ)) == (
        WebhookSettings.from_env(environ).model_dump()
    )


def test_webhook_config_fails_loudly_naming_every_problem() -> None:
    with pytest.raises(ConfigurationError) as caught:
        WebhookConfig.from_env({"SMGITOPS_QUEUE_URL": "", "SMGITOPS_MAX_BODY_BYTES": "5MB"})
    message = str(caught.value)
    for name in ("SMGITOPS_TABLE", "SMGITOPS_WEBHOOK_SECRET", "SMGITOPS_QUEUE_URL"):
        assert f"{name} (missing)" in message
    assert "SMGITOPS_MAX_BODY_BYTES (not a whole number >= 0: '5MB')" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMGITOPS_MAX_BODY_BYTES", "-1"),
        ("SMGITOPS_MAX_BODY_BYTES", "1.5"),
        ("SMGITOPS_DELIVERY_TTL_SECONDS", "\uff11\uff12"),  # full-width digits
        ("SMGITOPS_SECRET_REFRESH_SECONDS", "-1"),
        ("SMGITOPS_SECRET_REFRESH_SECONDS", "nan"),
        ("SMGITOPS_SECRET_REFRESH_SECONDS", "inf"),
        ("SMGITOPS_SECRET_REFRESH_SECONDS", "\u0661"),  # an Arabic-Indic digit
    ],
)
def test_webhook_config_refuses_numbers_that_mean_nothing(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        WebhookConfig.from_env({**REQUIRED, name: value})
