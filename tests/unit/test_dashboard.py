"""The dashboard's pages and the audit report, from status and history records: what each
shows, and which requests are refused (no HTTP, no AWS: the routes are called directly)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from smgitops.dashboard.chart import weight_chart
from smgitops.dashboard.report import render_report
from smgitops.dashboard.server import TOKEN_HEADER, Dashboard, Routes
from smgitops.dashboard.views import marks_of, rollout_view, timeline
from smgitops.errors import ConflictError
from smgitops.rollout.status import HistoryRecord, Phase, RolloutStatus
from tests.unit.test_follow import NOW, STABLE, progressing

ORIGIN = "http://127.0.0.1:8765"
HOST = "127.0.0.1:8765"


def record(
    at: float,
    phase: Phase,
    weight: float,
    event: str = "",
    *,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> HistoryRecord:
    """The history of :func:`progressing`'s rollout at ``at``: ``weight`` % on the candidate."""
    status = progressing()
    weights = {STABLE.name: 100 - weight, status.candidate.name: weight}
    moment = status.evolve(phase=phase, weights=weights, reason=reason)
    return HistoryRecord.of(moment, at=at, event=event, details=details or {})


JUDGED = {
    "judgement": {
        "verdict": "fail",
        "reason": "ModelLatency worse",
        "invocationsCandidate": 120.0,
        "invocationsStable": 1080.0,
        "judgements": [
            {"metric": "ModelLatency", "verdict": "fail", "pValue": 0.001, "effect": 2.9,
             "meanCandidate": 300.0, "meanStable": 100.0, "samplesCandidate": 5,
             "samplesStable": 5, "reason": "3x slower"},
        ],
    }
}  # fmt: skip
TRAIL = [
    record(NOW, Phase.PENDING, 0, "rollout started for aaaaaaaaaaaa"),
    record(NOW + 5, Phase.PROGRESSING, 10, "step 1: 10 % on the candidate"),
    record(NOW + 65, Phase.PROGRESSING, 10, "step 1 passed its checks; step 2: 25 % on the cand"),
    record(NOW + 125, Phase.ROLLING_BACK, 0, "rolling back", details=JUDGED,
           reason="judged worse than stable: ModelLatency"),
    record(NOW + 130, Phase.ROLLED_BACK, 0, "rolled back: the candidate is off the endpoint",
           reason="judged worse than stable: ModelLatency"),
]  # fmt: skip


@dataclass
class Source:
    status_now: RolloutStatus | None = field(default_factory=progressing)
    records: list[HistoryRecord] = field(default_factory=lambda: list(TRAIL))
    asked: list[tuple[str, str, bool]] = field(default_factory=list)

    def statuses(self) -> list[RolloutStatus]:
        return [self.status_now] if self.status_now else []

    def status(self, endpoint: str) -> RolloutStatus | None:
        return self.status_now if self.status_now and endpoint == "churn" else None

    def history(self, endpoint: str, limit: int) -> list[HistoryRecord]:
        return list(reversed(self.records)) if endpoint == "churn" else []  # newest first

    def promote(self, endpoint: str, *, full: bool, by: str) -> RolloutStatus:
        self.asked.append(("promote", by, full))
        assert self.status_now is not None
        return self.status_now

    def abort(self, endpoint: str, by: str) -> RolloutStatus:
        if endpoint != "churn":
            raise ConflictError(f"{endpoint} has no active rollout")
        self.asked.append(("abort", by, False))
        assert self.status_now is not None
        return self.status_now.evolve(phase=Phase.ROLLING_BACK, reason=f"aborted by {by}")


def routes(allow_actions: bool = False, source: Source | None = None) -> tuple[Routes, Source]:
    source = source or Source()
    dashboard = Dashboard(source, allow_actions=allow_actions, by="alice", now=lambda: NOW + 140)
    return Routes(dashboard, lambda: {ORIGIN}), source


def get(r: Routes, path: str, query: dict[str, list[str]] | None = None) -> Any:
    answer = r.get(path, query or {}, HOST)
    assert answer.status == 200, answer.body
    return json.loads(answer.body) if answer.content_type == "application/json" else answer


# --- what the pages show ----------------------------------------------------------------------


def test_the_endpoints_page_shows_phase_labelled_weights_owner_commit_and_drift() -> None:
    (row,) = get(routes()[0], "/api/endpoints")
    assert row["endpoint"] == "churn" and row["phase"] == "Progressing"
    assert row["step"] == "2/3"
    assert [(w["label"], w["weight"]) for w in row["weights"]] == [
        ("stable", 75.0),
        ("candidate", 25.0),
    ]
    assert row["commit"] == "a" * 40
    assert row["drift"] == "-"
    assert row["owner"] == "-"  # no owner recorded; never the payload's fullName
    owned = progressing().evolve(owner="https://github.com/acme/risk", source={"fullName": "x/y"})
    (row,) = get(routes(source=Source(status_now=owned))[0], "/api/endpoints")
    assert row["owner"] == "https://github.com/acme/risk"


def test_the_rollout_page_has_every_transition_with_its_reason_and_marks() -> None:
    view = get(routes()[0], "/api/endpoints/churn")
    assert [p["phase"] for p in view["points"]] == [
        "Pending", "Progressing", "Progressing", "RollingBack", "RolledBack",
    ]  # fmt: skip
    kinds = [[m["kind"] for m in p["marks"]] for p in view["points"]]
    assert kinds[1] == ["step"] and kinds[2] == ["check", "step"]
    assert "judgement" in kinds[3]
    assert view["points"][3]["reason"] == "judged worse than stable: ModelLatency"
    assert view["bakeLeft"] != "-" and view["checks"] == "1 alarm"


def test_an_alarm_is_marked_where_traffic_snapped_back() -> None:
    alarm = record(NOW + 9, Phase.ROLLING_BACK, 0, "rolling back",
                   reason="alarm churn-5xx in ALARM at 10 %: threshold crossed")  # fmt: skip
    (mark, *_) = [m for m in marks_of(alarm) if m.kind == "alarm"]
    assert mark.ok is False and "churn-5xx" in mark.label


def test_the_chart_steps_between_records_and_draws_each_mark_with_its_text() -> None:
    status = progressing()
    svg = weight_chart(timeline(TRAIL, status.rollout_id, status.candidate.name))
    path = re.search(r'class="weight" d="([^"]+)"', svg)
    assert path is not None
    # 0 % at the start (y 210), held until +5 s (x 69.4), 10 % (y 190.4) until the rollback
    # at +125 s, 0 % to the end (x 704): a step line, never a slope between two records
    assert path.group(1) == (
        "M44.0,210.0 H69.4 V190.4 H374.0 V190.4 H678.6 V210.0 H704.0 V210.0 H704.0"
    )
    assert svg.count('class="step"') == 2  # two steps entered
    assert svg.count('class="judgement"') == 1
    assert "<title>canary vs stable: fail</title>" in svg
    assert weight_chart([]).count("no history yet") == 1


def test_text_in_the_chart_is_escaped() -> None:
    evil = record(NOW, Phase.PROGRESSING, 10, "step 1: 10 % <script>alert(1)</script>")
    status = progressing()
    svg = weight_chart(timeline([evil], status.rollout_id, status.candidate.name))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_history_has_one_line_per_rollout_newest_first_with_a_report_link() -> None:
    older = progressing().evolve(rollout_id="older")
    first = HistoryRecord(
        at=NOW - 500, endpoint="churn", rollout_id="older", commit="b" * 40,
        spec_hash="h", phase=Phase.SUCCEEDED, reason="promoted",
    )  # fmt: skip
    r, _ = routes(source=Source(records=[first, *TRAIL]))
    rows = get(r, "/api/endpoints/churn/history")
    assert [(x["rolloutId"], x["outcome"]) for x in rows] == [
        (progressing().rollout_id, "RolledBack"),
        (older.rollout_id, "Succeeded"),
    ]


def test_an_unknown_endpoint_is_a_404_with_a_reason() -> None:
    answer = routes()[0].get("/api/endpoints/nope", {}, HOST)
    assert answer.status == 404
    assert json.loads(answer.body) == {"error": "no rollout recorded for nope"}


def test_a_request_for_another_host_is_refused_against_dns_rebinding() -> None:
    answer = routes()[0].get("/api/endpoints", {}, "evil.example:8765")
    assert answer.status == 421


# --- actions -------------------------------------------------------------------------------


def post(r: Routes, path: str, headers: dict[str, str], body: bytes | None = b"{}") -> Any:
    return r.post(path, {"Host": HOST, **headers}, body)


def test_a_read_only_dashboard_refuses_every_action() -> None:
    r, source = routes(allow_actions=False)
    token = r.dashboard.token
    answer = post(r, "/api/endpoints/churn/abort", {TOKEN_HEADER: token, "Origin": ORIGIN})
    assert answer.status == 403 and source.asked == []


def test_an_action_without_the_token_or_from_another_origin_is_refused() -> None:
    r, source = routes(allow_actions=True)
    token = r.dashboard.token
    no_token = post(r, "/api/endpoints/churn/abort", {"Origin": ORIGIN})
    cross_site = post(
        r, "/api/endpoints/churn/abort", {TOKEN_HEADER: token, "Origin": "https://evil.example"}
    )
    # one character changed: never the token itself (it ends in "x" in one run out of 64)
    wrong_token = token[:-1] + ("y" if token.endswith("x") else "x")
    wrong = post(r, "/api/endpoints/churn/abort", {TOKEN_HEADER: wrong_token})
    assert [a.status for a in (no_token, cross_site, wrong)] == [403, 403, 403]
    assert source.asked == []


def test_an_allowed_action_goes_through_the_service_recorded_with_who() -> None:
    r, source = routes(allow_actions=True)
    headers = {TOKEN_HEADER: r.dashboard.token, "Origin": ORIGIN}
    answer = post(r, "/api/endpoints/churn/promote", headers, b'{"full": true}')
    assert answer.status == 200
    aborted = post(r, "/api/endpoints/churn/abort", headers)
    assert json.loads(aborted.body)["reason"] == "aborted by alice (dashboard)"
    assert source.asked == [
        ("promote", "alice (dashboard)", True),
        ("abort", "alice (dashboard)", False),
    ]


@pytest.mark.parametrize("body", [None, b"[1]", b"not json"])
def test_a_malformed_action_body_is_a_400(body: bytes | None) -> None:
    r, source = routes(allow_actions=True)
    answer = post(r, "/api/endpoints/churn/abort", {TOKEN_HEADER: r.dashboard.token}, body)
    assert answer.status == 400 and source.asked == []


def test_a_refused_action_is_a_409_with_the_services_reason() -> None:
    r, _ = routes(allow_actions=True)
    answer = post(r, "/api/endpoints/other/abort", {TOKEN_HEADER: r.dashboard.token})
    assert answer.status == 409
    assert "no active rollout" in json.loads(answer.body)["error"]


def test_the_page_carries_the_token_only_when_actions_are_allowed() -> None:
    read_only = get(routes(allow_actions=False)[0], "/")
    acting_routes, _ = routes(allow_actions=True)
    acting = get(acting_routes, "/")
    assert b"smgitops-token" not in read_only.body
    assert acting_routes.dashboard.token.encode() in acting.body


# --- the audit report ----------------------------------------------------------------------


def test_the_report_is_self_contained_and_has_every_step_and_the_statistics() -> None:
    html = render_report("churn", progressing(), list(reversed(TRAIL)), generated_at=NOW + 200)
    assert html is not None
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "src=" not in html and "<link" not in html  # nothing to fetch: opens offline
    for record_ in TRAIL:
        assert record_.event.split(";")[0] in html
    assert "ModelLatency" in html and "0.001" in html  # the comparison's numbers
    assert "RolledBack" in html and "a" * 40 in html


def test_a_report_of_an_unknown_rollout_is_none() -> None:
    assert render_report("churn", progressing(), TRAIL, rollout="f00d") is None


def test_the_report_of_an_older_rollout_finds_it_by_commit() -> None:
    html = render_report("churn", None, list(reversed(TRAIL)), rollout="aaaaaaa")
    assert html is not None and "Rollout of churn at aaaaaaaaaaaa: RolledBack" in html


def test_rollout_view_is_json_serialisable() -> None:
    json.dumps(rollout_view(progressing(), TRAIL, NOW))
