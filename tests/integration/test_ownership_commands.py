"""`smgitops transfer` and `adopt`, and the owner in `status` and `history` (DESIGN §6)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from smgitops.aws import clients
from smgitops.cli import main
from smgitops.rollout.start import StartRequest
from smgitops.rollout.status import Context
from tests.builders import declaration
from tests.integration.conftest import TABLE, Engine
from tests.support.emulator import create_config, create_model, deploy, variant

if TYPE_CHECKING:
    import pytest

NAME = "churn-predictor"
ALLOWED = "https://github.com/acme/*"
RISK = "https://github.com/acme/risk"
OPTIONS = ["--table", TABLE, "--allowed", ALLOWED, "--by", "ops"]


def _tags(arn: str) -> dict[str, str]:
    tags = clients.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


def test_transfer_records_the_new_owner_shown_by_status_and_history(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.deploy(declaration(version=1), "1" * 40)
    assert main(["transfer", NAME, "--to", RISK + ".git", *OPTIONS]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{NAME}: owner {RISK} (was nobody), transferred by ops")
    assert main(["status", "--table", TABLE]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert "OWNER" in header and RISK in row
    assert main(["status", NAME, "--table", TABLE]) == 0
    assert re.search(rf"^owner +{re.escape(RISK)}$", capsys.readouterr().out, re.MULTILINE)
    assert main(["status", NAME, "--table", TABLE, "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["owner"] == RISK
    assert main(["history", NAME, "--table", TABLE]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == f"{NAME}: owner {RISK}"
    assert f"ownership transferred from nobody to {RISK} by ops" in text
    assert main(["history", NAME, "--table", TABLE, "--output", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    [moved] = [r for r in records if r["event"].startswith("ownership transferred")]
    assert moved["owner"] == RISK and {r["owner"] for r in records} == {"", RISK}
    sm = clients.client("sagemaker")
    live = sm.describe_endpoint(EndpointName=NAME)
    config = sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    for arn in (live["EndpointArn"], config["EndpointConfigArn"], model["ModelArn"]):
        assert _tags(arn)["smgitops:owner"] == RISK, arn
    # one team's view: only the endpoints its repository owns
    engine.deploy(declaration("fraud-scorer", version=1), "2" * 40)
    assert main(["status", "--owner", RISK + ".git", "--table", TABLE, "--output", "json"]) == 0
    assert [s["endpoint"] for s in json.loads(capsys.readouterr().out)] == [NAME]
    assert main(["status", "fraud-scorer", "--owner", RISK, "--table", TABLE]) == 1
    assert "no rollout recorded for fraud-scorer owned by" in capsys.readouterr().err
    # again: nothing changes, the tags are written again
    assert main(["transfer", NAME, "--to", RISK, *OPTIONS, "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False


def test_transfer_is_refused_with_a_reason(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.deploy(declaration(version=1), "1" * 40)
    outside = "https://github.com/evil/models"
    assert main(["transfer", NAME, "--to", outside, *OPTIONS]) == 1
    assert "refused: repository https://github.com/evil/models is not in" in capsys.readouterr().err
    assert main(["transfer", "unknown-endpoint", "--to", RISK, *OPTIONS]) == 1
    assert "unknown-endpoint is not managed by smgitops: no rollout" in capsys.readouterr().err
    assert main(["transfer", NAME, "--to", RISK, "--table", TABLE, "--allowed", ""]) == 2
    assert "which repositories does the deployment allow?" in capsys.readouterr().err
    status = engine.service.store.get(NAME)
    assert status is not None and status.owner == ""


def test_adopt_tags_an_endpoint_smgitops_did_not_create_and_records_it(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    sm = clients.client("sagemaker")
    create_model(sm, "hand-made-model")
    create_config(sm, "hand-made-config", [variant("hand-made", "hand-made-model")])
    deploy(sm, "hand-made", "hand-made-config")
    assert main(["adopt", "hand-made", "--repository", RISK, *OPTIONS]) == 0
    assert capsys.readouterr().out.startswith(f"hand-made: adopted for {RISK} by ops; tagged 3")
    arn = sm.describe_endpoint(EndpointName="hand-made")["EndpointArn"]
    assert _tags(arn) == {
        "smgitops:managed": "true",
        "smgitops:endpoint": "hand-made",
        "smgitops:owner": RISK,
    }
    assert main(["history", "hand-made", "--table", TABLE]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == f"hand-made: owner {RISK}"
    assert f"adopted for {RISK} by ops" in text
    assert main(["history", "hand-made", "--rollouts", "--table", TABLE]) == 1  # none ran
    capsys.readouterr()
    # refused: a managed endpoint, no such endpoint, a repository not allowed
    engine.deploy(declaration(version=1), "1" * 40)
    assert main(["adopt", NAME, "--repository", RISK, *OPTIONS]) == 1
    assert f"{NAME} is already managed by smgitops" in capsys.readouterr().err
    assert main(["adopt", "nothing-here", "--repository", RISK, *OPTIONS]) == 1
    assert "nothing to adopt" in capsys.readouterr().err
    assert main(["adopt", "hand-made", "--repository", "https://x.example/a", *OPTIONS]) == 1
    assert "is not in SMGITOPS_REPOSITORY_URLS" in capsys.readouterr().err


def test_two_repositories_creating_one_endpoint_at_once_leave_one_owner(engine: Engine) -> None:
    """Both see no status; the status write is conditional, so the second reloads, finds the
    first repository's status and is refused."""
    decl = declaration(version=1)
    first = engine.service.start(decl, commit="1" * 40, pushed_at=1.0, source={"identity": RISK})
    assert first.kind == "started"
    other = "https://github.com/acme/churn"
    late = StartRequest(declaration(version=2), "2" * 40, 2.0, {"identity": other}, Context())
    outcome = engine.service._start_one(late, None)  # read before the first one was written
    assert outcome.kind == "refused" and f"is owned by {RISK}" in outcome.reason
    status = engine.service.store.get(NAME)
    assert status is not None and status.owner == RISK and status.commit == "1" * 40
