# ruff: noqa: F811 - the `stack` fixture is shared with test_reconcile (imported, then requested)
"""What a rollout takes from the repository besides its declaration: golden requests, freeze
windows from .smgitops.yaml and the commit's Deploy-Override trailer."""

from __future__ import annotations

import json

from smgitops.aws.store import StatusStore
from tests.integration.test_reconcile import T0, Stack, _outcomes, stack  # noqa: F401

GOLDEN = {
    "body": {"tenure": 3},
    "expect": {"status": 200, "fields": [{"path": "$.churn", "op": "<=", "value": 1}]},
}
ALWAYS = (
    "freeze:\n"
    "  - {timezone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], start: '00:00', end: '23:59',"
    " reason: audit}\n"
)


def test_golden_requests_at_the_commit_travel_with_the_rollout(stack: Stack) -> None:
    stack.remote.write("tests/churn/a.json", json.dumps(GOLDEN))
    stack.remote.write("tests/churn/b.json", json.dumps({**GOLDEN, "body": {"tenure": 40}}))
    stack.remote.declare("churn-predictor", validation={"requests": ["tests/churn/*.json"]})
    record = stack.push(stack.remote.commit("v1 with golden requests"), T0)
    assert _outcomes(record) == {"churn-predictor": "started"}
    status = StatusStore(stack.aws.table).get("churn-predictor")
    assert status is not None
    assert sorted(g.name for g in status.golden) == ["tests/churn/a.json", "tests/churn/b.json"]
    assert status.golden[1].request.body == {"tenure": 40}


def test_a_bad_golden_request_makes_the_push_invalid_with_its_location(stack: Stack) -> None:
    stack.remote.write("tests/churn/a.json", '{"body": {"tenure": 3},\n "expect": [1]}')
    stack.remote.declare("churn-predictor", validation={"requests": ["tests/churn/*.json"]})
    record = stack.push(stack.remote.commit("broken golden request"), T0)
    assert record.status == "invalid"
    assert any(p.startswith("tests/churn/a.json") for p in record.problems)
    assert StatusStore(stack.aws.table).get("churn-predictor") is None  # nothing deployed


def test_freeze_windows_and_the_override_trailer_reach_the_status(stack: Stack) -> None:
    stack.remote.write(".smgitops.yaml", ALWAYS)
    stack.remote.declare("churn-predictor")
    sha = stack.remote.commit("hotfix\n\nDeploy-Override: INC-42 outage fix")
    stack.push(sha, T0)
    status = StatusStore(stack.aws.table).get("churn-predictor")
    assert status is not None
    assert status.freeze and status.freeze[0].reason == "audit"
    assert status.override == "INC-42 outage fix"


def test_selfheal_from_the_app_config_reaches_the_status_and_its_absence_too(
    stack: Stack,
) -> None:
    stack.remote.write(".smgitops.yaml", "selfHeal: true\n")
    stack.remote.declare("churn-predictor")
    stack.push(stack.remote.commit("heal drift of what this repository declares"), T0)
    healed = StatusStore(stack.aws.table).get("churn-predictor")
    assert healed is not None and healed.self_heal is True
    stack.remote.declare("fraud-scorer")
    stack.remote.write(".smgitops.yaml", "prune: false\n")
    stack.push(stack.remote.commit("selfHeal no longer said"), T0)
    unsaid = StatusStore(stack.aws.table).get("fraud-scorer")
    assert unsaid is not None and unsaid.self_heal is None  # the drift function decides


def refused_app_config(stack: Stack, app_config: str, problem: str) -> None:
    """A push of churn-predictor with ``app_config`` is invalid for ``problem`` alone and
    deploys nothing."""
    stack.remote.write(".smgitops.yaml", app_config)
    stack.remote.declare("churn-predictor")
    record = stack.push(stack.remote.commit("app config"), T0)
    assert record.status == "invalid"
    assert list(record.problems) == [problem]
    assert StatusStore(stack.aws.table).get("churn-predictor") is None


def test_a_selfheal_that_is_not_a_boolean_makes_the_push_invalid(stack: Stack) -> None:
    refused_app_config(
        stack,
        "prune: false\nselfHeal: sometimes\n",
        ".smgitops.yaml:2: selfHeal: must be a valid boolean (got 'sometimes')",
    )


def test_selfheal_true_where_the_operator_keeps_it_off_makes_the_push_invalid(
    stack: Stack,
) -> None:
    stack.self_heal(operator=False)
    refused_app_config(
        stack,
        "prune: false\nselfHeal: true\n",
        ".smgitops.yaml:2: selfHeal: true is wider than the operator allows "
        "(SMGITOPS_SELF_HEAL=false): a repository can narrow it, never widen it",
    )
    stack.remote.write(".smgitops.yaml", "selfHeal: false\n")  # narrowing is always allowed
    record = stack.push(stack.remote.commit("no healing here"), T0 + 60)
    assert record.status != "invalid", record.problems
    status = StatusStore(stack.aws.table).get("churn-predictor")
    assert status is not None and status.self_heal is False


def test_selfheal_said_later_reaches_an_endpoint_the_push_leaves_unchanged(stack: Stack) -> None:
    stack.remote.declare("churn-predictor")
    stack.push(stack.remote.commit("deploy, selfHeal not said"), T0)
    before = StatusStore(stack.aws.table).get("churn-predictor")
    assert before is not None and before.self_heal is None
    stack.remote.write(".smgitops.yaml", "selfHeal: true\n")
    sha = stack.remote.commit("heal drift from now on; no model changes")
    stack.push(sha, T0 + 60)
    after = StatusStore(stack.aws.table).get("churn-predictor")
    assert after is not None and after.self_heal is True
    assert after.rollout_id == before.rollout_id  # no new rollout for a setting
    history = StatusStore(stack.aws.table).history("churn-predictor")
    assert history[0].event == f"selfHeal true at {sha[:12]} (.smgitops.yaml)"
