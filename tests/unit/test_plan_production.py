"""The pull-request plan shows each production field that a change touches, in the
declaration's words."""

from __future__ import annotations

from smgitops.declaration.loader import load_text
from smgitops.plan.diff import diff
from smgitops.plan.review import review_fields
from tests.support.production import FULL, KMS_ARN, SERVERLESS, edit


def _diffs(before: str, after: str) -> dict[str, tuple[object, object]]:
    old, new = load_text(before, "a.yaml"), load_text(after, "a.yaml")
    return {
        d.field: (d.before, d.after)
        for d in diff(review_fields(old), review_fields(new), unset=True)
    }


def test_each_changed_field_is_one_diff() -> None:
    after = edit(
        edit(
            edit(
                edit(FULL, "startupHealthCheckTimeout: 10m", "startupHealthCheckTimeout: 15m"),
                "volumeSizeGB: 100",
                "volumeSizeGB: 200",
            ),
            "samplingPercentage: 20",
            "samplingPercentage: 5",
        ),
        KMS_ARN,
        "alias/ml",
    )
    assert _diffs(FULL, after) == {
        "model.startupHealthCheckTimeout": ("600s", "900s"),
        "volumeSizeGB": (100, 200),
        "dataCapture.samplingPercentage": (20, 5),
        "kmsKeyId": (KMS_ARN, "alias/ml"),
    }


def test_the_same_timeout_written_otherwise_is_no_diff() -> None:
    same = edit(FULL, "modelDataDownloadTimeout: 20m", "modelDataDownloadTimeout: 1200s")
    assert _diffs(FULL, same) == {}


def test_instances_to_serverless_shows_both_sides() -> None:
    diffs = _diffs(
        edit(
            SERVERLESS,
            "  serverless: {memorySizeMB: 2048, maxConcurrency: 20, provisionedConcurrency: 2}\n",
            "  instanceType: ml.m5.large\n",
        ),
        SERVERLESS,
    )
    assert diffs == {
        "instanceType": ("ml.m5.large", None),
        "instanceCount": (1, None),
        "serverless.memorySizeMB": (None, 2048),
        "serverless.maxConcurrency": (None, 20),
        "serverless.provisionedConcurrency": (None, 2),
    }
