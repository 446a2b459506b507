"""``smgitops validate`` and ``smgitops schema``: output, exit codes 0/1/2, JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from smgitops.cli import main
from tests.unit.test_declaration_loader import VALID, replace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "endpoints"
LOCATED = re.compile(r"^(?P<file>.+):(?P<line>\d+): (?P<rest>.+)$")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two valid files, one with two problems and one empty file."""
    (tmp_path / "nested").mkdir()
    (tmp_path / "good.yaml").write_text(VALID)
    (tmp_path / "nested" / "other.yml").write_text(replace(4, "  name: other"))
    (tmp_path / "bad.yaml").write_text(
        replace(4, "  name: bad_name", replace(16, "    steps: [50, 10]"))
    )
    (tmp_path / "empty.yaml").write_text("")
    return tmp_path


def test_valid_examples_exit_0_with_a_summary_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "6 files valid, 6 endpoints"


def test_invalid_files_exit_1_and_print_every_problem(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{folder}/bad.yaml:4: metadata.name: invalid endpoint name: 1-63 characters, "
        "alphanumerics and hyphens, not starting or ending with a hyphen",
        f"{folder}/bad.yaml:16: spec.rollout.steps: steps must be strictly increasing "
        "(10 follows 50)",
        f"{folder}/empty.yaml:1: file is empty; expected one declaration",
    ]
    assert err.strip() == "3 problems in 2 of 4 files; nothing would be deployed"


def test_files_and_folders_mix(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(folder / "good.yaml"), str(folder / "nested")]) == 0
    assert "2 files valid, 2 endpoints" in capsys.readouterr().err


def test_a_missing_path_is_a_usage_error(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(folder / "good.yaml"), str(folder / "nope.yaml")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{folder / 'nope.yaml'}: no such file or directory" in err


def test_no_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate"])
    assert exited.value.code == 2
    assert "PATH" in capsys.readouterr().err


def test_json_output(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--output", "json", str(folder)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["files"] == [
        f"{folder}/bad.yaml",
        f"{folder}/empty.yaml",
        f"{folder}/good.yaml",
        f"{folder}/nested/other.yml",
    ]
    assert [endpoint["name"] for endpoint in report["endpoints"]] == ["churn-predictor", "other"]
    churn = report["endpoints"][0]
    assert churn["file"] == f"{folder}/good.yaml"
    assert churn["strategy"] == "canary"
    assert re.fullmatch(r"[0-9a-f]{64}", churn["contentHash"])
    assert report["problems"][0] == {
        "file": f"{folder}/bad.yaml",
        "line": 4,
        "field": "metadata.name",
        "message": "invalid endpoint name: 1-63 characters, alphanumerics and hyphens, "
        "not starting or ending with a hyphen",
    }
    assert report["problems"][2] == {
        "file": f"{folder}/empty.yaml",
        "line": 1,
        "field": None,
        "message": "file is empty; expected one declaration",
    }


def test_json_output_when_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES), "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert report["problems"] == []
    assert len(report["endpoints"]) == 6


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"].startswith("smgitops endpoint declaration")


def test_the_installed_console_script(folder: Path) -> None:
    script = Path(sys.executable).with_name("smgitops")
    assert script.exists(), "the package must install the smgitops console script"
    ok = subprocess.run(
        [str(script), "validate", str(EXAMPLES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (ok.returncode, ok.stdout) == (0, ""), ok.stderr
    bad = subprocess.run(
        [str(script), "validate", str(folder / "bad.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 1
    assert all(LOCATED.match(line) for line in bad.stdout.splitlines())
    assert "Traceback" not in bad.stderr


# --- .smgitops.yaml and plain YAML messages -------------------------------------------------


def repository(tmp_path: Path, app_config: str) -> Path:
    (tmp_path / ".git").mkdir()  # the repository root, as validate finds it
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "churn.yaml").write_text(VALID)
    (tmp_path / ".smgitops.yaml").write_text(app_config)
    return tmp_path


def test_validate_checks_the_repositorys_app_config_worded_like_a_declaration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, "branch: main\nprunee: true\nselfHeal: maybe\n")
    assert main(["validate", str(root / "endpoints")]) == 1  # used to be 0: never checked
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].endswith(".smgitops.yaml:2: prunee: unknown field; did you mean 'prune'?")
    assert lines[1].endswith(".smgitops.yaml:3: selfHeal: must be a valid boolean (got 'maybe')")
    assert "every push would be refused" in err


def test_validate_refuses_a_selfheal_the_operator_does_not_allow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repository(tmp_path, "branch: main\nselfHeal: true\n")
    monkeypatch.delenv("SMGITOPS_SELF_HEAL", raising=False)
    assert main(["validate", str(root / "endpoints")]) == 0  # the operator's is not known here
    capsys.readouterr()
    monkeypatch.setenv("SMGITOPS_SELF_HEAL", "false")
    assert main(["validate", str(root / "endpoints")]) == 1
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .endswith(
            ".smgitops.yaml:2: selfHeal: true is wider than the operator allows "
            "(SMGITOPS_SELF_HEAL=false): a repository can narrow it, never widen it"
        )
    )
    monkeypatch.setenv("SMGITOPS_SELF_HEAL", "true")
    assert main(["validate", str(root / "endpoints")]) == 0


def test_a_valid_app_config_is_said_valid_and_is_in_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, "branch: main\nprune: false\n")
    assert main(["validate", str(root / "endpoints"), "--output", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is True
    assert [c["problems"] for c in data["appConfig"]] == [[]]


def test_an_app_config_given_by_path_is_checked_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, "branch: [main]\n")
    assert main(["validate", str(root / ".smgitops.yaml")]) == 1
    assert "branch: must be a string" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("apiVersion: smgitops/v1\nmetadata:\n\tname: x\n", 3, "indented with a tab"),
        ("metadata:\n  name: x\n    tags: {}\n", 3, "indented deeper than the key above"),
        ("metadata:\n    name: x\n  tags: {}\n", 3, "does not line up with the keys above"),
        ('metadata: "open\nkind: x\n', 3, "a quote or bracket opened and never closed"),
    ],
)
def test_yaml_mistakes_are_said_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, words: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"broken.yaml:{line}: invalid YAML: " in out and words in out, out
    assert "could not find expected" not in out and "mapping values" not in out
