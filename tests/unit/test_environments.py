"""Environments: one repository, ``environments/staging/`` and ``environments/prod/``, one
smgitops stack per environment, each tracking its folder; promotion is a pull request that
copies a declaration from staging to prod (docs/workflow.md, "Environments")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from git import Repo

from smgitops.declaration.loader import load_tree
from smgitops.git.repository import Snapshot
from smgitops.reconcile import appconfig
from smgitops.reconcile.tree import read_desired_state
from tests.unit.test_declaration_loader import VALID, replace

ROOT = Path(__file__).resolve().parents[2]
STAGING = "environments/staging"
PROD = "environments/prod"
# The same endpoint per environment, suffixed: both stacks may share an account.
STAGING_CHURN = replace(4, "  name: churn-predictor-staging")
CONFIG = "branch: main\nprune: false\n"  # no declarationsDir: each stack's folder decides


def promote(text: str) -> str:
    """The promotion edit: the copied file with prod's name (the sed of docs/workflow.md)."""
    return re.sub(r"(?m)^(  name: .*)-staging$", r"\1-prod", text)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_each_environment_folder_loads_on_its_own(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            f"{STAGING}/churn.yaml": STAGING_CHURN,
            f"{STAGING}/fraud.yaml": replace(4, "  name: fraud-staging"),
            f"{PROD}/churn.yaml": promote(STAGING_CHURN),
        },
    )
    staging = load_tree(tmp_path, STAGING)
    prod = load_tree(tmp_path, PROD)
    assert staging.problems == prod.problems == []
    assert sorted(staging.declarations) == ["churn-predictor-staging", "fraud-staging"]
    assert list(prod.declarations) == ["churn-predictor-prod"]
    assert prod.paths == {"churn-predictor-prod": f"{PROD}/churn.yaml"}


def test_a_copied_declaration_has_the_same_content_hash(tmp_path: Path) -> None:
    write(tmp_path, {f"{STAGING}/churn.yaml": STAGING_CHURN})
    staging = load_tree(tmp_path, STAGING).declarations["churn-predictor-staging"]

    # A verbatim copy (stacks in separate accounts keep the name) ...
    write(tmp_path, {f"{PROD}/churn.yaml": STAGING_CHURN})
    verbatim = load_tree(tmp_path, PROD).declarations["churn-predictor-staging"]
    assert verbatim.content_hash() == staging.content_hash()

    # ... or with prod's name and a slower canary: still exactly what staging ran.
    slower = promote(STAGING_CHURN).replace("interval: 5m", "interval: 30m")
    write(tmp_path, {f"{PROD}/churn.yaml": slower})
    prod = load_tree(tmp_path, PROD).declarations["churn-predictor-prod"]
    assert prod.content_hash() == staging.content_hash()
    assert prod.spec.rollout.interval_seconds == 1800


def test_a_new_model_in_staging_differs_from_prod_until_promoted(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            f"{STAGING}/churn.yaml": STAGING_CHURN.replace("/v42/", "/v43/"),
            f"{PROD}/churn.yaml": promote(STAGING_CHURN),
        },
    )
    staging = load_tree(tmp_path, STAGING).declarations["churn-predictor-staging"]
    prod = load_tree(tmp_path, PROD).declarations["churn-predictor-prod"]
    assert prod.content_hash() != staging.content_hash()
    write(
        tmp_path, {f"{PROD}/churn.yaml": promote((tmp_path / STAGING / "churn.yaml").read_text())}
    )
    promoted = load_tree(tmp_path, PROD).declarations["churn-predictor-prod"]
    assert promoted.content_hash() == staging.content_hash()
    assert promoted.spec.model.model_data_url == "s3://ml-models/churn/v43/model.tar.gz"


def test_loading_both_folders_together_would_see_one_endpoint_twice(tmp_path: Path) -> None:
    """Why each stack tracks one folder: a verbatim copy is the same endpoint name twice."""
    write(tmp_path, {f"{STAGING}/churn.yaml": VALID, f"{PROD}/churn.yaml": VALID})
    assert load_tree(tmp_path, STAGING).problems == load_tree(tmp_path, PROD).problems == []
    together = load_tree(tmp_path, "environments")
    assert [p.message for p in together.problems] == [
        f"endpoint 'churn-predictor' is also declared in {PROD}/churn.yaml"
    ]


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Path, str]:
    """A repository with both environments, as the stacks fetch it at the pushed commit."""
    root = tmp_path / "ml-endpoints"
    repo = Repo.init(root, initial_branch="main")
    files = {
        ".smgitops.yaml": CONFIG,
        f"{STAGING}/churn.yaml": STAGING_CHURN.replace("/v42/", "/v43/"),
        f"{PROD}/churn.yaml": promote(STAGING_CHURN),
    }
    write(root, files)
    repo.index.add(sorted(files))
    sha = repo.index.commit("churn v43 in staging").hexsha
    return root, sha


def test_each_stack_reads_its_own_folder_at_the_same_commit(
    repository: tuple[Path, str], tmp_path: Path
) -> None:
    root, sha = repository
    seen = {}
    for index, folder in enumerate((STAGING, PROD)):
        desired = read_desired_state(
            Snapshot.open(root, sha),
            tmp_path / f"scratch-{index}",
            branch="main",
            declarations_dir=folder,  # the stack's DeclarationsFolder parameter
            prune=False,
        )
        assert desired.problems == []
        assert desired.config.declarations_dir == folder
        seen[folder] = desired
    assert list(seen[STAGING].declarations) == ["churn-predictor-staging"]
    assert list(seen[PROD].declarations) == ["churn-predictor-prod"]
    staging_model = seen[STAGING].declarations["churn-predictor-staging"].spec.model
    prod_model = seen[PROD].declarations["churn-predictor-prod"].spec.model
    assert staging_model.model_data_url != prod_model.model_data_url  # not promoted yet


def test_a_declarations_dir_in_the_app_config_would_override_every_stack() -> None:
    """The pitfall the docs warn about: ``.smgitops.yaml`` wins over the stack's folder."""
    pinned = appconfig.parse(b"declarationsDir: environments/staging\n").config
    for folder in (STAGING, PROD):
        effective = appconfig.effective(pinned, branch="main", declarations_dir=folder, prune=False)
        assert effective.declarations_dir == STAGING
    unset = appconfig.parse(CONFIG.encode()).config
    assert appconfig.effective(unset, branch="main", declarations_dir=PROD, prune=False) == (
        appconfig.Effective(branch="main", declarations_dir=PROD, prune=False)
    )


def _overrides(config_env: dict[str, Any]) -> dict[str, str]:
    text = str(config_env["deploy"]["parameters"]["parameter_overrides"])
    return dict(re.findall(r'(\w+)="([^"]*)"', text))


def test_samconfig_has_a_stack_per_environment_with_a_declarations_folder() -> None:
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    assert "DeclarationsFolder" in template["Parameters"]
    stacks = {}
    for environment in ("staging", "prod"):
        config_env = samconfig[environment]
        stacks[environment] = config_env["global"]["parameters"]["stack_name"]
        overrides = _overrides(config_env)
        assert overrides["Environment"] == environment
        assert overrides["DeclarationsFolder"]
    assert len(set(stacks.values())) == 2
