"""The rollout's outcome reaches the commit on GitHub: success, or failure with the reason."""

from __future__ import annotations

from contextlib import contextmanager

from smgitops.aws.github import GitHubStatuses
from smgitops.aws.notify import GitHubNotifier
from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine
from tests.support import ingest
from tests.support.emulator import put_manual_alarm

fake_github = contextmanager(ingest.fake_github)

NAME = "churn-predictor"
SOURCE = {"provider": "github", "repository": "https://github.com/acme/models.git"}


def test_outcomes_become_commit_statuses_with_the_reason(engine: Engine) -> None:
    put_manual_alarm(engine.cloudwatch, "churn-5xx-rate", "C")
    with fake_github() as github:
        engine.service.notifier = GitHubNotifier(lambda: GitHubStatuses(github.url, "gh-token"))
        first = engine.service.start(
            declaration(version=1), commit="1" * 40, pushed_at=engine.clock.now, source=SOURCE
        )
        engine.run(NAME, first.rollout_id)
        bad = declaration(version=2, analysis={"alarms": ["churn-5xx-rate"]})
        second = engine.service.start(
            bad, commit="2" * 40, pushed_at=engine.clock.now, source=SOURCE
        )
        engine.tick(NAME, second.rollout_id)
        engine.tick(NAME, second.rollout_id)
        engine.cloudwatch.set_alarm_state(
            AlarmName="churn-5xx-rate", StateValue="ALARM", StateReason="Threshold Crossed"
        )
        trail = engine.run(NAME, second.rollout_id)
    assert trail[-1][0] == Phase.ROLLED_BACK
    posted = [(r.path, r.body["state"], r.body["description"]) for r in github.requests]
    assert posted[0] == (f"/repos/acme/models/statuses/{'1' * 40}", "success", "deployed: created")
    path, state, description = posted[-1]
    assert path == f"/repos/acme/models/statuses/{'2' * 40}" and state == "failure"
    assert description.startswith("rolled back: alarm churn-5xx-rate in ALARM at 10 %")
    assert all(r.body["context"] == "smgitops/churn-predictor" for r in github.requests)
    assert all(r.headers.get("authorization", "").endswith("gh-token") for r in github.requests)


def test_github_down_never_fails_the_rollout(engine: Engine) -> None:
    engine.service.notifier = GitHubNotifier(lambda: GitHubStatuses("http://127.0.0.1:9", "t"))
    outcome = engine.service.start(
        declaration(version=1), commit="1" * 40, pushed_at=engine.clock.now, source=SOURCE
    )
    assert engine.run(NAME, outcome.rollout_id)[-1][0] == Phase.SUCCEEDED


def test_a_held_check_shows_on_the_commit_as_pending_with_its_reason(engine: Engine) -> None:
    put_manual_alarm(engine.cloudwatch, "churn-5xx-rate", "C")
    with fake_github() as github:
        engine.service.notifier = GitHubNotifier(lambda: GitHubStatuses(github.url, "gh-token"))
        engine.deploy(declaration(version=1), "1" * 40)
        decl = declaration(
            version=2, steps=[10, 50], maxFailedChecks=2, analysis={"alarms": ["churn-5xx-rate"]}
        )
        second = engine.service.start(
            decl, commit="2" * 40, pushed_at=engine.clock.now, source=SOURCE
        )
        engine.to_first_step(NAME, second.rollout_id)
        engine.cloudwatch.set_alarm_state(
            AlarmName="churn-5xx-rate", StateValue="ALARM", StateReason="Threshold Crossed"
        )
        engine.tick(NAME, second.rollout_id)
        held = [(r.body["state"], r.body["description"]) for r in github.requests]
        engine.cloudwatch.set_alarm_state(
            AlarmName="churn-5xx-rate", StateValue="OK", StateReason="back"
        )
        trail = engine.run(NAME, second.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    state, description = held[-1]
    assert state == "pending"
    assert description.startswith("failed check 1/2: holding at 10 % for another 30s: alarm")
    assert github.requests[-1].body["state"] == "success"
