"""Following a rollout from the CLI: progress in words, `wait`'s verdicts, `status --watch`,
and what `pushes` says of each push."""

from __future__ import annotations

import io
from typing import Any

import pytest

from smgitops.aws.deliveries import PushRecord
from smgitops.commands import follow, pushes
from smgitops.commands.common import FAILED, OK, TIMEOUT, UNREACHABLE, camel_dump, status_json
from smgitops.rollout import naming
from smgitops.rollout.decide import new_status
from smgitops.rollout.progress import duration_text, progress, promote_text
from smgitops.rollout.status import Phase, QueuedRollout, RolloutStatus, VariantRef
from tests.builders import declaration

NOW = 1_800_000_000.0
STABLE = VariantRef(name="smg-old", model="m-old", instance_type="ml.m5.large", instance_count=1)


def a_status(commit: str = "a" * 40, **changes: Any) -> RolloutStatus:
    decl = declaration("churn", steps=[10, 25, 50], interval="5m", analysis={"alarms": ["a"]})
    status = new_status(
        decl,
        rollout_id=naming.rollout_id(decl.name, commit, decl.content_hash(), 0.0),
        commit=commit,
        pushed_at=NOW,
        source={},
        now=NOW,
    )
    return status.evolve(**changes)


def progressing(step_index: int = 1, since: float = NOW - 60) -> RolloutStatus:
    status = a_status()
    weights = {STABLE.name: 75.0, status.candidate.name: 25.0}
    return status.evolve(
        phase=Phase.PROGRESSING,
        stable=STABLE,
        step_index=step_index,
        step_since=since,
        weights=weights,
    )


# --- progress -----------------------------------------------------------------------------


def test_promote_says_whether_it_acted_or_when_it_will() -> None:
    waiting = progressing(step_index=1, since=NOW - 90).evolve(promote="full")
    text = promote_text(waiting, full=True, by="alice", now=NOW)
    assert text.startswith("promote --full by alice: recorded; takes effect at the rollout's")
    assert "when this step's bake ends (3m30s)" in text
    done = promote_text(progressing(step_index=2), full=False, by="bob", now=NOW)
    assert done.startswith("promote by bob: done · churn: Progressing · step 3/3")
    gated = a_status(phase=Phase.PAUSED, gate="beforePromotion", promote="step")
    released = promote_text(gated, full=False, by="", now=NOW)
    assert released.startswith("promote: gate beforePromotion released; the rollout moves on now")


def test_a_progressing_canary_says_step_n_of_m_with_labels_and_bake_left() -> None:
    view = progress(progressing(step_index=1, since=NOW - 90), NOW)
    assert view.step_text() == "2/3"
    assert view.bake_text() == "3m30s"
    candidate = a_status().candidate.name
    assert view.weights_text() == f"stable smg-old=75% · candidate {candidate}=25%"
    assert view.checks == "1 alarm"


def test_a_rollout_without_checks_says_so_in_words() -> None:
    decl = declaration("bare")
    status = new_status(decl, rollout_id="r", commit="c" * 40, pushed_at=NOW, source={}, now=NOW)
    said = "no checks: nothing can stop a bad model (analysis: none)"
    assert progress(status, NOW).checks == said


def test_promotion_shows_every_step_done_and_no_bake() -> None:
    view = progress(progressing().evolve(phase=Phase.PROMOTING, step_index=3), NOW)
    assert view.step_text() == "3/3 done"
    assert view.bake_left is None


def test_a_removed_candidate_at_zero_is_not_shown_after_the_rollout() -> None:
    status = progressing().evolve(
        phase=Phase.ROLLED_BACK, weights={STABLE.name: 100.0, a_status().candidate.name: 0.0}
    )
    assert progress(status, NOW).weights_text() == "stable smg-old=100%"


def test_bake_left_never_goes_negative_when_the_step_overruns() -> None:
    assert progress(progressing(since=NOW - 3600), NOW).bake_left == 0.0


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.6, "1m00s"), (270, "4m30s"), (3900, "1h05m")]
)
def test_durations_read_as_two_units(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


# --- wait ---------------------------------------------------------------------------------


class Store:
    """Statuses seen one after another, one per look (the last repeats)."""

    def __init__(self, *seen: RolloutStatus | None) -> None:
        self.seen = list(seen)
        self.looks = 0

    def get(self, endpoint: str) -> RolloutStatus | None:
        self.looks += 1
        return self.seen.pop(0) if len(self.seen) > 1 else self.seen[0]


def wait(store: Store, commit: str | None = None, timeout: float = 600, **kw: Any) -> Any:
    out = io.StringIO()
    clock_now = [NOW]

    def sleep(seconds: float) -> None:
        clock_now[0] += seconds

    verdict = follow.wait_for(
        store,
        "churn",
        commit=commit,
        timeout=timeout,
        poll=2,
        reporter=follow.Reporter(out, quiet=False),
        sleep=sleep,
        now=lambda: clock_now[0],
        **kw,
    )
    return verdict, out.getvalue()


def test_wait_follows_the_rollout_to_success_and_logs_each_change() -> None:
    running = progressing()
    done = running.evolve(phase=Phase.SUCCEEDED, weights={running.candidate.name: 100.0})
    verdict, log = wait(Store(running, running, done))
    assert verdict.code == OK
    assert "Succeeded" in verdict.message
    assert log.count("Progressing") == 1  # a line per change, not per look


def test_wait_exits_failed_on_a_rollback_with_its_reason() -> None:
    rolled = progressing().evolve(phase=Phase.ROLLED_BACK, reason="alarm a in ALARM")
    verdict, _ = wait(Store(progressing(), rolled))
    assert (verdict.code, verdict.message) == (FAILED, "RolledBack: alarm a in ALARM")


def test_wait_exits_failed_when_a_newer_commit_supersedes_the_rollout() -> None:
    newer = a_status(commit="b" * 40)
    verdict, _ = wait(Store(progressing(), newer))
    assert verdict.code == FAILED
    assert verdict.message.startswith("Superseded by commit bbbbbbbbbbbb")


def test_wait_times_out_with_code_three() -> None:
    verdict, _ = wait(Store(progressing()), timeout=30)
    assert verdict.code == TIMEOUT


def test_wait_for_a_commit_waits_until_its_rollout_appears_then_follows_it() -> None:
    mine = "c" * 40
    older = progressing()
    queued = older.evolve(
        next=QueuedRollout(
            rollout_id="r-c",
            commit=mine,
            pushed_at=NOW,
            spec_hash="h",
            declaration=older.declaration,
        )
    )
    appeared = a_status(commit=mine).evolve(phase=Phase.SUCCEEDED)
    verdict, log = wait(Store(None, older, queued, appeared), commit="cccccc")
    assert verdict.code == OK
    assert "waiting for the rollout of cccccc" in log


def test_wait_for_a_commit_whose_push_was_invalid_fails_at_once_with_the_reason() -> None:
    records = [{"commit": "d" * 40, "status": "invalid", "reason": "2 problems", "outcomes": []}]
    verdict, _ = wait(Store(progressing()), commit="dddd", pushes=lambda: records)
    assert verdict.code == FAILED
    assert "was invalid: 2 problems" in verdict.message


def test_wait_for_a_commit_that_changed_nothing_for_the_endpoint_succeeds() -> None:
    outcome = {"endpoint": "churn", "kind": "unchanged", "reason": "already live"}
    records = [{"commit": "e" * 40, "status": "reconciled", "outcomes": [outcome]}]
    verdict, _ = wait(Store(progressing()), commit="eeee", pushes=lambda: records)
    assert verdict.code == OK


def test_wait_with_nothing_recorded_and_no_commit_fails() -> None:
    verdict, _ = wait(Store(None))
    assert verdict.code == FAILED


# --- status --watch -----------------------------------------------------------------------


def test_watch_without_a_terminal_prints_a_frame_only_when_something_changed() -> None:
    frames = [[progressing()], [progressing()], [progressing().evolve(phase=Phase.PAUSED)]]
    out = io.StringIO()
    follow.watch(
        lambda: frames.pop(0), out, interval=0, frames=3, sleep=lambda _: None, now=lambda: NOW
    )
    text = out.getvalue()
    assert text.count("--- ") == 2
    assert "2/3" in text
    assert "Paused" in text


# --- JSON: camelCase field names, data keys untouched ---------------------------------------


def test_status_json_is_camel_case_and_keeps_variant_names_as_keys() -> None:
    data = status_json(progressing(), "none", NOW)
    assert "rolloutId" in data
    assert "stepIndex" in data
    assert "rollout_id" not in data
    assert data["stable"]["instanceCount"] == 1
    assert "smg-old" in data["weights"]
    assert data["progress"]["steps"] == 3
    assert "declaration" not in data
    assert "gateToken" not in data


def test_camel_dump_converts_nested_models_in_lists() -> None:
    queued = QueuedRollout(
        rollout_id="r", commit="c", pushed_at=NOW, spec_hash="h", declaration={"a_b": 1}
    )
    dumped = camel_dump(queued)
    assert dumped["rolloutId"] == "r"
    assert dumped["declaration"] == {"a_b": 1}


# --- pushes -------------------------------------------------------------------------------


def record(status: str, **fields: Any) -> PushRecord:
    base: dict[str, Any] = {
        "repository": "acme/models",
        "commit": "f" * 40,
        "pushed_at": NOW,
        "status": status,
        "delivery": "d",
        "provider": "github",
        "ref": "refs/heads/main",
        "clone_url": "https://github.com/acme/models.git",
    }
    return PushRecord(**{**base, **fields})


@pytest.mark.parametrize(
    ("rec", "word"),
    [
        (record("reconciled", outcomes=({"endpoint": "a", "kind": "started"},)), "deployed"),
        (record("reconciled", outcomes=({"endpoint": "a", "kind": "queued"},)), "deployed"),
        (record("reconciled", outcomes=({"endpoint": "a", "kind": "unchanged"},)), "unchanged"),
        (record("reconciled", outcomes=({"endpoint": "a", "kind": "stale"},)), "stale"),
        (record("reconciled", outcomes=({"endpoint": "a", "kind": "refused"},)), "refused"),
        (record("invalid"), "invalid"),
        (record("ignored"), "ignored"),
        (record("failed", reason="repository x is not allowed"), "refused"),
        (record("failed", reason="commit not found"), "failed"),
    ],
)
def test_each_push_gets_one_outcome_word(rec: PushRecord, word: str) -> None:
    assert pushes.outcome(rec) == word


def test_an_invalid_push_lists_every_problem_with_file_and_line() -> None:
    problems = ("endpoints/a.yaml:7: spec.instanceCount: must be ≥ 1", "endpoints/b.yaml:3: x")
    text = pushes.render([record("invalid", reason="2 problems", problems=problems)])
    lines = text.splitlines()
    assert lines[0].split() == ["RECORDED", "(UTC)", "REPOSITORY", "COMMIT", "OUTCOME", "REASON"]
    assert "invalid" in lines[1]
    assert lines[2].strip() == problems[0]
    assert lines[3].strip() == problems[1]


# --- exit codes -----------------------------------------------------------------------------


def test_local_up_with_a_stale_aws_endpoint_url_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smgitops.cli import main

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    assert main(["local", "up", "--aws-port", "0"]) == UNREACHABLE
    err = capsys.readouterr().err
    assert "unset it to run the embedded emulator" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_status_without_credentials_is_exit_four_not_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smgitops.aws import clients
    from smgitops.cli import main

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clients.reset()
    try:
        assert main(["status"]) == UNREACHABLE
    finally:
        clients.reset()
    assert "cannot reach AWS" in capsys.readouterr().err


# --- per-variant numbers ----------------------------------------------------------------------


def test_variant_numbers_total_each_variant_and_weight_latency_by_invocations() -> None:
    from smgitops.rollout.analysis import VariantSeries
    from smgitops.rollout.progress import ERRORS, LATENCY, variant_numbers

    status = progressing()
    candidate = status.candidate.name
    series = {
        "smg-old": VariantSeries(
            "smg-old",
            {ERRORS: {60.0: 0.0, 120.0: 1.0}, LATENCY: {60.0: 1000.0, 120.0: 4000.0}},
            {60.0: 30.0, 120.0: 10.0},
        ),
        candidate: VariantSeries(candidate, {ERRORS: {60.0: 5.0}}, {60.0: 10.0}),
    }
    old, new = variant_numbers(progress(status, NOW), series)
    assert (old.label, old.invocations, old.errors_5xx) == ("stable", 40.0, 1.0)
    assert old.latency_us == (30 * 1000 + 10 * 4000) / 40  # not the plain mean, 2500
    assert (new.label, new.error_rate, new.latency_us) == ("candidate", 0.5, None)
    assert "50.00%" in new.text()


# --- history --rollouts: one line per rollout ---------------------------------------------------


def test_summaries_give_each_rollout_its_last_phase_time_and_reason() -> None:
    from smgitops.rollout.progress import summaries, summary_rows
    from smgitops.rollout.status import HistoryRecord

    def rec(at: float, rid: str, phase: Phase, reason: str = "") -> HistoryRecord:
        return HistoryRecord(
            at=at, endpoint="e", rollout_id=rid, commit=rid * 40, spec_hash="h", phase=phase,
            reason=reason,
        )  # fmt: skip

    records = [
        rec(NOW + 400, "b", Phase.ROLLED_BACK),
        rec(NOW, "a", Phase.PENDING),
        rec(NOW + 90, "a", Phase.SUCCEEDED, "promoted"),
        rec(NOW + 100, "b", Phase.PROGRESSING, "alarm x in ALARM"),
    ]
    first, second = summaries(records)
    assert (first.commit[:1], first.outcome, first.duration, first.reason) == (
        "a",
        Phase.SUCCEEDED,
        90,
        "promoted",
    )
    assert (second.outcome, second.duration, second.reason) == (
        Phase.ROLLED_BACK,
        300,
        "alarm x in ALARM",  # the last reason recorded, not lost to an empty one
    )
    assert summary_rows([second])[0][2:4] == ["5m00s", "RolledBack"]
