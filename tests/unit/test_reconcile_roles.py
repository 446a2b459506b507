"""Per-repository execution roles at validation: the rule IAM enforces with ExecutionRolePath
(docs/deploy.md), reported with the file before anything is created."""

from __future__ import annotations

from smgitops.declaration.models import Declaration
from smgitops.reconcile.roles import repository_folder, role_problems
from tests.builders import declaration_dict

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:smgitops-x"
FRAUD = "https://github.com/acme/fraud-models"


def _with_role(arn: str) -> dict[str, Declaration]:
    document = declaration_dict("fraud")
    document["spec"]["model"]["executionRoleArn"] = arn
    return {"fraud": Declaration.model_validate(document)}


def _problems(arn: str, role_path: str = "/smgitops/") -> list[str]:
    return role_problems(
        _with_role(arn),
        {"fraud": "endpoints/fraud.yaml"},
        identity=FRAUD,
        role_path=role_path,
        deployment_arn=MACHINE,
    )


def test_the_repositorys_folder_is_its_identity_under_the_path() -> None:
    assert repository_folder("/smgitops/", FRAUD) == "/smgitops/github.com/acme/fraud-models/"
    assert repository_folder("/smgitops", "/srv/git/acme/m") == "/smgitops/srv/git/acme/m/"


def test_a_role_of_the_repository_or_a_parent_folder_is_accepted() -> None:
    own = "arn:aws:iam::123456789012:role/smgitops/github.com/acme/fraud-models/inference"
    shared = "arn:aws:iam::123456789012:role/smgitops/github.com/acme/shared"
    assert _problems(own) == []
    assert _problems(shared) == []


def test_another_teams_role_or_another_account_is_refused_with_the_file() -> None:
    other = "arn:aws:iam::123456789012:role/smgitops/github.com/acme/risk/inference"
    assert _problems(other) == [
        f"endpoints/fraud.yaml:1: spec.model.executionRoleArn: role {other} is not under "
        "/smgitops/github.com/acme/fraud-models/ (or a parent below /smgitops/)"
    ]
    look_alike = "arn:aws:iam::123456789012:role/smgitops/github.com/acme/fraud-models-2/x"
    assert _problems(look_alike)  # a whole folder, not a prefix of the name
    outside = "arn:aws:iam::123456789012:role/SageMakerExecution"
    assert _problems(outside)
    foreign = "arn:aws:iam::999999999999:role/smgitops/github.com/acme/fraud-models/x"
    assert "not in this deployment's account" in _problems(foreign)[0]


def test_without_a_role_path_every_role_is_left_to_the_pattern() -> None:
    assert _problems("arn:aws:iam::999999999999:role/Anything", role_path="") == []
