"""The plan comparison (pure): create / update with the differing fields / unchanged /
orphaned, decided the way the engine decides (the last-applied hash wins when known)."""

from __future__ import annotations

import json

from smgitops.declaration.models import Declaration
from smgitops.plan.diff import Current, Diff, Plan, compare, fields_of, serverless_refusals
from smgitops.plan.render import render_markdown, render_text
from tests.builders import declaration, declaration_dict

V1 = declaration("churn-predictor", version=1)
V2 = declaration("churn-predictor", version=2, instance_count=3)


def _live(decl: object, **changes: object) -> dict[str, object]:
    fields = fields_of(decl)  # type: ignore[arg-type]
    fields.update(changes)
    return fields


def test_missing_endpoint_is_created() -> None:
    [change] = compare({"churn-predictor": V1}, {}, paths={"churn-predictor": "endpoints/c.yaml"})
    assert (change.action, change.file, change.diffs) == ("create", "endpoints/c.yaml", ())
    [change] = compare(
        {"churn-predictor": V1}, {"churn-predictor": Current(None, exists=False, managed=False)}
    )
    assert change.action == "create"


def test_changed_fields_are_listed_with_before_and_after() -> None:
    [change] = compare({"churn-predictor": V2}, {"churn-predictor": Current(_live(V1))})
    assert change.action == "update"
    assert change.diffs == (
        Diff(
            "model.modelDataUrl",
            "s3://ml-models/churn/v1/model.tar.gz",
            "s3://ml-models/churn/v2/model.tar.gz",
        ),
        Diff("instanceCount", 1, 3),
    )


def test_live_endpoint_equal_to_the_declaration_is_unchanged_without_a_table() -> None:
    [change] = compare({"churn-predictor": V1}, {"churn-predictor": Current(_live(V1))})
    assert (change.action, change.diffs) == ("unchanged", ())


def test_the_applied_hash_decides_like_the_engine() -> None:
    applied = Current(_live(V1), spec_hash=V1.content_hash(), managed=True)
    assert compare({"churn-predictor": V1}, {"churn-predictor": applied})[0].action == "unchanged"
    assert compare({"churn-predictor": V2}, {"churn-predictor": applied})[0].action == "update"
    drifted = applied._replace(fields=_live(V1, instanceCount=9))
    [change] = compare({"churn-predictor": V1}, {"churn-predictor": drifted})
    assert change.action == "unchanged" and "drift" in change.note


def test_a_rolled_back_model_pushed_again_is_unchanged_and_says_how_to_retry() -> None:
    # v2 rolled back: v1 serves, the status holds v2's hash. A push of v2 starts nothing.
    ended = "RolledBack at 2222222222aa (alarm churn-5xx in ALARM)"
    rolled = Current(_live(V1), spec_hash=V2.content_hash(), managed=True, ended=ended)
    [change] = compare({"churn-predictor": V2}, {"churn-predictor": rolled})
    assert change.action == "unchanged"  # used to read "update"
    assert change.note.startswith(ended)
    assert "smgitops retry" in change.note
    assert compare({"churn-predictor": V1}, {"churn-predictor": rolled})[0].action == "update"


def test_an_unmanaged_live_endpoint_with_the_same_model_is_adopted() -> None:
    current = Current(_live(V1), managed=False)
    [change] = compare({"churn-predictor": V1}, {"churn-predictor": current})
    assert change.action == "update" and change.note.startswith("not managed yet")


def test_fields_the_declaration_leaves_unset_are_not_compared() -> None:
    live = _live(V1, **{"model.modelPackageArn": "arn:aws:sagemaker:x"})
    live["model.image"] = V1.spec.model.image
    [change] = compare({"churn-predictor": V1}, {"churn-predictor": Current(live)})
    assert change.action == "unchanged"


def test_tracked_endpoints_without_a_declaration_are_orphaned_and_listed_last() -> None:
    changes = compare(
        {"churn-predictor": V1, "a-new-one": declaration("a-new-one")},
        {"churn-predictor": Current(_live(V1))},
        tracked=["churn-predictor", "old-model"],
    )
    assert [(c.endpoint, c.action) for c in changes] == [
        ("a-new-one", "create"),
        ("churn-predictor", "unchanged"),
        ("old-model", "orphaned"),
    ]


def test_renderers() -> None:
    changes = compare(
        {"churn-predictor": V2},
        {"churn-predictor": Current(_live(V1))},
        paths={"churn-predictor": "endpoints/churn-predictor.yaml"},
        tracked=["old-model"],
    )
    plan = Plan(changes, {"ref": "main", "commit": "a" * 40})
    text = render_text(plan)
    assert text.splitlines()[0] == (
        "plan for main (aaaaaaaaaaaa): 0 to create, 1 to update, 0 unchanged, 1 orphaned"
    )
    assert "  ~ update     churn-predictor  endpoints/churn-predictor.yaml" in text
    assert "      instanceCount: 1 -> 3" in text
    assert "  - orphaned   old-model" in text
    markdown = render_markdown(plan)
    assert "| ~ | `churn-predictor` | update | `model.modelDataUrl`:" in markdown
    as_json = json.loads(json.dumps(plan.to_json()))
    assert as_json["summary"] == {"create": 0, "update": 1, "unchanged": 0, "orphaned": 1}
    assert as_json["changes"][0]["diffs"][1] == {
        "field": "instanceCount",
        "before": 1,
        "after": 3,
    }


def test_a_rollout_the_engine_would_end_before_it_starts_is_refused_in_the_plan() -> None:
    data = declaration_dict(version=2, strategy="allAtOnce")
    del data["spec"]["instanceType"], data["spec"]["instanceCount"]
    data["spec"]["serverless"] = {"memorySizeMB": 2048, "maxConcurrency": 10}
    serverless = Declaration.model_validate(data)
    instances = {"churn-predictor": Current(_live(V1))}
    [reason] = serverless_refusals({"churn-predictor": serverless}, instances).values()
    assert reason.startswith("SageMaker cannot turn an instance-based endpoint into a serverless")
    live_serverless = {"churn-predictor": Current(_live(serverless, **{"model.image": "x"}))}
    assert serverless_refusals({"churn-predictor": serverless}, live_serverless) == {}
    [reason] = serverless_refusals({"churn-predictor": V2}, live_serverless).values()  # a canary
    assert reason.startswith("canary serves the stable and the new variant side by side")
    assert serverless_refusals({"churn-predictor": V2}, instances) == {}
    assert serverless_refusals({"churn-predictor": V2}, {}) == {}  # created: nothing to refuse
