"""The test helpers of tests/support/ checked against what they stand in for: GitHub's documented
signature, the signed events/ fixtures, a Git remote that receives pushes, and the fault ×
outcome table of docs/reliability.md."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from smgitops.ingest import signature
from tests.conftest import load_event
from tests.support.faults import BEGIN, END, Outcome, load, main, render
from tests.support.ingest import TEST_SECRET, GitRemote, body_of

if TYPE_CHECKING:
    from pathlib import Path


def test_sign_is_githubs_documented_example() -> None:
    # https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature.sign(b"It's a Secret to Everybody", b"Hello, World!") == expected


def test_events_are_signed_with_the_documented_test_secret() -> None:
    for name in ("github-push-main.json", "github-push-main-base64.json", "github-ping.json"):
        event = load_event(name)
        assert event["headers"]["x-hub-signature-256"] == signature.sign(
            TEST_SECRET.encode(), body_of(event)
        )


def test_git_remote_pushes_commits(tmp_path: Path) -> None:
    remote = GitRemote(tmp_path)
    remote.declare("churn-predictor")
    sha = remote.commit("first")
    assert remote.bare.commit("main").hexsha == sha
    assert "churn-predictor" in remote.bare.git.show(f"{sha}:endpoints/churn-predictor.yaml")


def test_rows_render_grouped_by_fault_and_a_rerun_replaces_its_rows(tmp_path: Path) -> None:
    report = tmp_path / "faults.jsonl"
    rows = [
        Outcome("throttling", "b", "Succeeded", "none", "x"),
        Outcome("throttling", "a", "RolledBack", "none", "y | z"),
        Outcome("throttling", "a", "Succeeded", "none", "rerun"),
        Outcome("abort twice", "c", "RolledBack", "none", "w"),
    ]
    report.write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows))
    table = render(load(report)).splitlines()
    assert table[2:] == [
        "| abort twice | c | RolledBack | none | w |",
        "| throttling | a | Succeeded | none | rerun |",
        "|  | b | Succeeded | none | x |",
    ]
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{BEGIN}\nold\n{END}\noutro\n")
    assert main([str(report), "--write", str(doc)]) == 0
    assert doc.read_text() == f"intro\n{BEGIN}\n{chr(10).join(table)}\n{END}\noutro\n"
