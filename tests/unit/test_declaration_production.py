"""The production fields of DESIGN §6: declarable, validated against botocore's limits with
``file:line: field: reason``, and part of the content hash."""

from __future__ import annotations

import pytest

from smgitops.declaration import aws_shapes
from smgitops.declaration.loader import load_text
from tests.support.production import FULL, KMS_ARN, SERVERLESS, edit
from tests.unit.test_declaration_loader import FILE, assert_one, problems_of


def test_every_field_is_declarable_and_in_the_deployable_part() -> None:
    spec = load_text(FULL, FILE).deployable()
    assert spec["model"]["vpc"] == {
        "subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e"],
        "securityGroups": ["sg-0a1b2c3d"],
    }
    # durations hash as seconds: rewriting 10m as 600s is no change
    assert spec["model"]["startupHealthCheckTimeout"] == 600
    assert spec["model"]["modelDataDownloadTimeout"] == 1200
    assert spec["volumeSizeGB"] == 100
    assert spec["routing"] == "leastOutstandingRequests"
    assert spec["dataCapture"] == {
        "destination": "s3://ml-capture/c/",
        "samplingPercentage": 20,
        "capture": ["input", "output"],
    }
    assert spec["kmsKeyId"] == KMS_ARN
    assert spec["instanceType"] == "ml.p3.2xlarge"


def test_serverless_replaces_the_instances_in_the_deployable_part() -> None:
    spec = load_text(SERVERLESS, FILE).deployable()
    assert spec["serverless"] == {
        "memorySizeMB": 2048,
        "maxConcurrency": 20,
        "provisionedConcurrency": 2,
    }
    assert "instanceType" not in spec
    assert "instanceCount" not in spec


CHANGES = [
    ("vpc", "sg-0a1b2c3d]", "sg-0a1b2c3e]"),
    ("startup", "startupHealthCheckTimeout: 10m", "startupHealthCheckTimeout: 11m"),
    ("download", "modelDataDownloadTimeout: 20m", "modelDataDownloadTimeout: 21m"),
    ("volume", "volumeSizeGB: 100", "volumeSizeGB: 200"),
    ("routing", "routing: leastOutstandingRequests", "routing: random"),
    ("sampling", "samplingPercentage: 20", "samplingPercentage: 30"),
    ("capture", "capture: [input, output]", "capture: [input]"),
    ("destination", "s3://ml-capture/c/", "s3://ml-capture/c2/"),
    ("kms", KMS_ARN, "alias/ml-endpoints"),
]


@pytest.mark.parametrize(("old", "new"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_a_changed_field_changes_the_content_hash(old: str, new: str) -> None:
    assert (
        load_text(edit(FULL, old, new), FILE).content_hash() != load_text(FULL, FILE).content_hash()
    )


def test_the_same_duration_written_otherwise_keeps_the_hash() -> None:
    same = edit(FULL, "startupHealthCheckTimeout: 10m", "startupHealthCheckTimeout: 600s")
    assert load_text(same, FILE).content_hash() == load_text(FULL, FILE).content_hash()


def test_a_declaration_without_production_fields_keeps_its_hash() -> None:
    """Fields appear in the hashed part only when declared: existing endpoints do not roll."""
    plain = load_text(FULL, FILE).deployable()
    assert set(plain) == {
        "model",
        "instanceType",
        "instanceCount",
        "volumeSizeGB",
        "routing",
        "dataCapture",
        "kmsKeyId",
    }
    minimal = edit(
        edit(
            edit(
                edit(FULL, "  volumeSizeGB: 100\n", ""), "  routing: leastOutstandingRequests\n", ""
            ),
            "  kmsKeyId: " + KMS_ARN + "\n",
            "",
        ),
        "  dataCapture: {destination: s3://ml-capture/c/, samplingPercentage: 20, "
        "capture: [input, output]}\n",
        "",
    )
    assert set(load_text(minimal, FILE).deployable()) == {"model", "instanceType", "instanceCount"}


REJECTIONS = [
    (
        "subnet id",
        "subnet-0b1c2d3e]",
        "subnet-xyz]",
        10,
        "spec.model.vpc.subnets",
        "not a subnet id",
    ),
    (
        "subnet too long",
        "subnet-0b1c2d3e]",
        f"subnet-{'0' * 30}]",
        10,
        "spec.model.vpc.subnets",
        "longer than 32",
    ),
    (
        "no subnet",
        "subnets: [subnet-0a1b2c3d4e5f60718, subnet-0b1c2d3e]",
        "subnets: []",
        10,
        "spec.model.vpc.subnets",
        "at least 1",
    ),
    (
        "sg id",
        "sg-0a1b2c3d]",
        "group-1]",
        10,
        "spec.model.vpc.securityGroups",
        "not a security group id",
    ),
    (
        "sg twice",
        "sg-0a1b2c3d]",
        "sg-0a1b2c3d, sg-0a1b2c3d]",
        10,
        "spec.model.vpc.securityGroups",
        "listed twice",
    ),
    (
        "sg count",
        "sg-0a1b2c3d]",
        ", ".join(f"sg-0a1b2c3{i}" for i in range(6)) + "]",
        10,
        "spec.model.vpc.securityGroups",
        "at most 5",
    ),
    (
        "startup short",
        "startupHealthCheckTimeout: 10m",
        "startupHealthCheckTimeout: 30s",
        11,
        "spec.model.startupHealthCheckTimeout",
        "between 60s and 3600s",
    ),
    (
        "startup no unit",
        "startupHealthCheckTimeout: 10m",
        "startupHealthCheckTimeout: 600",
        11,
        "spec.model.startupHealthCheckTimeout",
        "needs a unit",
    ),
    (
        "download long",
        "modelDataDownloadTimeout: 20m",
        "modelDataDownloadTimeout: 2h",
        12,
        "spec.model.modelDataDownloadTimeout",
        "between 60s and 3600s",
    ),
    (
        "volume",
        "volumeSizeGB: 100",
        "volumeSizeGB: 513",
        15,
        "spec.volumeSizeGB",
        "less than or equal to 512",
    ),
    (
        "volume zero",
        "volumeSizeGB: 100",
        "volumeSizeGB: 0",
        15,
        "spec.volumeSizeGB",
        "greater than or equal to 1",
    ),
    (
        "routing",
        "routing: leastOutstandingRequests",
        "routing: roundRobin",
        16,
        "spec.routing",
        "'random' or 'leastOutstandingRequests'",
    ),
    (
        "destination",
        "destination: s3://ml-capture/c/",
        "destination: ml-capture/churn",
        17,
        "spec.dataCapture.destination",
        "s3://bucket",
    ),
    (
        "sampling",
        "samplingPercentage: 20",
        "samplingPercentage: 101",
        17,
        "spec.dataCapture.samplingPercentage",
        "less than or equal to 100",
    ),
    (
        "capture mode",
        "capture: [input, output]",
        "capture: [request]",
        17,
        "spec.dataCapture.capture[0]",
        "'input' or 'output'",
    ),
    (
        "capture none",
        "capture: [input, output]",
        "capture: []",
        17,
        "spec.dataCapture.capture",
        "at least 1",
    ),
    ("kms pattern", KMS_ARN, "my key", 18, "spec.kmsKeyId", "SageMaker's pattern"),
    (
        "kms account",
        KMS_ARN,
        KMS_ARN.replace("123456789012", "1234"),
        18,
        "spec.kmsKeyId",
        "not a KMS key",
    ),
]


@pytest.mark.parametrize(
    "key",
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/ml-endpoints",
        "arn:aws:kms:us-east-1:123456789012:alias/ml-endpoints",
        KMS_ARN,
    ],
)
def test_every_documented_kms_key_form_is_accepted(key: str) -> None:
    assert load_text(edit(FULL, KMS_ARN, key), FILE).spec.kms_key_id == key


SERVERLESS_REJECTIONS = [
    (
        "memory step",
        "memorySizeMB: 2048",
        "memorySizeMB: 2000",
        10,
        "spec.serverless.memorySizeMB",
        "1024, 2048, 3072, 4096, 5120, 6144",
    ),
    (
        "memory high",
        "memorySizeMB: 2048",
        "memorySizeMB: 7168",
        10,
        "spec.serverless.memorySizeMB",
        "less than or equal to 6144",
    ),
    (
        "concurrency",
        "maxConcurrency: 20",
        "maxConcurrency: 201",
        10,
        "spec.serverless.maxConcurrency",
        "less than or equal to 200",
    ),
    (
        "provisioned above max",
        "provisionedConcurrency: 2",
        "provisionedConcurrency: 21",
        10,
        "spec.serverless",
        "more than maxConcurrency 20",
    ),
    (
        "with instanceType",
        "  rollout:",
        "  instanceType: ml.m5.large\n  rollout:",
        11,
        "spec.instanceType",
        "not both",
    ),
    (
        "with instanceCount",
        "  rollout:",
        "  instanceCount: 2\n  rollout:",
        11,
        "spec.instanceCount",
        "no instances",
    ),
    (
        "with volume",
        "  rollout:",
        "  volumeSizeGB: 50\n  rollout:",
        11,
        "spec.volumeSizeGB",
        "no instances",
    ),
    (
        "with routing",
        "  rollout:",
        "  routing: random\n  rollout:",
        11,
        "spec.routing",
        "no instances",
    ),
    (
        "with data capture",
        "  rollout:",
        "  dataCapture: {destination: s3://b-1/x, samplingPercentage: 5}\n  rollout:",
        11,
        "spec.dataCapture",
        "does not capture data on a serverless",
    ),
    (
        "with vpc",
        "    executionRoleArn:",
        "    vpc: {subnets: [subnet-0b1c2d3e], securityGroups: [sg-0a1b2c3d]}\n"
        "    executionRoleArn:",
        11,
        "spec.serverless",
        "cannot run in a VPC",
    ),
    (
        "canary",
        "{strategy: allAtOnce, analysis: none}",
        "{strategy: canary, analysis: {alarms: [a]}}",
        11,
        "spec.rollout",
        "one production variant",
    ),
    (
        "shadow",
        "{strategy: allAtOnce, analysis: none}",
        "{strategy: shadow, analysis: none}",
        11,
        "spec.rollout",
        "no shadow variant",
    ),
    (
        "instance metric",
        "{strategy: allAtOnce, analysis: none}",
        "{strategy: canary, analysis: {metrics: "
        "[{metric: MemoryUtilization, statistic: Average, max: 80}]}}",
        11,
        "spec.rollout",
        "publishes no instance metrics",
    ),
]


@pytest.mark.parametrize(
    ("base", "old", "new", "line", "field", "fragment"),
    [(FULL, *c[1:]) for c in REJECTIONS] + [(SERVERLESS, *c[1:]) for c in SERVERLESS_REJECTIONS],
    ids=[c[0] for c in REJECTIONS] + [f"serverless {c[0]}" for c in SERVERLESS_REJECTIONS],
)
def test_each_field_is_refused_with_its_line_and_why(
    *, base: str, old: str, new: str, line: int, field: str, fragment: str
) -> None:
    """Each field of the full declaration, and each a serverless endpoint cannot have."""
    assert_one(edit(base, old, new), line, field, fragment)


SERVERLESS_BLUE_GREEN = edit(
    SERVERLESS,
    "{strategy: allAtOnce, analysis: none}",
    "{strategy: blueGreen, analysis: {alarms: [a]}}",
)


def test_serverless_rolls_out_blue_green_with_checks() -> None:
    rollout = load_text(SERVERLESS_BLUE_GREEN, FILE).spec.rollout
    assert (rollout.strategy, rollout.analysis.alarms) == ("blueGreen", ["a"])


@pytest.mark.parametrize(
    ("analysis", "named"),
    [
        (
            "analysis: {alarms: [a], compare: {metrics: [{metric: ModelLatency}]}}",
            "analysis.compare",
        ),
        ("analysis: {alarms: [a]}, gates: [beforeFirstStep]", "gates: [beforeFirstStep]"),
    ],
)
def test_serverless_refuses_what_needs_the_stable_variant_beside_the_new_one(
    analysis: str, named: str
) -> None:
    found = problems_of(edit(SERVERLESS_BLUE_GREEN, "analysis: {alarms: [a]}", analysis))
    assert len(found) == 1, found
    assert found[0].startswith(f"{FILE}:11: spec.rollout: {named}"), found
    assert "no stable variant to compare with" in found[0]


def test_an_endpoint_needs_instances_or_serverless() -> None:
    found = problems_of(
        edit(
            SERVERLESS,
            "  serverless: {memorySizeMB: 2048, maxConcurrency: 20, provisionedConcurrency: 2}\n",
            "",
        )
    )
    assert found == [
        f"{FILE}:5: spec: declare instanceType (with instanceCount) or serverless: the endpoint "
        "needs capacity"
    ]


@pytest.mark.parametrize(
    ("shape", "member"),
    [
        ("ServerlessMemorySizeInMB", "memorySizeMB"),
        ("ProductionVariantVolumeSizeInGB", "volumeSizeGB"),
        ("SamplingPercentage", "samplingPercentage"),
    ],
)
def test_ranges_come_from_botocore(shape: str, member: str) -> None:
    """The schema's bounds are the copied shape's, not typed by hand."""
    from smgitops.declaration.schema import json_schema

    found = aws_shapes.limit(shape)
    text = str(json_schema())
    assert f"'maximum': {found.max}" in text
    assert f"'minimum': {found.min}" in text
    assert member in text


def test_declared_words_map_to_botocore_enum_values() -> None:
    """routing and capture are the declaration's words for botocore's RoutingStrategy and
    CaptureMode values: every one must exist in the model the functions ship with."""
    from smgitops.declaration import production

    assert set(production.ROUTING.values()) <= set(aws_shapes.limit("RoutingStrategy").enum)
    assert set(production.CAPTURE.values()) <= set(aws_shapes.limit("CaptureMode").enum)
