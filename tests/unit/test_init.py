"""``smgitops init``: the scaffold validates, its configs parse, and nothing is overwritten."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from git import Repo

from smgitops.cli import build_parser, main
from smgitops.commands.init import Scaffold, files_regex
from smgitops.declaration.freeze import FreezeWindow
from smgitops.declaration.loader import load_tree
from smgitops.reconcile import appconfig

ROOT = Path(__file__).resolve().parents[2]
HEAD = subprocess.run(
    ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
).stdout.strip()
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
BIN = str(Path(sys.executable).parent)
WORKFLOW = ".github/workflows/smgitops.yml"
SINGLE = {
    ".smgitops.yaml",
    ".pre-commit-config.yaml",
    WORKFLOW,
    "README.md",
    "endpoints/example-endpoint.yaml",
}
LEFTOVER_TOKEN = re.compile(r"@[A-Z][A-Z_]*@")


def init(*args: str) -> int:
    return main(["init", *args])


def written(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def workflow_of(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / WORKFLOW).read_text())
    return data


def steps_of(root: Path) -> dict[str, dict[str, Any]]:
    steps = workflow_of(root)["jobs"]["smgitops"]["steps"]
    return {step.get("name") or step["uses"].split("@")[0]: step for step in steps}


def run_step(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A workflow ``run:`` script as the runner runs it: bash -e, smgitops on the PATH."""
    environ = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"], **env}
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def plan_options() -> set[str]:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    plan = commands.choices["plan"]
    return set(plan._option_string_actions)


# --------------------------------------------------------------------------- the scaffold


def test_init_writes_a_repository_whose_example_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ml-endpoints"
    assert init(str(root)) == 0
    assert written(root) == SINGLE
    loaded = load_tree(root, "endpoints")
    assert loaded.problems == []
    assert list(loaded.declarations) == ["example-endpoint"]
    out, err = capsys.readouterr()
    assert out.count("created ") == len(SINGLE)
    assert "git init -b main" in err  # not a repository yet: the next steps say so
    for path in SINGLE:
        assert not LEFTOVER_TOKEN.search((root / path).read_text()), path


def test_the_example_is_commented_and_shows_the_alternatives(tmp_path: Path) -> None:
    assert init(str(tmp_path)) == 0
    text = (tmp_path / "endpoints/example-endpoint.yaml").read_text()
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 8
    assert "framework: {name: xgboost" in text
    assert "# modelPackageArn:" in text
    # uncommenting the framework alternative (instead of image) still validates
    lines = [
        '    framework: {name: xgboost, version: "1.7-1"}'
        if line.startswith("    image:")
        else line
        for line in text.splitlines()
    ]
    (tmp_path / "endpoints/example-endpoint.yaml").write_text("\n".join(lines) + "\n")
    loaded = load_tree(tmp_path, "endpoints")
    assert loaded.problems == []
    assert loaded.declarations["example-endpoint"].spec.model.framework is not None


def test_the_app_config_is_what_the_reconcile_reads(tmp_path: Path) -> None:
    assert init(str(tmp_path), "--branch", "release") == 0
    data = (tmp_path / ".smgitops.yaml").read_bytes()
    parsed = appconfig.parse(data)
    assert parsed.problems == []
    assert parsed.config == appconfig.AppConfig(
        branch="release", declarations_dir="endpoints", prune=False
    )
    # The freeze windows, once uncommented, are valid windows.
    uncommented = re.sub(r"(?m)^# (freeze:|  - )", r"\1", data.decode())
    windows = [FreezeWindow.model_validate(w) for w in yaml.safe_load(uncommented)["freeze"]]
    assert [w.days for w in windows] == [["fri"], ["sat", "sun"]]
    assert windows[0].overnight
    if "freeze" in appconfig.AppConfig.model_fields:  # the reconcile reads them
        assert appconfig.parse(uncommented.encode()).problems == []


def test_the_workflow_validates_and_comments_the_plan_on_pull_requests(tmp_path: Path) -> None:
    assert init(str(tmp_path), "--branch", "release") == 0
    workflow = workflow_of(tmp_path)
    trigger = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on:` as true
    assert trigger["pull_request"]["branches"] == ["release"]
    assert "endpoints/**" in trigger["pull_request"]["paths"]
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = steps_of(tmp_path)
    assert steps["actions/checkout"]["with"]["fetch-depth"] == 0
    install = steps["Install smgitops"]["run"]
    assert re.search(rf'"smgitops @ git\+(https|file)://[^"@]+@{HEAD}"', install), install
    plan = steps["Plan"]["run"]
    for flag in ('--base "$BASE_SHA"', '--head "$HEAD_SHA"', "--format markdown", "> plan.md"):
        assert flag in plan
    assert steps["Plan"]["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    comment = steps["Comment the plan"]
    assert comment["uses"].startswith("actions/github-script@")
    assert "updateComment" in comment["with"]["script"]
    assert "createComment" in comment["with"]["script"]
    assert steps["Validate"]["if"] == "always()"
    assert list(steps).index("Validate") > list(steps).index("Comment the plan")


def test_the_workflow_validate_step_runs_and_fails_on_a_bad_declaration(tmp_path: Path) -> None:
    assert init(str(tmp_path)) == 0
    script = steps_of(tmp_path)["Validate"]["run"]
    assert run_step(script, tmp_path).returncode == 0
    example = tmp_path / "endpoints/example-endpoint.yaml"
    example.write_text(example.read_text().replace("steps: [10, 50]", "steps: [50, 10]"))
    failed = run_step(script, tmp_path)
    assert failed.returncode == 1
    assert "endpoints/example-endpoint.yaml:" in failed.stdout
    assert "strictly increasing" in failed.stdout


def test_the_workflow_commands_are_ones_the_cli_accepts(tmp_path: Path) -> None:
    assert init(str(tmp_path)) == 0
    parser = build_parser()
    args = parser.parse_args(["validate", "endpoints"])
    assert args.func.__name__ == "run_validate"
    assert {"--base", "--head", "--format", "--declarations-dir"} <= plan_options()
    repo = Repo.init(tmp_path, initial_branch="main")
    repo.index.add(sorted(SINGLE))
    base = repo.index.commit("scaffold").hexsha
    example = tmp_path / "endpoints/example-endpoint.yaml"
    example.write_text(example.read_text().replace("instanceCount: 1", "instanceCount: 3"))
    repo.index.add(["endpoints/example-endpoint.yaml"])
    head = repo.index.commit("three instances").hexsha
    done = run_step(steps_of(tmp_path)["Plan"]["run"], tmp_path, BASE_SHA=base, HEAD_SHA=head)
    assert done.returncode == 0, done.stderr
    assert "example-endpoint" in (tmp_path / "plan.md").read_text()


def test_the_pre_commit_config_uses_this_projects_hook(tmp_path: Path) -> None:
    assert init(str(tmp_path), "--smgitops-repo", "https://git.example.com/ml/smgitops") == 0
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert repo["repo"] == "https://git.example.com/ml/smgitops"
    assert repo["rev"] == HEAD  # the commit this smgitops runs from: it resolves
    (hook,) = repo["hooks"]
    assert hook["id"] == HOOKS[0]["id"] == "smgitops-validate"
    assert hook["args"] == ["endpoints"]
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "endpoints/example-endpoint.yaml")
    assert re.search(hook["files"], "endpoints/team/churn.yml")
    assert not re.search(hook["files"], "docs/endpoints/x.yaml")
    assert not re.search(hook["files"], ".github/workflows/smgitops.yml")
    steps = steps_of(tmp_path)
    assert f"git+https://git.example.com/ml/smgitops@{HEAD}" in steps["Install smgitops"]["run"]


def test_by_default_the_hook_and_the_workflow_pin_this_checkout_at_a_commit_that_exists(
    tmp_path: Path,
) -> None:
    assert init(str(tmp_path)) == 0
    (repo,) = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())["repos"]
    source = Path(repo["repo"]) if Path(repo["repo"]).is_absolute() else ROOT
    resolved = subprocess.run(
        ["git", "-C", str(source), "cat-file", "-e", f"{repo['rev']}^{{commit}}"], check=False
    )
    assert resolved.returncode == 0, repo  # `rev: v0.1.0` named a tag nobody published
    install = steps_of(tmp_path)["Install smgitops"]["run"]
    assert re.search(rf'"smgitops @ git\+(https|file)://[^"@]+@{repo["rev"]}"', install), install


def test_without_a_checkout_to_point_at_the_placeholder_says_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("smgitops.commands.init.installed_source", lambda: None)
    assert init(str(tmp_path)) == 0
    (repo,) = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())["repos"]
    assert (repo["repo"], repo["rev"]) == ("https://github.com/your-org/smgitops", "main")
    assert "replace https://github.com/your-org/smgitops (and rev main)" in capsys.readouterr().err


# --------------------------------------------------------------------------- environments


def test_init_with_environments_writes_one_folder_per_environment(tmp_path: Path) -> None:
    assert init(str(tmp_path), "--environment", "staging", "--environment", "prod") == 0
    folders = ["environments/staging", "environments/prod"]
    assert written(tmp_path) == (SINGLE - {"endpoints/example-endpoint.yaml"}) | {
        f"{folder}/example-endpoint.yaml" for folder in folders
    }
    staging = load_tree(tmp_path, folders[0])
    prod = load_tree(tmp_path, folders[1])
    assert staging.problems == prod.problems == []
    assert list(staging.declarations) == ["example-endpoint-staging"]
    assert list(prod.declarations) == ["example-endpoint-prod"]
    assert (
        staging.declarations["example-endpoint-staging"].content_hash()
        == prod.declarations["example-endpoint-prod"].content_hash()
    )
    # No declarationsDir: each stack's DeclarationsFolder decides.
    parsed = appconfig.parse((tmp_path / ".smgitops.yaml").read_bytes())
    assert parsed.problems == []
    assert parsed.config.declarations_dir is None
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert [hook["args"] for hook in hooks] == [[folder] for folder in folders]
    assert [hook["files"] for hook in hooks] == [files_regex(folder) for folder in folders]
    paths = workflow_of(tmp_path).get("on", workflow_of(tmp_path).get(True))["pull_request"]
    assert [f"{folder}/**" for folder in folders] == paths["paths"][:2]
    assert (
        "for folder in environments/staging environments/prod" in steps_of(tmp_path)["Plan"]["run"]
    )
    texts = [(tmp_path / folder / "example-endpoint.yaml").read_text() for folder in folders]
    differing = [(a, b) for a, b in zip(*(t.splitlines() for t in texts), strict=True) if a != b]
    assert differing == [("  name: example-endpoint-staging", "  name: example-endpoint-prod")]
    readme = (tmp_path / "README.md").read_text()
    assert "## Environments and promotion" in readme
    assert "`environments/prod/`" in readme


def test_the_promotion_command_in_the_readme_works(tmp_path: Path) -> None:
    assert init(str(tmp_path), "--environment", "staging", "--environment", "prod") == 0
    readme = (tmp_path / "README.md").read_text()
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    staging = tmp_path / "environments/staging/example-endpoint.yaml"
    staging.write_text(staging.read_text().replace("/v1/", "/v2/"))  # a new model in staging
    before = load_tree(tmp_path, "environments/prod").declarations["example-endpoint-prod"]
    done = run_step(block, tmp_path)
    assert done.returncode == 0, done.stderr
    after = load_tree(tmp_path, "environments/prod").declarations["example-endpoint-prod"]
    promoted = load_tree(tmp_path, "environments/staging").declarations
    assert after.content_hash() == promoted["example-endpoint-staging"].content_hash()
    assert after.content_hash() != before.content_hash()
    assert '"contentHash"' in done.stdout


# --------------------------------------------------------------------------- refusing


def test_existing_files_are_not_overwritten_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("our readme\n")
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints/example-endpoint.yaml").write_text("mine\n")
    assert init(str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "README.md" in err
    assert "endpoints/example-endpoint.yaml" in err
    assert ".smgitops.yaml" not in err
    assert "--force" in err
    assert written(tmp_path) == {"README.md", "endpoints/example-endpoint.yaml"}  # nothing new
    assert (tmp_path / "README.md").read_text() == "our readme\n"


def test_force_overwrites_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("our readme\n")
    Repo.init(tmp_path)
    assert init(str(tmp_path), "--force") == 0
    out, err = capsys.readouterr()
    assert f"overwrote {tmp_path / 'README.md'}" in out
    assert "git init" not in err  # already a repository
    assert (tmp_path / "README.md").read_text().startswith("# SageMaker endpoints")


def test_running_init_twice_refuses_the_second_time(tmp_path: Path) -> None:
    assert init(str(tmp_path)) == 0
    before = {path: (tmp_path / path).read_text() for path in SINGLE}
    assert init(str(tmp_path), "--environment", "prod") == 1  # shares .smgitops.yaml, README…
    assert {path: (tmp_path / path).read_text() for path in SINGLE} == before
    assert not (tmp_path / "environments").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "a b"], "is not a branch name"),
        (["--branch", "x..y"], "is not a branch name"),
        (["--environment", "Prod"], "lowercase letters"),
        (["--environment", "prod", "--environment", "prod"], "each environment once"),
        (["--smgitops-rev", "v1 && rm -rf /"], "no spaces or quotes"),
    ],
)
def test_bad_options_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert init(str(tmp_path / "repo"), *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "repo").exists()


def test_a_file_as_the_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert init(str(target)) == 2
    assert "not a folder" in capsys.readouterr().err


def test_every_rendering_fills_every_token() -> None:
    for scaffold in (
        Scaffold(),
        Scaffold(branch="trunk", environments=("dev", "staging", "prod")),
    ):
        assert scaffold.problems() == []
        for path, text in scaffold.files().items():
            assert not LEFTOVER_TOKEN.search(text), path
            if path.endswith((".yaml", ".yml")):
                assert yaml.safe_load(text), path
