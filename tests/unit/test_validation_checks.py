"""Golden requests: the file format, each kind of expectation, scoring, reading from a repo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from smgitops.declaration.golden import (
    GoldenRequest,
    NamedRequest,
    glob_regex,
    load_requests,
    parse_path,
    parse_request,
)
from smgitops.declaration.safeguards import ValidationSpec
from smgitops.errors import DeclarationError
from smgitops.rollout.golden import RequestResult, Response, check, resolve, run, score, summarize

ANSWER = {"label": "stay", "score": 0.83, "items": [{"p": 0.1}, {"p": 0.9}], "a.b": True}


def golden(expect: dict[str, Any] | None = None, **fields: Any) -> GoldenRequest:
    data: dict[str, Any] = {"body": {"features": [1, 2]}, **fields}
    if expect is not None:
        data["expect"] = expect
    return GoldenRequest.model_validate(data)


def ok(body: Any = ANSWER, content_type: str = "application/json") -> Response:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return Response(status=200, body=raw, content_type=content_type)


# --- paths --------------------------------------------------------------------------------------


def test_parse_path_reads_names_indexes_and_quoted_keys() -> None:
    assert parse_path("$") == ()
    assert parse_path("$.items[1].p") == ("items", 1, "p")
    assert parse_path("$['a.b']") == ("a.b",)
    assert parse_path('$.x["y z"][-1]') == ("x", "y z", -1)


@pytest.mark.parametrize("path", ["score", "$.", "$..a", "$[x]", "$.a[", "$['open]"])
def test_parse_path_rejects_what_it_cannot_read(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        parse_path(path)


def test_resolve_walks_objects_and_lists() -> None:
    assert resolve(ANSWER, "$.items[-1].p") == 0.9
    assert resolve(ANSWER, "$['a.b']") is True
    assert resolve(ANSWER, "$") == ANSWER
    for missing in ("$.nope", "$.items[5]", "$.label.x", "$.items.p"):
        assert resolve(ANSWER, missing) is not None  # the missing marker, never an exception
        assert check(golden({"fields": [{"path": missing, "op": "exists"}]}), ok()) != []


# --- expectations -------------------------------------------------------------------------------


def test_no_expectation_means_status_200() -> None:
    assert check(golden(), ok()) == []
    assert check(golden(), Response(status=500, error="ModelError: boom")) == [
        "status 500, expected 200 (ModelError: boom)"
    ]


def test_an_expected_error_status_passes() -> None:
    assert check(golden({"status": 400}), Response(status=400, body=b"bad input")) == []


def test_no_answer_at_all_fails_with_the_reason() -> None:
    assert check(golden(), Response(status=0, error="no answer in time")) == [
        "no answer: no answer in time"
    ]


def test_exact_compares_json_values_and_names_the_first_difference() -> None:
    assert check(golden({"exact": ANSWER}), ok()) == []
    assert check(golden({"exact": {**ANSWER, "score": 0.830}}), ok()) == []
    changed = {**ANSWER, "items": [{"p": 0.1}, {"p": 0.8}]}
    assert check(golden({"exact": changed}), ok()) == [
        "body differs: $.items[1].p: expected 0.8, got 0.9"
    ]
    assert check(golden({"exact": {"label": "stay"}}), ok())[0].startswith(
        "body differs: $['a.b']: expected nothing, got true"
    )


def test_exact_null_is_an_expectation_and_true_is_not_one() -> None:
    assert check(golden({"exact": None}), ok("null")) == []
    assert check(golden({"exact": None}), ok({"x": 1})) != []
    assert check(golden({"exact": 1}), ok("true")) != []


def test_exact_on_a_text_answer() -> None:
    assert check(golden({"exact": "stay,0.83"}), ok("stay,0.83\n", "text/csv")) == []


def test_tolerance_absolute_relative_lists_and_csv_numbers() -> None:
    near = {"path": "$.score", "value": 0.8, "abs": 0.05}
    assert check(golden({"tolerance": near}), ok()) == []
    far = {"path": "$.score", "value": 0.8, "abs": 0.01}
    assert check(golden({"tolerance": far}), ok()) == [
        "$.score: 0.83 is not within abs 0.01 / rel 1e-09 of 0.8"
    ]
    relative = {"path": "$.score", "value": 0.8, "rel": 0.05}
    assert check(golden({"tolerance": relative}), ok()) == []
    many = {"value": [0.1, 0.9], "abs": 0.001}
    assert check(golden({"tolerance": many}), ok([0.1004, 0.8999])) == []
    assert check(golden({"tolerance": many}), ok([0.1, 0.95]))[0].startswith("$[1]: 0.95")
    assert check(golden({"tolerance": many}), ok([0.1]))[0] == "$: expected 2 numbers, got [0.1]"
    assert check(golden({"tolerance": {"value": 0.83}}), ok("0.83\n", "text/csv")) == []
    assert "expected a number" in check(golden({"tolerance": {"value": 1}}), ok("n/a", "text"))[0]


@pytest.mark.parametrize(
    "predicate, passes",
    [
        ({"path": "$.score", "op": "<=", "value": 1}, True),
        ({"path": "$.score", "op": ">", "value": 0.9}, False),
        ({"path": "$.score", "op": ">=", "value": 0.83}, True),
        ({"path": "$.score", "op": "<", "value": 0.83}, False),
        ({"path": "$.label", "op": "==", "value": "stay"}, True),
        ({"path": "$.label", "op": "!=", "value": "stay"}, False),
        ({"path": "$.label", "op": "in", "value": ["stay", "churn"]}, True),
        ({"path": "$.label", "op": "in", "value": ["churn"]}, False),
        ({"path": "$.items", "op": "type", "value": "array"}, True),
        ({"path": "$.score", "op": "type", "value": "string"}, False),
        ({"path": "$.label", "op": "matches", "value": "^st"}, True),
        ({"path": "$.score", "op": "matches", "value": "8"}, False),
        ({"path": "$.nope", "op": "exists", "value": False}, True),
        ({"path": "$.label", "op": "exists"}, True),
        ({"path": "$.nope", "op": "==", "value": 1}, False),
        ({"path": "$.label", "op": "<", "value": 1}, False),
    ],
)
def test_field_predicates(predicate: dict[str, Any], passes: bool) -> None:
    failures = check(golden({"fields": [predicate]}), ok())
    assert (failures == []) is passes, failures


def test_each_failed_expectation_is_reported() -> None:
    failures = check(
        golden(
            {
                "exact": {"label": "churn"},
                "fields": [
                    {"path": "$.score", "op": "<", "value": 0.5},
                    {"path": "$.label", "op": "==", "value": "churn"},
                ],
            }
        ),
        ok(),
    )
    assert len(failures) == 3
    assert failures[1] == "$.score: 0.83 is not < 0.5"
    assert failures[2] == '$.label: expected == "churn", got "stay"'


# --- the file format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not valid JSON"),
        ("[]", "a JSON object"),
        ('{"expect": {}}', 'needs a "body"'),
        ('{"body": 1, "expect": {"fields": [{"path": "x", "op": "=="}]}}', "must start with \\$"),
        ('{"body": 1, "expect": {"fields": [{"path": "$", "op": "<", "value": "a"}]}}', "number"),
        ('{"body": 1, "expect": {"fields": [{"path": "$", "op": "in", "value": 1}]}}', "a list"),
        ('{"body": 1, "expect": {"fields": [{"path": "$", "op": "type", "value": "x"}]}}', "type"),
        (
            '{"body": 1, "expect": {"fields": [{"path": "$", "op": "matches", "value": "("}]}}',
            "regular",
        ),
        ('{"body": 1, "expect": {"fields": [{"path": "$", "op": "~"}]}}', "op"),
        ('{"body": 1, "expect": {"status": 700}}', "status"),
        ('{"body": 1, "extra": 2}', "extra"),
    ],
)
def test_parse_request_rejects_with_the_file_name(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_request("tests/churn/bad.json", text)
    assert str(caught.value).startswith("tests/churn/bad.json")


def test_bodies_are_sent_as_json_or_as_given() -> None:
    assert golden().encode("application/json") == (b'{"features":[1,2]}', "application/json")
    text = GoldenRequest.model_validate({"body": "1,2,3", "contentType": "text/csv"})
    assert text.encode("application/json") == (b"1,2,3", "text/csv")


# --- scoring -----------------------------------------------------------------------------------


def test_score_is_passed_over_total_with_one_line_per_failure() -> None:
    results = [
        RequestResult("a.json"),
        RequestResult("b.json", ("status 500, expected 200",)),
        RequestResult("c.json"),
        RequestResult("d.json", ("$.x: missing", "$.y: missing")),
    ]
    value, failures = score(results)
    assert value == 0.5
    assert failures == ["b.json: status 500, expected 200", "d.json: $.x: missing; $.y: missing"]
    assert score([]) == (0.0, ["no golden request was evaluated"])


def test_outcome_against_min_score() -> None:
    results = [RequestResult("a.json"), RequestResult("b.json", ("boom",))]
    assert not summarize(results, 1.0).ok
    assert summarize(results, 0.5).ok
    outcome = summarize(results, 0.9)
    assert outcome.reason == (
        "golden requests: 1/2 passed (score 0.50, minScore 0.9): b.json: boom"
    )
    assert outcome.as_dict()["failures"] == ["b.json: boom"]
    assert not summarize([], 0.0).ok


def test_run_sends_each_request_and_scores_the_answers() -> None:
    sent: list[tuple[bytes, str, str | None]] = []

    def invoke(body: bytes, content_type: str, accept: str | None) -> Response:
        sent.append((body, content_type, accept))
        return ok({"score": 0.2 if b"low" in body else 0.9})

    requests = [
        parse_request(
            "low.json",
            '{"body": "low", "contentType": "text/csv",'
            ' "expect": {"fields": [{"path": "$.score", "op": "<", "value": 0.5}]}}',
        ),
        parse_request(
            "high.json",
            '{"body": {"x": 1}, "accept": "application/json",'
            ' "expect": {"fields": [{"path": "$.score", "op": "<", "value": 0.5}]}}',
        ),
    ]
    named = [
        NamedRequest(name="low.json", request=requests[0]),
        NamedRequest(name="high.json", request=requests[1]),
    ]
    outcome = run(named, invoke, "application/json", min_score=1.0)
    assert sent == [
        (b"low", "text/csv", None),
        (b'{"x":1}', "application/json", "application/json"),
    ]
    assert (outcome.passed, outcome.total, outcome.ok) == (1, 2, False)
    assert outcome.failures == ("high.json: $.score: 0.9 is not < 0.5",)


# --- reading the files --------------------------------------------------------------------------


def test_glob_patterns() -> None:
    assert glob_regex("tests/*.json").fullmatch("tests/a.json")
    assert not glob_regex("tests/*.json").fullmatch("tests/sub/a.json")
    assert glob_regex("tests/**/*.json").fullmatch("tests/a.json")
    assert glob_regex("tests/**/*.json").fullmatch("tests/x/y/a.json")
    assert glob_regex("t/?.json").fullmatch("t/a.json")
    assert glob_regex("t/[ab].json").fullmatch("t/b.json")
    assert not glob_regex("t/[!ab].json").fullmatch("t/a.json")
    assert not glob_regex("t/a+b.json").fullmatch("t/aab.json")


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_load_requests_in_path_order(tmp_path: Path) -> None:
    write(tmp_path, "tests/churn/b.json", '{"body": 2}')
    write(tmp_path, "tests/churn/a.json", '{"body": 1, "expect": {"exact": 1}}')
    write(tmp_path, "tests/churn/notes.txt", "ignored")
    write(tmp_path, "tests/other/c.json", '{"body": 3}')
    loaded = load_requests(tmp_path, ["tests/churn/*.json", "tests/churn/a.json"])
    assert [r.name for r in loaded] == ["tests/churn/a.json", "tests/churn/b.json"]
    assert loaded[0].request.expect.has_exact


def test_load_requests_reports_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "t/bad.json", '{"body": 1, "expect": {"status": "x"}}')
    write(tmp_path, "t/big.json", '{"body": "' + "x" * 70_000 + '"}')
    secret = tmp_path.parent / f"{tmp_path.name}-outside.json"
    secret.write_text('{"body": "secret"}')
    (tmp_path / "t" / "link.json").symlink_to(secret)
    with pytest.raises(DeclarationError) as caught:
        load_requests(tmp_path, ["t/*.json", "missing/*.json"])
    problems = "\n".join(caught.value.problems)
    assert "missing/*.json: matches no file" in problems
    assert "t/link.json: is a symbolic link" in problems
    assert "t/big.json: 70012 bytes" in problems
    assert "t/bad.json: expect.status" in problems
    assert "secret" not in problems


# --- the declaration ------------------------------------------------------------------------------


def test_validation_spec_defaults_and_rules() -> None:
    parsed = ValidationSpec.model_validate({"requests": ["tests/churn/*.json"]})
    assert (parsed.min_score, parsed.content_type, parsed.timeout_seconds) == (
        1.0,
        "application/json",
        30,
    )
    for bad, message in [
        ({"requests": []}, "at least 1"),
        ({"requests": ["/etc/passwd"]}, "relative"),
        ({"requests": ["../secrets/*.json"]}, "inside the repository"),
        ({"requests": ["a.json", "a.json"]}, "unique"),
        ({"requests": ["a.json"], "minScore": 1.5}, "less than or equal to 1"),
        ({"requests": ["a.json"], "timeout": "2m"}, "between 1s and 60s"),
        ({"requests": ["a.json"], "timeout": 5}, "needs a unit"),
    ]:
        with pytest.raises(ValidationError, match=message):
            ValidationSpec.model_validate(bad)
