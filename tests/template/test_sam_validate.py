"""`sam validate` (the SAM translator, offline) and `sam validate --lint` on template.yaml.

aws-sam-cli pins older boto3/pydantic than the project, so it lives in its own venv:
    python3 -m venv .venv-sam && .venv-sam/bin/pip install aws-sam-cli==1.170.0
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

SAM = ROOT / ".venv-sam" / "bin" / "sam"
INSTALL = "python3 -m venv .venv-sam && .venv-sam/bin/pip install aws-sam-cli==1.170.0"

pytestmark = pytest.mark.skipif(not SAM.exists(), reason=f"aws-sam-cli is not installed: {INSTALL}")


def sam_validate(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # An empty config file: samconfig.toml must not switch modes, and nothing reaches AWS.
    config = tmp_path / "samconfig.toml"
    config.write_text("version = 0.1\n")
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    return subprocess.run(
        [
            str(SAM),
            "validate",
            "--template",
            str(ROOT / "template.yaml"),
            "--config-file",
            str(config),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
        env=env,
    )


def test_sam_translator_accepts_the_template(tmp_path: Path) -> None:
    completed = sam_validate(tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "is a valid SAM Template" in output


def test_sam_validate_lint_is_clean(tmp_path: Path) -> None:
    completed = sam_validate(tmp_path, "--lint")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "is a valid SAM Template" in output
