"""The webhook's pydantic-free path: GitHub payloads validated by hand (smgitops.ingest.push),
the environment read by a dataclass (WebhookConfig), push work written without pydantic
(WorkMessage) and read back by the reconcile function (PushWork).

Strict like pydantic's strict mode, and in its words: the properties below feed thousands of
mangled payloads and require that an accepted payload carries exactly the JSON values it was
given (never a coerced ``"true"`` or ``1``), within every limit, and that a refused one names
each problem at its field. The wire format between webhook and reconcile has one writer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from smgitops.errors import ConfigurationError
from smgitops.ingest.push import (
    COMMIT_SHA,
    MAX_CLONE_URL,
    MAX_FULL_NAME,
    MAX_PUSHER,
    MAX_REF,
    MAX_TIMESTAMP,
    ZERO_SHA,
    Ignored,
    PayloadError,
    Ping,
    Push,
    WorkMessage,
    claim_key,
)
from smgitops.ingest.webhook import WebhookConfig
from smgitops.ingest.work import PushWork
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
        253402300800,  # one second past MAX_TIMESTAMP
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


def _text(value: Any, low: int, high: int) -> bool:
    """A JSON string within the limits that can travel on (no lone surrogate)."""
    if not isinstance(value, str) or not low <= len(value) <= high:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sha(value: Any) -> bool:
    return isinstance(value, str) and bool(COMMIT_SHA.match(value) or ZERO_SHA.match(value))


def _flag(payload: dict[str, Any], key: str) -> bool:
    return key not in payload or type(payload[key]) is bool


PUSH_FIELDS = {
    "ref",
    "before",
    "after",
    "created",
    "deleted",
    "forced",
    "repository",
    "repository.full_name",
    "repository.clone_url",
    "repository.pushed_at",
    "pusher",
    "pusher.name",
}


def _valid_push(payload: dict[str, Any]) -> bool:
    """The rules, stated independently of the reader: what a strict reader must accept."""
    repository, pusher = payload.get("repository"), payload.get("pusher")
    if not isinstance(repository, dict) or not (pusher is None or isinstance(pusher, dict)):
        return False
    pushed_at = repository.get("pushed_at")
    name = pusher.get("name") if pusher else None
    return (
        _text(payload.get("ref"), 1, MAX_REF)
        and _sha(payload.get("before"))
        and _sha(payload.get("after"))
        and all(_flag(payload, key) for key in ("created", "deleted", "forced"))
        and _text(repository.get("full_name"), 1, MAX_FULL_NAME)
        and _text(repository.get("clone_url"), 1, MAX_CLONE_URL)
        and (name is None or _text(name, 0, MAX_PUSHER))
        and (pushed_at is None or _timestamp(pushed_at))
    )


def _timestamp(value: Any) -> bool:
    """Seconds since the epoch, or an ISO 8601 string of a time (UTC when it names no zone)."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
            value = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        except (ValueError, OverflowError):
            return False
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(float(value)) and 0 <= value <= MAX_TIMESTAMP
    except OverflowError:
        return False


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_push_is_accepted_exactly_as_given_or_refused_naming_each_field(
    data: st.DataObject,
) -> None:
    payload = _mutated(PUSH, ("repository", "pusher"), data)
    try:
        push = Push.parse(payload)
    except PayloadError as exc:
        assert exc.problems, "a refusal names at least one problem"
        assert {p.where for p in exc.problems} <= PUSH_FIELDS
        assert all(p.message for p in exc.problems)
        assert not _valid_push(payload), f"a valid push was refused: {exc}"
        return
    assert _valid_push(payload), f"an invalid push was accepted: {payload!r}"
    repository = payload["repository"]
    # the values given, never coerced
    assert (push.ref, push.before, push.after) == (
        payload["ref"],
        payload["before"],
        payload["after"],
    )
    assert (push.full_name, push.clone_url) == (repository["full_name"], repository["clone_url"])
    assert push.deleted is payload.get("deleted", False)
    assert push.pusher == (payload.get("pusher") or {}).get("name")
    assert push.pushed_at is None or (
        math.isfinite(push.pushed_at) and 0 <= push.pushed_at <= MAX_TIMESTAMP
    )
    for branch in ("main", "feature"):
        work = push.work(branch=branch, delivery="d-1", received_at=7.0)
        if not isinstance(work, Ignored):  # what the webhook enqueues is valid push work
            read = PushWork.model_validate_json(work.to_message())
            assert read == PushWork.of(work)
            assert read.to_message() == work.to_message()
            assert (read.commit, read.pushed_at) == (payload["after"], 7.0)


@given(data=st.data())
def test_a_ping_is_accepted_exactly_as_given_or_refused_naming_each_field(
    data: st.DataObject,
) -> None:
    payload = _mutated(PING, ("hook",), data)
    hook = payload.get("hook")
    hook_id = payload.get("hook_id")
    nested = hook.get("id") if isinstance(hook, dict) else None
    valid = (
        (payload.get("zen") is None or isinstance(payload["zen"], str))
        and (hook_id is None or type(hook_id) is int)
        and (hook is None or isinstance(hook, dict))
        and (nested is None or type(nested) is int)
    )
    try:
        ping = Ping.parse(payload)
    except PayloadError as exc:
        assert not valid, f"a valid ping was refused: {exc}"
        assert {p.where for p in exc.problems} <= {"zen", "hook_id", "hook", "hook.id"}
        return
    assert valid, f"an invalid ping was accepted: {payload!r}"
    assert ping.id == (hook_id if hook_id is not None else nested)


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
        ({"before": ""}, ["before: Value error, not a hex commit id"]),
        (
            {"pusher": "jdoe"},
            ["pusher: Input should be a valid dictionary or instance of Pusher"],
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
        (0, 0.0),  # the epoch itself
        ("2024-05-01T12:00:00Z", 1714564800.0),
        ("2024-05-01T14:00:00+02:00", 1714564800.0),
        (None, None),
        (-1, "repository.pushed_at: Input should be greater than or equal to 0"),
        (math.nan, "repository.pushed_at: Input should be a finite number"),
        (math.inf, "repository.pushed_at: Input should be a finite number"),
        (True, "repository.pushed_at: Input should be a valid number"),
        (10**400, "repository.pushed_at: Input should be a valid number"),
        (
            MAX_TIMESTAMP + 1,
            "repository.pushed_at: Input should be less than or equal to 253402300799",
        ),
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


DEFAULTS = {
    "table": "t",
    "webhook_secret": "s",
    "queue_url": "q",
    "branch": "main",
    "repository_urls": "",
    "repository_secrets": "",
    "max_body_bytes": 5 * 1024 * 1024,
    "secret_refresh_seconds": 5.0,
    "secret_cache_seconds": 300.0,
    "previous_secret_seconds": 3600.0,
    "delivery_ttl_seconds": 7 * 86400,
}


@pytest.mark.parametrize(
    ("extra", "read"),
    [
        ({}, {}),
        (
            {"SMGITOPS_BRANCH": "release", "SMGITOPS_REPOSITORY_URLS": "https://x/a.git, /srv/b"},
            {"branch": "release", "repository_urls": "https://x/a.git, /srv/b"},
        ),
        (
            {"SMGITOPS_MAX_BODY_BYTES": "1024", "SMGITOPS_DELIVERY_TTL_SECONDS": " 60 "},
            {"max_body_bytes": 1024, "delivery_ttl_seconds": 60},
        ),
        (
            {"SMGITOPS_SECRET_REFRESH_SECONDS": "0.5", "SMGITOPS_MAX_BODY_BYTES": ""},
            {"secret_refresh_seconds": 0.5},
        ),
        ({"SMGITOPS_SECRET_REFRESH_SECONDS": "0", "UNRELATED": "x"}, {"secret_refresh_seconds": 0}),
    ],
)
def test_webhook_config_reads_its_variables_and_defaults(
    extra: dict[str, str], read: dict[str, Any]
) -> None:
    config = dataclasses.asdict(WebhookConfig.from_env({**REQUIRED, **extra}))
    assert config == {**DEFAULTS, **read}
    assert all(type(config[name]) is type(DEFAULTS[name]) for name in DEFAULTS)


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


def test_a_pushs_claim_is_the_same_key_across_releases_and_deliveries() -> None:
    """The webhook claims a push under this key in DynamoDB before it enqueues the work: a
    redelivery after an upgrade must find the claim its first delivery made, so the key is
    pinned; a push that gives no ``before`` is the push from the zero commit."""
    pinned = "push-2b0bbb39b7984e859907cea3fc6d7b5502d22cc38c474ffd54bc4be6cb83d07c"
    repo, ref, after = "github.com/acme/ml-endpoints", "refs/heads/main", "b" * 40
    assert claim_key(repo, ref, None, after) == pinned
    assert claim_key(repo, ref, "0" * 40, after) == pinned
    assert claim_key(repo, ref, "a" * 40, after) != pinned


# --- what a push is read as, and the work it asks for -----------------------------------------

REPOSITORY = "https://github.com/acme/ml-endpoints.git"


def _push(**changes: Any) -> Push:
    """events/github-push-main.json's payload with top-level keys changed (None: removed)."""
    payload = {**PUSH, **changes}
    return Push.parse({key: value for key, value in payload.items() if value is not None})


def test_a_push_is_read_as_the_fields_smgitops_uses() -> None:
    assert _push() == Push(
        ref="refs/heads/main",
        before=PUSH["before"],
        after=PUSH["after"],
        full_name="acme/ml-endpoints",
        clone_url=REPOSITORY,
        pushed_at=1714564800.0,
        deleted=False,
        pusher="jdoe",
    )


def test_a_push_to_the_tracked_branch_is_this_message_on_the_queue() -> None:
    """The whole message, byte for byte: compact JSON, camelCase, ``kind`` first, the receive
    time as the ordering key, the commit pushed, before and pusher carried."""
    work = _push().work(branch="main", delivery="d-1", received_at=1800000000.5)
    assert work == WorkMessage(
        provider="github",
        repository=REPOSITORY,
        full_name="acme/ml-endpoints",
        ref="refs/heads/main",
        commit=PUSH["after"],
        pushed_at=1800000000.5,
        delivery="d-1",
        before=PUSH["before"],
        pusher="jdoe",
    )
    assert work.to_message() == (
        '{"kind":"push","provider":"github",'
        '"repository":"https://github.com/acme/ml-endpoints.git","fullName":"acme/ml-endpoints",'
        f'"ref":"refs/heads/main","commit":"{PUSH["after"]}","pushedAt":1800000000.5,'
        f'"delivery":"d-1","before":"{PUSH["before"]}","pusher":"jdoe"}}'
    )


def test_the_push_that_creates_the_branch_has_no_before() -> None:
    work = _push(before="0" * 40, created=True).work(branch="main", delivery="d", received_at=1.0)
    assert isinstance(work, WorkMessage) and work.before is None
    assert "before" not in json.loads(work.to_message())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"deleted": True}, "ignored: branch main was deleted"),  # whatever "after" says
        ({"deleted": None, "after": "0" * 40}, "ignored: branch main was deleted"),
        ({"ref": "refs/pull/7/merge"}, "ignored: refs/pull/7/merge is not a branch"),
        ({"ref": "main"}, "ignored: main is not a branch"),
    ],
)
def test_a_push_that_deletes_the_branch_or_is_not_a_branch_asks_for_nothing(
    changes: dict[str, Any], reason: str
) -> None:
    assert _push(**changes).work(branch="main", delivery="d", received_at=1.0) == Ignored(reason)


@pytest.mark.parametrize(
    ("clone_url", "provider"),
    [
        ("/srv/git/models.git", "local"),
        ("file:///srv/git/models.git", "local"),
        ("./models", "local"),
        ("../models", "local"),
        ("https://github.com/acme/models.git", "github"),
        ("https://example.com/file:///srv/x.git", "github"),
    ],
)
def test_a_local_path_or_file_url_is_the_local_runtimes_repository(
    clone_url: str, provider: str
) -> None:
    repository = {**PUSH["repository"], "clone_url": clone_url}
    work = _push(repository=repository).work(branch="main", delivery="d", received_at=1.0)
    assert isinstance(work, WorkMessage) and work.provider == provider


def test_a_message_with_a_time_that_is_not_finite_is_never_written() -> None:
    for pushed_at in (math.nan, math.inf):
        message = WorkMessage("github", REPOSITORY, "a/b", "refs/heads/main", SHA, pushed_at, "d")
        with pytest.raises(ValueError, match="JSON compliant"):
            message.to_message()


def test_a_time_without_a_zone_is_utc_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = json.loads(json.dumps(PUSH))
    payload["repository"]["pushed_at"] = "2024-05-01T12:00:00"
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert Push.parse(payload).pushed_at == 1714564800.0
    finally:
        monkeypatch.undo()
        time.tzset()


# --- a ping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "hook_id"),
    [
        ({"zen": "Keep it logically awesome.", "hook_id": 7, "hook": {"id": 8}}, 7),
        ({"hook": {"id": 8}}, 8),
        ({"hook_id": None, "hook": None}, None),
        ({}, None),
    ],
)
def test_a_ping_is_answered_with_its_hook_id(payload: dict[str, Any], hook_id: int | None) -> None:
    assert Ping.parse(payload) == Ping(hook_id)


@pytest.mark.parametrize(
    ("payload", "problems"),
    [
        ({"hook_id": "7"}, ["hook_id: Input should be a valid integer"]),
        (
            {"zen": 1, "hook": ["id"]},
            [
                "zen: Input should be a valid string",
                "hook: Input should be a valid dictionary or instance of Hook",
            ],
        ),
        ({"hook": {"id": True}}, ["hook.id: Input should be a valid integer"]),
    ],
)
def test_ping_problems_are_located_and_all_reported(
    payload: dict[str, Any], problems: list[str]
) -> None:
    with pytest.raises(PayloadError) as caught:
        Ping.parse(payload)
    assert [f"{p.where}: {p.message}" for p in caught.value.problems] == problems
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    assert str(caught.value) == f"not a ping payload: {problems[0]}{more}"


# --- the limits: every string that travels on (to SQS and DynamoDB) is bounded ---------------
# Each is above what GitHub allows (a branch name of at most 250 bytes, an owner of 39
# characters and a repository name of 100, a login of 39), so no real push is refused.

LIMITED = [  # (the field in the payload, the Push attribute it is read as, its limit)
    ("ref", "ref", MAX_REF),
    ("repository.full_name", "full_name", MAX_FULL_NAME),
    ("repository.clone_url", "clone_url", MAX_CLONE_URL),
    ("pusher.name", "pusher", MAX_PUSHER),
]


def _with(where: str, value: Any) -> dict[str, Any]:
    """The push payload with the field at the dotted path ``where`` set to ``value``."""
    payload: dict[str, Any] = json.loads(json.dumps(PUSH))
    *parents, key = where.split(".")
    target = payload
    for parent in parents:
        target = target[parent]
    target[key] = value
    return payload


def _problems(payload: dict[str, Any]) -> list[str]:
    with pytest.raises(PayloadError) as caught:
        Push.parse(payload)
    return [f"{p.where}: {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(("where", "attribute", "limit"), LIMITED)
def test_a_string_of_the_limits_length_is_read_as_given_and_one_more_is_refused(
    where: str, attribute: str, limit: int
) -> None:
    longest = "refs/heads/" + "é" * (limit - 11)  # characters, not bytes
    assert getattr(Push.parse(_with(where, longest)), attribute) == longest
    assert _problems(_with(where, longest + "x")) == [
        f"{where}: String should have at most {limit} characters"
    ]


@pytest.mark.parametrize("where", [where for where, _, _ in LIMITED])
def test_a_lone_surrogate_is_refused_where_a_string_travels_on(where: str) -> None:
    assert _problems(_with(where, "refs/heads/\ud800")) == [
        f"{where}: Input should be a valid string, unable to parse raw data as a unicode string"
    ]


@pytest.mark.parametrize("where", ["ref", "repository.full_name", "repository.clone_url"])
def test_an_empty_ref_name_or_url_is_refused(where: str) -> None:
    assert _problems(_with(where, "")) == [f"{where}: String should have at least 1 character"]


def test_an_optional_string_may_be_empty() -> None:
    assert Push.parse(_with("pusher.name", "")).pusher == ""
    assert Ping.parse({"zen": "", "hook_id": 7}) == Ping(7)


def test_a_push_that_leaves_out_its_flags_is_not_a_deletion() -> None:
    push = _push(created=None, deleted=None, forced=None)
    assert push.deleted is False
    work = push.work(branch="main", delivery="d", received_at=1.0)
    assert isinstance(work, WorkMessage) and work.commit == PUSH["after"]
