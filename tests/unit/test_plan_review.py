"""The pull-request plan, ``smgitops plan --base REF --head REF``: both refs read from a real
Git repository (no AWS), rendered as the Markdown comment the workflow posts, as text and as
JSON. The assertions follow the structure documented in docs/workflow.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from git import Actor, Repo

from smgitops.cli import main
from smgitops.declaration.models import RolloutSpec
from smgitops.plan.quote import code
from smgitops.plan.review import MARKER, MAX_LISTED, MAX_SECTIONS, render_review_markdown, review
from smgitops.plan.rollout import RolloutPlan, format_duration
from smgitops.reconcile import appconfig
from smgitops.reconcile.tree import DesiredState
from smgitops.rollout.capacity import rollout_capacity
from tests.builders import declaration, declaration_dict

AUTHOR = Actor("Reviewer", "reviewer@example.com")
SECRETS = ("tok-base-5ecret", "tok-head-5ecret", "0.5-thr-value", "0.9-thr-value", "987654321")
SUMMARY = (
    "smgitops plan: 2 endpoints change (1 created, 1 changed), 1 rollout settings only, "
    "1 removed, 1 unchanged, 1 invalid file"
)
CANARY = "0 → 10 → 50 → 100 %"
CHECKS = {
    "alarms": ["churn-5xx-rate"],
    "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5}],
    "compare": {"metrics": [{"metric": "ModelLatency"}]},
}


class Clone:
    """A repository in tmp_path that commits declarations."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = Repo.init(root, initial_branch="main")

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        self.repo.index.add([path])

    def declare(self, name: str, path: str = "", **kw: Any) -> None:
        document = declaration_dict(name, **kw)
        self.write(path or f"endpoints/{name}.yaml", yaml.safe_dump(document, sort_keys=False))

    def remove(self, path: str) -> None:
        self.repo.index.remove([path], working_tree=True)

    def commit(self, message: str) -> str:
        return str(self.repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha)


def line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Clone, str, str]:
    """base: four endpoints. head: one created, one model changed, one rollout-only change,
    one removed, one unchanged, and one invalid new file."""
    clone = Clone(tmp_path / "ml-endpoints")
    churn: dict[str, Any] = {"interval": "5m", "steps": [10, 50], "analysis": CHECKS}
    clone.declare(
        "churn-predictor",
        environment={"API_TOKEN": SECRETS[0], "THRESHOLD": SECRETS[2], "WORKERS": "2"},
        **churn,
    )
    clone.declare("ltv-model", steps=[10, 50])
    clone.declare("old-model")
    clone.declare("stable-model")
    base = clone.commit("base")
    clone.write("golden/churn/one.json", '{"body": "1,2", "expect": {"status": 200}}\n')
    clone.declare(
        "churn-predictor",
        version=2,
        instance_count=3,
        environment={"API_TOKEN": SECRETS[1], "THRESHOLD": SECRETS[3], "WORKERS": "2"},
        gates=["beforePromotion"],
        validation={"requests": ["golden/churn/*.json"]},
        **churn,
    )
    clone.declare("ltv-model", steps=[10, 25, 50])
    clone.remove("endpoints/old-model.yaml")
    clone.declare("fraud-scorer", strategy="linear", stepWeight=25, instance_count=2)
    clone.declare("broken", steps=[50, 10], environment={"API_TOKEN": 987654321})
    head = clone.commit("head")
    return clone, base, head


def plan(
    capsys: pytest.CaptureFixture[str], clone: Clone, *args: str, fmt: str = "markdown"
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["plan", "--repo", str(clone.root), *args, "--format", fmt])
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(markdown: str) -> dict[str, list[str]]:
    """The endpoint table: endpoint name -> its cells (symbol, endpoint, change, what…)."""
    block = markdown.split("#### Endpoints\n\n", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in block.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows[cells[1].strip("`")] = cells
    return rows


def section(markdown: str, endpoint: str) -> str:
    return markdown.split(f"#### `{endpoint}`: ", 1)[1].split("\n#### ", 1)[0]


# --------------------------------------------------------------------------- markdown


def test_the_comment_shows_each_kind_of_change_and_the_rollout_that_runs(
    pull_request: tuple[Clone, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clone, base, head = pull_request
    code, out, err = plan(capsys, clone, "--base", base, "--head", head)
    assert code == 1  # head is invalid, and the comment is printed all the same
    assert "1 problem" not in err and "2 problem(s)" in err
    lines = out.splitlines()
    assert lines[0] == MARKER
    assert f"### {SUMMARY}" in lines[:4]
    assert f"base `{base[:12]}` → head `{head[:12]}`" in out  # shas as the workflow passes them

    rows = table_rows(out)
    assert list(rows) == ["fraud-scorer", "churn-predictor", "ltv-model", "old-model"]
    assert rows["fraud-scorer"][2:] == [
        "created",
        "`ml.m5.large` × 2",
        "created at 100 %",
        "—",
        "2 × `ml.m5.large`",
    ]
    churn = rows["churn-predictor"]
    assert churn[2] == "changed"
    assert churn[3] == "`model.modelDataUrl`, `model.environment`, `instanceCount`"
    assert churn[4] == f"canary `{CANARY}`"
    assert churn[5] == "15m + waiting at gates"
    assert churn[6] == "7 × `ml.m5.large`"  # 1 → 3 instances: promoting runs 1 + 3 + 3
    assert rows["ltv-model"][2:5] == ["rollout settings only", "`rollout.steps`", "none"]
    assert rows["old-model"][2] == "removed"
    assert "deleted only where SMGITOPS_PRUNE is on" in rows["old-model"][3]
    assert "Unchanged (1): `stable-model`" in out

    changed = section(out, "churn-predictor")
    assert changed.startswith("changed\n\n`endpoints/churn-predictor.yaml`")
    assert (
        "| `model.modelDataUrl` | `s3://ml-models/churn/v1/model.tar.gz` "
        "| `s3://ml-models/churn/v2/model.tar.gz` |" in changed
    )
    assert "| `instanceCount` | `1` | `3` |" in changed
    assert "changed `API_TOKEN`, `THRESHOLD` (values not shown)" in changed
    assert "WORKERS" not in changed  # same value: not a change
    assert f"**Rollout:** canary `{CANARY}`, bake 5m per step" in changed
    assert "- validation: golden requests `golden/churn/*.json`" in changed
    assert "- gates: `beforePromotion`: each waits for `smgitops promote`" in changed
    assert "alarm `churn-5xx-rate`, `Invocation5XXErrors` Sum > 5" in changed
    assert "compare with the stable model each step: `ModelLatency Average`" in changed
    assert "- minimum duration: 15m + waiting at gates" in changed

    created = section(out, "fraud-scorer")
    assert "**Rollout:** new endpoint: created serving 100 %" in created
    assert "later changes: linear `0 → 25 → 50 → 75 → 100 %`, bake 30s per step" in created
    assert "| `instanceCount` | `2` |" in created

    settings = section(out, "ltv-model")
    assert "no rollout will run: the content hash" in settings
    assert "| `rollout.steps` | `[10, 50]` | `[10, 25, 50]` |" in settings
    assert "**Rollout:**" not in settings


def test_every_validation_error_at_head_is_listed_with_file_and_line(
    pull_request: tuple[Clone, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clone, base, head = pull_request
    _, out, _ = plan(capsys, clone, "--base", base, "--head", head)
    broken = clone.root / "endpoints/broken.yaml"
    steps, token = line_of(broken, "    steps:"), line_of(broken, "      API_TOKEN: 987654321")
    errors = out.split("#### Validation errors (2)\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert errors == [
        f"- `endpoints/broken.yaml:{token}`: `spec.model.environment.API_TOKEN: must be a "
        "string (value not shown); quote the value to make it a string`",
        f"- `endpoints/broken.yaml:{steps}`: `spec.rollout.steps: steps must be strictly "
        "increasing (10 follows 50)`",
    ]
    assert "Head is invalid" in out.split("#### Validation errors", 1)[0]
    assert "broken" not in table_rows(out)  # a new file that is invalid: an error, no endpoint


def test_environment_values_are_never_printed(
    pull_request: tuple[Clone, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clone, base, head = pull_request
    for fmt in ("markdown", "text", "json"):
        _, out, err = plan(capsys, clone, "--base", base, "--head", head, fmt=fmt)
        assert "API_TOKEN" in out
        for secret in SECRETS:
            assert secret not in out + err, (fmt, secret)


def test_a_valid_head_exits_0_without_an_error_section(
    pull_request: tuple[Clone, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clone, base, _ = pull_request
    clone.remove("endpoints/broken.yaml")
    head = clone.commit("fix")
    code, out, err = plan(capsys, clone, "--base", base, "--head", head)
    assert (code, err) == (0, "")
    assert SUMMARY.removesuffix(", 1 invalid file") in out.splitlines()[2]
    assert "Validation errors" not in out
    assert "invalid" not in out


# --------------------------------------------------------------------------- text and JSON


def test_text_format(
    pull_request: tuple[Clone, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clone, base, head = pull_request
    code, out, _ = plan(capsys, clone, "--base", base, "--head", head, fmt="text")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == SUMMARY
    assert lines[1] == f"endpoints: base {base[:12]} -> head {head[:12]}"
    steps = line_of(clone.root / "endpoints/broken.yaml", "    steps:")
    assert f"  endpoints/broken.yaml:{steps}: spec.rollout.steps: steps must be strictly " in out
    symbols = [line.split()[:3] for line in lines if re.match(r"  [+~*!=-] ", line)]
    assert symbols == [
        ["+", "create", "fraud-scorer"],
        ["~", "update", "churn-predictor"],
        ["*", "settings", "ltv-model"],
        ["-", "orphaned", "old-model"],
        ["=", "unchanged", "stable-model"],
    ]
    assert "      instanceCount: 1 -> 3" in lines
    assert "      model.environment: changed API_TOKEN, THRESHOLD (values not shown)" in lines
    assert f"      rollout: canary {CANARY}, bake 5m per step" in lines
    assert "        minimum duration: 15m + waiting at gates" in lines
    assert "      rollout.steps: [10, 50] -> [10, 25, 50]" in lines


def test_json_format_and_the_output_alias(
    pull_request: tuple[Clone, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    clone, base, head = pull_request
    code, out, _ = plan(capsys, clone, "--base", base, "--head", head, fmt="json")
    capsys.readouterr()
    assert main(["plan", "--repo", str(clone.root), "--base", base, "--output", "json"]) == code
    data, alias = json.loads(out), json.loads(capsys.readouterr().out)
    assert alias["head"] == {"ref": "HEAD", "commit": head}  # --head defaults to HEAD
    assert alias["changes"] == data["changes"]
    assert data["valid"] is False
    assert data["summaryLine"] == SUMMARY
    assert data["summary"] == {
        "create": 1,
        "update": 1,
        "settings": 1,
        "invalid": 0,
        "orphaned": 1,
        "unchanged": 1,
        "invalidFiles": 1,
    }
    assert [p["file"] for p in data["problems"]] == ["endpoints/broken.yaml"] * 2
    by_name = {c["endpoint"]: c for c in data["changes"]}
    churn = by_name["churn-predictor"]
    assert churn["action"] == "update"
    assert {"field": "model.environment.API_TOKEN", "before": "(hidden)", "after": "(hidden)"} in (
        churn["diffs"]
    )
    assert {"field": "instanceCount", "before": 1, "after": 3} in churn["diffs"]
    rollout = churn["rollout"]
    assert rollout["traffic"] == [0, 10, 50, 100]
    assert (rollout["minimumSeconds"], rollout["bakeSeconds"]) == (900, 300)
    assert rollout["gates"] == ["beforePromotion"]
    assert rollout["validation"]["requests"] == ["golden/churn/*.json"]
    assert by_name["ltv-model"]["action"] == "settings"
    assert "rollout" not in by_name["ltv-model"]
    assert by_name["old-model"]["action"] == "orphaned"
    assert by_name["fraud-scorer"]["rollout"]["firstDeploy"] is True
    capacity = rollout["capacity"]  # 1 × ml.m5.large → 3: canary 10, 50 %
    assert capacity["peak"] == {"ml.m5.large": 7}
    assert capacity["quotas"][0]["quota"] == "ml.m5.large for endpoint usage"
    assert capacity["quotas"][0]["at"].startswith("promoting")
    steps = [(m["weight"], m["stable"], m["new"]) for m in capacity["moments"] if m["weight"]]
    assert steps == [
        (10.0, {"ml.m5.large": 1}, {"ml.m5.large": 3}),
        (50.0, {"ml.m5.large": 1}, {"ml.m5.large": 3}),
        (100.0, {}, {"ml.m5.large": 3}),
    ]
    assert by_name["fraud-scorer"]["rollout"]["capacity"]["peak"] == {"ml.m5.large": 2}


# --------------------------------------------------------------------------- edge cases


def test_an_invalid_app_config_at_head_removes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = Clone(tmp_path)
    clone.declare("churn-predictor")
    base = clone.commit("base")
    clone.write(".smgitops.yaml", "prune: maybe\n")
    head = clone.commit("broken config")
    code, out, _ = plan(capsys, clone, "--base", base, "--head", head, fmt="json")
    data = json.loads(out)
    assert code == 1
    assert data["problems"][0]["file"] == ".smgitops.yaml"
    assert [(c["endpoint"], c["action"]) for c in data["changes"]] == [
        ("churn-predictor", "invalid")
    ]


def test_prune_moves_and_the_declarations_dir_of_each_ref(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMGITOPS_PRUNE", raising=False)
    clone = Clone(tmp_path)
    clone.declare("churn-predictor", path="models/churn.yaml")
    clone.declare("old-model", path="models/old.yaml")
    base = clone.commit("base")
    clone.remove("models/churn.yaml")
    clone.declare("churn-predictor", path="models/team/churn.yaml")
    clone.remove("models/old.yaml")
    clone.write(".smgitops.yaml", "prune: true\n")
    head = clone.commit("move, prune")
    args = ("--base", base, "--head", head, "--declarations-dir", "models")
    code, out, _ = plan(capsys, clone, *args, fmt="text")
    assert code == 0
    assert (
        "  = unchanged  churn-predictor  models/team/churn.yaml  (moved from models/churn.yaml)"
        in out
    )
    assert "deleted only where SMGITOPS_PRUNE is on" in out  # the repository cannot widen it
    monkeypatch.setenv("SMGITOPS_PRUNE", "true")
    code, out, _ = plan(capsys, clone, *args, fmt="text")
    assert "the endpoint is deleted (SMGITOPS_PRUNE is on)" in out
    _, markdown, _ = plan(capsys, clone, *args)
    assert "Declarations in `models`" in markdown
    assert "0 endpoints change, 1 removed, 1 unchanged" in markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--head", "HEAD"], "--head needs --base"),
        (["--base", "HEAD", "--ref", "HEAD"], "--ref is for a plan against the live endpoints"),
        (["--base", "no-such-ref"], "cannot read 'no-such-ref'"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    clone = Clone(tmp_path)
    clone.declare("churn-predictor")
    clone.commit("base")
    code, out, err = plan(capsys, clone, *args)
    assert (code, out) == (2, "")
    assert message in err


# --------------------------------------------------------------------------- the rollout


def rollout(**settings: Any) -> RolloutSpec:
    return RolloutSpec.model_validate({"interval": "5m", **settings})


@pytest.mark.parametrize(
    ("settings", "steps", "minimum"),
    [
        ({}, "0 → 10 → 50 → 100 %", "15m"),
        ({"steps": [5, 25, 50, 75]}, "0 → 5 → 25 → 50 → 75 → 100 %", "25m"),
        ({"strategy": "linear", "stepWeight": 30}, "0 → 30 → 60 → 90 → 100 %", "20m"),
        ({"strategy": "blueGreen", "interval": "1h"}, "0 → 100 %", "2h"),
        ({"strategy": "abTest", "split": 20}, "0 → 20 %", "10m + holding until promoted"),
        ({"strategy": "allAtOnce"}, "0 → 100 %", "0s"),
        ({"strategy": "shadow", "shadow": {"duration": "30m"}}, "", "30m"),
        (
            {"strategy": "shadow", "shadow": {"then": "canary"}, "gates": ["beforeFirstStep"]},
            "0 → 10 → 50 → 100 %",
            "20m + waiting at gates",
        ),
    ],
)
def test_steps_and_minimum_duration_per_strategy(
    settings: dict[str, Any], steps: str, minimum: str
) -> None:
    planned = RolloutPlan(rollout(**settings))
    assert planned.steps_line() == steps
    assert planned.minimum() == minimum


def test_what_each_strategy_says_it_will_do() -> None:
    shadow = RolloutPlan(rollout(strategy="shadow", validation={"requests": ["g/*.json"]}))
    assert shadow.headline().endswith("then stop: a report only, the stable model keeps serving")
    assert not any(line.startswith("validation") for line in shadow.details())  # not run
    at_once = RolloutPlan(rollout(strategy="allAtOnce", gates=["beforePromotion"]))
    assert "no bake, checks, validation or gates" in at_once.headline()
    assert at_once.details() == []
    package = RolloutPlan(rollout(approvalTimeout="2h"), first_deploy=True, package=True)
    assert package.details()[0].startswith("model registry: deploys only an Approved package")
    assert "waits up to 2h" in package.details()[0]
    unchecked = RolloutPlan(rollout())
    assert unchecked.details()[0] == "checks: no checks: nothing can stop a bad model"
    said = RolloutPlan(rollout(analysis="none"))
    assert said.details()[0] == "checks: no checks: nothing can stop a bad model (analysis: none)"
    compared = RolloutPlan(rollout(analysis={"compare": {"metrics": [{"metric": "ModelLatency"}]}}))
    assert compared.details()[0].startswith("alarm checks: none declared")


def test_the_plan_says_a_failed_check_below_max_failed_checks_holds_the_step() -> None:
    alarms = {"alarms": ["churn-5xx"]}
    once = RolloutPlan(rollout(analysis=alarms)).details()[0]
    assert once == "checks each step: alarm churn-5xx; rolls back after 1 failed check"
    assert RolloutPlan(rollout(analysis=alarms)).details()[1] == (
        "traffic: each step needs 10 candidate invocations (else extended up to 3 times, then "
        "rolls back)"
    )
    twice = RolloutPlan(rollout(analysis=alarms, maxFailedChecks=2)).details()[0]
    assert twice == (
        "checks each step: alarm churn-5xx; rolls back after 2 failed checks in the rollout, "
        "each one before holds the step's weight for another interval"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (900, "15m"), (5430, "1h 30m 30s"), (90000, "1d 1h")],
)
def test_durations_read_in_days_hours_minutes_and_seconds(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_user_text_is_shown_as_code_in_the_comment() -> None:
    assert code("churn-5xx") == "`churn-5xx`"
    assert code("a`b") == "``a`b``"
    assert code("`edge`") == "`` `edge` ``"
    assert code("x|y", in_table=True) == "`x\\|y`"
    assert code("two\nlines") == "`two lines`"
    planned = RolloutPlan(rollout(analysis={"alarms": ["@org/oncall <b>|"]}))
    assert "alarm `@org/oncall <b>|`" in planned.details(code)[0]


def test_a_large_plan_stays_within_a_github_comment() -> None:
    config = appconfig.Effective(branch="", declarations_dir="endpoints", prune=False)
    names = [f"model-{i:03}" for i in range(120)]
    head = DesiredState(
        config,
        {name: declaration(name, environment={"K": "v" * 1000}) for name in names},
        {name: f"endpoints/{name}.yaml" for name in names},
        [
            f"endpoints/bad-{i:03}.yaml:1: metadata.name: required field is missing"
            for i in range(80)
        ],
    )
    planned = review(DesiredState(config, {}, {}, []), head, {"declarationsDir": "endpoints"})
    markdown = render_review_markdown(planned)
    assert len(markdown) < 65536
    assert markdown.count("\n| + | `model-") == MAX_LISTED
    assert "- … and 70 more endpoints" in markdown
    assert markdown.count("\n- `endpoints/bad-") == MAX_LISTED
    assert "- … and 30 more problems" in markdown
    assert markdown.count("\n#### `model-") == MAX_SECTIONS
    assert f"_{120 - MAX_SECTIONS} more endpoints not detailed here" in markdown
    assert planned.summary_line().startswith("smgitops plan: 120 endpoints change (120 created)")


@pytest.mark.parametrize(
    ("strategy", "stable", "new", "peak"),
    [
        ("canary", 2, 2, 6),  # stable → stable+new on new fleets (2 + 4), then new alone (4 + 2)
        ("blueGreen", 2, 3, 8),  # 5 + 3: the final update keeps both fleets and starts another
        ("allAtOnce", 2, 2, 4),  # old fleet + new fleet
        ("shadow", 2, 2, 6),  # the shadow variant is a fleet of its own too
    ],
)
def test_the_plan_shows_the_peak_instance_count_the_quota_must_allow(
    strategy: str, stable: int, new: int, peak: int
) -> None:
    extra: dict[str, Any] = {"shadow": {"then": "stop"}} if strategy == "shadow" else {}
    rollout = declaration(version=2, strategy=strategy, **extra).spec.rollout
    held = rollout_capacity(rollout, {"ml.g5.xlarge": new}, {"ml.g5.xlarge": stable})
    plan = RolloutPlan(rollout, capacity=held)
    assert held.peak() == {"ml.g5.xlarge": peak}
    assert plan.peak(code) == f"{peak} × `ml.g5.xlarge`"
    quotas = plan.to_json()["capacity"]["quotas"]
    assert quotas == [
        {
            "resource": "ml.g5.xlarge",
            "quota": "ml.g5.xlarge for endpoint usage",
            "peak": peak,
            "at": held.peak_moment("ml.g5.xlarge").label,
        }
    ]
    assert any(
        line.startswith(f"capacity: up to {peak} × ml.g5.xlarge at once")
        and "the quota ml.g5.xlarge for endpoint usage must allow it" in line
        for line in plan.details()
    )
    created = rollout_capacity(rollout, {"ml.g5.xlarge": new}, None)
    assert created.peak() == {"ml.g5.xlarge": new}


def test_the_plan_says_what_traffic_a_step_needs_and_what_happens_without_it() -> None:
    declared = {"alarms": ["churn-5xx"], "traffic": {"minInvocations": 50, "inconclusive": "pass"}}
    lines = RolloutPlan(rollout(analysis=declared)).details()
    assert (
        "traffic: each step needs 50 candidate invocations (else extended up to 3 times, then "
        "goes on unobserved)"
    ) in lines
    # blueGreen bakes at 0 %: nobody calls the candidate, so no step asks for traffic
    swap = RolloutPlan(rollout(strategy="blueGreen", analysis={"alarms": ["churn-5xx"]}))
    assert not any(line.startswith("traffic:") for line in swap.details())
    # compare's minSamples already asks for traffic on both variants
    compared = {"compare": {"metrics": [{"metric": "ModelLatency"}]}}
    assert not any(
        line.startswith("traffic:") for line in RolloutPlan(rollout(analysis=compared)).details()
    )
