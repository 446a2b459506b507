"""The loader: every rejection is located as ``file:line: field: reason``.

``VALID`` is the reference declaration; each case edits one line of it (line numbers below
are those of ``VALID``) and asserts the exact file, line and field of the problem.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest

from smgitops.declaration.loader import (
    MAX_FILE_BYTES,
    load_file,
    load_paths,
    load_text,
    load_tree,
)
from smgitops.declaration.models import Strategy
from smgitops.declaration.yaml_lines import MAX_ALIAS_NODES, MAX_DEPTH
from smgitops.errors import DeclarationError

if TYPE_CHECKING:
    from pathlib import Path

VALID = """\
apiVersion: smgitops/v1
kind: Endpoint
metadata:
  name: churn-predictor
  tags: {team: risk}
spec:
  model:
    image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1
    modelDataUrl: s3://ml-models/churn/v42/model.tar.gz
    executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
    environment: {SAGEMAKER_PROGRAM: inference.py}
  instanceType: ml.m5.large
  instanceCount: 2
  rollout:
    strategy: canary
    steps: [10, 25, 50]
    interval: 5m
    analysis:
      alarms: [churn-5xx-rate]
      metrics:
        - {metric: Invocation5XXErrors, statistic: Sum, max: 5}
"""
FILE = "endpoints/churn.yaml"


def replace(line: int, text: str, source: str = VALID) -> str:
    """``source`` with its line ``line`` (1-based) replaced by ``text`` (may be several)."""
    lines = source.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def first_lines(count: int) -> str:
    return "\n".join(VALID.splitlines()[:count]) + "\n"


def insert(after: int, text: str, source: str = VALID) -> str:
    lines = source.splitlines()
    lines.insert(after, text)
    return "\n".join(lines) + "\n"


def problems_of(text: str, file: str = FILE) -> list[str]:
    with pytest.raises(DeclarationError) as caught:
        load_text(text, file)
    assert caught.value.problems, "a DeclarationError must carry its problems"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def assert_one(text: str, line: int, field: str | None, fragment: str) -> str:
    """Exactly one problem, at ``FILE:line: field:``, whose reason contains ``fragment``."""
    problems = problems_of(text)
    assert len(problems) == 1, problems
    where = f"{FILE}:{line}: " + (f"{field}: " if field else "")
    assert problems[0].startswith(where), problems[0]
    assert fragment in problems[0][len(where) :], problems[0]
    return problems[0]


def test_the_reference_declaration_is_valid() -> None:
    declaration = load_text(VALID, FILE)
    assert declaration.name == "churn-predictor"
    assert declaration.spec.rollout.steps == [10, 25, 50]
    assert declaration.spec.rollout.interval_seconds == 300
    assert declaration.spec.rollout.analysis.metrics[0].max == 5.0


def test_steps_out_of_order_read_exactly_as_the_docs_show() -> None:
    problem = assert_one(replace(16, "    steps: [10, 50, 25]"), 16, "spec.rollout.steps", "")
    assert problem.startswith(
        "endpoints/churn.yaml:16: spec.rollout.steps: steps must be strictly increasing"
    )


# ----------------------------------------------------------------- field rejections

FIELD_CASES = [
    # unknown fields, at every depth, with a hint
    ("unknown top-level", insert(2, "labels: {a: b}"), 3, "labels", "unknown field"),
    ("unknown in spec", insert(13, "  replicas: 3"), 14, "spec.replicas", "unknown field"),
    (
        "unknown in a list item",
        replace(21, "        - {metric: Invocation5XXErrors, statistic: Sum, max: 5, above: 1}"),
        21,
        "spec.rollout.analysis.metrics[0].above",
        "unknown field",
    ),
    (
        "typo",
        replace(17, "    intervall: 5m"),
        17,
        "spec.rollout.intervall",
        "did you mean 'interval'",
    ),
    # steps
    ("steps equal", replace(16, "    steps: [10, 10]"), 16, "spec.rollout.steps", "strictly"),
    ("steps down", replace(16, "    steps: [50, 25]"), 16, "spec.rollout.steps", "strictly"),
    ("step 0", replace(16, "    steps: [0, 50]"), 16, "spec.rollout.steps[0]", ">= 1"),
    ("step 100", replace(16, "    steps: [10, 100]"), 16, "spec.rollout.steps[1]", "<= 99"),
    ("step negative", replace(16, "    steps: [-5]"), 16, "spec.rollout.steps[0]", ">= 1"),
    ("steps empty", replace(16, "    steps: []"), 16, "spec.rollout.steps", "at least 1"),
    (
        "step on its own line",
        replace(16, "    steps:\n      - 10\n      - 120"),
        18,
        "spec.rollout.steps[1]",
        "<= 99",
    ),
    ("step text", replace(16, "    steps: [10, '25']"), 16, "spec.rollout.steps[1]", "whole"),
    # split
    ("split 0", insert(15, "    split: 0"), 16, "spec.rollout.split", ">= 1"),
    ("split 100", insert(15, "    split: 100"), 16, "spec.rollout.split", "<= 99"),
    # endpoint name (SageMaker's rule)
    ("name leading hyphen", replace(4, "  name: -churn"), 4, "metadata.name", "invalid endpoint"),
    ("name trailing hyphen", replace(4, "  name: churn-"), 4, "metadata.name", "invalid endpoint"),
    ("name underscore", replace(4, "  name: churn_x"), 4, "metadata.name", "invalid endpoint"),
    ("name dot", replace(4, "  name: churn.v2"), 4, "metadata.name", "invalid endpoint"),
    ("name empty", replace(4, "  name: ''"), 4, "metadata.name", "invalid endpoint"),
    ("name too long", replace(4, "  name: " + "a" * 64), 4, "metadata.name", "63"),
    ("name newline", replace(4, "  name: |\n    churn"), 4, "metadata.name", "invalid endpoint"),
    ("name number", replace(4, "  name: 42"), 4, "metadata.name", "must be a string"),
    # modelDataUrl
    (
        "https model data",
        replace(9, "    modelDataUrl: https://ml-models.s3.amazonaws.com/churn/model.tar.gz"),
        9,
        "spec.model.modelDataUrl",
        "s3://bucket/key",
    ),
    (
        "s3 without key",
        replace(9, "    modelDataUrl: s3://ml-models"),
        9,
        "spec.model.modelDataUrl",
        "s3://",
    ),
    (
        "s3 one slash",
        replace(9, "    modelDataUrl: s3:/ml/m.tar.gz"),
        9,
        "spec.model.modelDataUrl",
        "s3://",
    ),
    # role
    (
        "user instead of role",
        replace(10, "    executionRoleArn: arn:aws:iam::123456789012:user/bob"),
        10,
        "spec.model.executionRoleArn",
        "not an IAM role ARN",
    ),
    (
        "short account",
        replace(10, "    executionRoleArn: arn:aws:iam::12345:role/SageMaker"),
        10,
        "spec.model.executionRoleArn",
        "not an IAM role ARN",
    ),
    (
        "role name only",
        replace(10, "    executionRoleArn: SageMakerExecution"),
        10,
        "spec.model.executionRoleArn",
        "not an IAM role ARN",
    ),
    ("role missing", replace(10, ""), 7, "spec.model.executionRoleArn", "required"),
    # image
    (
        "image no registry",
        replace(8, "    image: xgboost:latest"),
        8,
        "spec.model.image",
        "image URI",
    ),
    (
        "image with scheme",
        replace(8, "    image: https://683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"),
        8,
        "spec.model.image",
        "image URI",
    ),
    ("image spaces", replace(8, "    image: my registry/x"), 8, "spec.model.image", "image URI"),
    (
        "image upper",
        replace(8, "    image: Registry.example.com/X"),
        8,
        "spec.model.image",
        "image URI",
    ),
    (
        "image not in ECR",
        replace(8, "    image: registry.example.com/team/model:1"),
        8,
        "spec.model.image",
        "ECR only",
    ),
    (
        "image on Docker Hub",
        replace(8, "    image: docker.io/library/xgboost:1.7"),
        8,
        "spec.model.image",
        "ECR only",
    ),
    # instance type: botocore's ProductionVariantInstanceType enum
    ("instance no ml.", replace(12, "  instanceType: m5.large"), 12, "spec.instanceType", "hosts"),
    ("instance ml.m5", replace(12, "  instanceType: ml.m5"), 12, "spec.instanceType", "hosts"),
    ("instance ec2", replace(12, "  instanceType: t3.micro"), 12, "spec.instanceType", "hosts"),
    (
        "instance unknown",
        replace(12, "  instanceType: ml.m5.huge"),
        12,
        "spec.instanceType",
        "hosts",
    ),
    (
        "instance no gpu t2",
        replace(12, "  instanceType: ml.t2.nano"),
        12,
        "spec.instanceType",
        "hosts",
    ),
    # model source
    (
        "package and image",
        insert(
            10, "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/c/1"
        ),
        7,
        "spec.model",
        "not both",
    ),
    ("no source", replace(8, "    # no image", replace(9, "")), 7, "spec.model", "give image"),
    (
        "bad package",
        replace(
            8, "    modelPackageArn: arn:aws:sagemaker:us-east-1:1:model-package/c", replace(9, "")
        ),
        8,
        "spec.model.modelPackageArn",
        "model package version ARN",
    ),
    (
        "package name with an underscore",
        replace(
            8,
            "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/c_m/42",
            replace(9, ""),
        ),
        8,
        "spec.model.modelPackageArn",
        "model package version ARN",
    ),
    (
        "package nested path",
        replace(
            8,
            "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/a/b/3",
            replace(9, ""),
        ),
        8,
        "spec.model.modelPackageArn",
        "model package version ARN",
    ),
    (
        "package version of ten digits",
        replace(
            8,
            "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:"
            "model-package/churn/1234567890",
            replace(9, ""),
        ),
        8,
        "spec.model.modelPackageArn",
        "model package version ARN",
    ),
    (
        "package name ending in a hyphen",
        replace(
            8,
            "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-/4",
            replace(9, ""),
        ),
        8,
        "spec.model.modelPackageArn",
        "model package version ARN",
    ),
    # counts, durations, types
    ("instances 0", replace(13, "  instanceCount: 0"), 13, "spec.instanceCount", ">= 1"),
    ("instances bool", replace(13, "  instanceCount: yes"), 13, "spec.instanceCount", "whole"),
    ("instances text", replace(13, "  instanceCount: '2'"), 13, "spec.instanceCount", "whole"),
    ("instances float", replace(13, "  instanceCount: 2.5"), 13, "spec.instanceCount", "whole"),
    ("interval unitless", replace(17, "    interval: 300"), 17, "spec.rollout.interval", "unit"),
    ("interval 0", replace(17, "    interval: 0s"), 17, "spec.rollout.interval", "between 1s"),
    ("interval long", replace(17, "    interval: 25h"), 17, "spec.rollout.interval", "24h"),
    ("interval words", replace(17, "    interval: soon"), 17, "spec.rollout.interval", "duration"),
    ("strategy", replace(15, "    strategy: yolo"), 15, "spec.rollout.strategy", "'canary'"),
    ("apiVersion", replace(1, "apiVersion: smgitops/v2"), 1, "apiVersion", "smgitops/v1"),
    ("kind", replace(2, "kind: Service"), 2, "kind", "Endpoint"),
    ("spec missing", first_lines(5), 1, "spec", "required field is missing"),
    ("spec a list", replace(6, "spec: []", first_lines(6)), 6, "spec", "mapping"),
    (
        "environment number",
        replace(11, "    environment: {WORKERS: 2}"),
        11,
        "spec.model.environment.WORKERS",
        "quote the value",
    ),
    (
        "environment name",
        replace(11, "    environment: {2FAST: x}"),
        11,
        "spec.model.environment",
        "environment variable name",
    ),
    ("aws tag", replace(5, "  tags: {'aws:team': risk}"), 5, "metadata.tags", "reserved"),
    ("smgitops tag", replace(5, "  tags: {'smgitops:x': y}"), 5, "metadata.tags", "smgitops"),
    ("tag value chars", replace(5, "  tags: {team: 'r!sk'}"), 5, "metadata.tags", "tag pattern"),
    ("tag key chars", replace(5, "  tags: {'te#am': risk}"), 5, "metadata.tags", "tag pattern"),
    (
        "48 tags",
        replace(5, "  tags: {" + ", ".join(f"t{n}: v" for n in range(48)) + "}"),
        5,
        "metadata.tags",
        "at most 47",
    ),
    (
        "environment over 32 KB",
        replace(
            11,
            "    environment: {" + ", ".join(f"V{n}: {'x' * 1000}" for n in range(34)) + "}",
        ),
        11,
        "spec.model.environment",
        "32 KB",
    ),
    (
        "tag key in brackets",
        replace(5, "  tags: {team.name: 7}"),
        5,
        'metadata.tags["team.name"]',
        "must be a string",
    ),
    (
        "metric period",
        replace(21, "        - {metric: ModelLatency, max: 5, period: 45}"),
        21,
        "spec.rollout.analysis.metrics[0].period",
        "multiple of 60",
    ),
    (
        "46 alarms and metrics",
        replace(19, "      alarms: [" + ", ".join(f"a{n}" for n in range(45)) + "]"),
        18,
        "spec.rollout.analysis",
        "at most 45",
    ),
    (
        "metric statistic",
        replace(21, "        - {metric: ModelLatency, max: 5, statistic: p100}"),
        21,
        "spec.rollout.analysis.metrics[0].statistic",
        "percentile p50",
    ),
    (
        "metric max missing",
        replace(21, "        - {metric: ModelLatency}"),
        21,
        "spec.rollout.analysis.metrics[0].max",
        "required",
    ),
    (
        "empty alarm",
        replace(19, "      alarms: ['']"),
        19,
        "spec.rollout.analysis.alarms[0]",
        "at least 1",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [case[1:] for case in FIELD_CASES],
    ids=[case[0] for case in FIELD_CASES],
)
def test_field_rejections_are_located(text: str, line: int, field: str, fragment: str) -> None:
    assert_one(
        text,
        line,
        field,
        fragment.replace(">= ", "greater than or equal to ").replace(
            "<= ", "less than or equal to "
        ),
    )


def test_snake_case_attribute_names_are_not_yaml_names() -> None:
    problems = problems_of(replace(12, "  instance_type: ml.m5.large"))
    assert problems == [
        f"{FILE}:12: spec.instance_type: unknown field; did you mean 'instanceType'?",
    ]


def test_every_problem_of_a_file_is_reported_not_just_the_first() -> None:
    text = replace(
        4, "  name: -bad", replace(12, "  instanceType: m5", replace(16, "    steps: [9, 8]"))
    )
    problems = problems_of(text)
    assert [p.split(": ")[0:2] for p in problems] == [
        [f"{FILE}:4", "metadata.name"],
        [f"{FILE}:12", "spec.instanceType"],
        [f"{FILE}:16", "spec.rollout.steps"],
    ]


# ----------------------------------------------------------------- YAML-level rejections


def test_duplicate_keys_are_rejected_with_both_lines() -> None:
    assert_one(
        insert(12, "  instanceType: ml.m5.xlarge"), 13, "spec.instanceType", "first at line 12"
    )


def test_duplicate_keys_in_flow_mappings_are_rejected() -> None:
    assert_one(
        replace(5, "  tags: {team: risk, team: ops}"), 5, "metadata.tags.team", "duplicate key"
    )


def test_every_duplicate_is_reported_together_with_field_problems() -> None:
    text = insert(2, "kind: Endpoint", replace(12, "  instanceType: nope"))
    problems = problems_of(text)
    assert problems[0].startswith(f"{FILE}:3: kind: duplicate key 'kind' (first at line 2)")
    assert problems[1].startswith(f"{FILE}:13: spec.instanceType: ")


BILLION_LAUGHS = "\n".join(
    [f"a0: &a0 {['lol'] * 9}".replace("'", '"')]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)


def test_a_billion_laughs_file_fails_fast() -> None:
    problem = assert_one(BILLION_LAUGHS, 4, "a3[0]", f"more than {MAX_ALIAS_NODES} nodes")
    assert "billion laughs" in problem


def test_small_aliases_and_merge_keys_are_fine() -> None:
    text = replace(5, "  tags: &tags {team: risk}", replace(11, "    environment: *tags"))
    assert load_text(text, FILE).spec.model.environment == {"team": "risk"}
    merged = insert(14, "    <<: &defaults {interval: 10m, strategy: linear}")
    rollout = load_text(merged, FILE).spec.rollout
    assert rollout.interval == "5m"  # the mapping's own key wins
    assert rollout.strategy is Strategy.CANARY


def test_a_problem_inside_an_alias_points_at_where_it_is_used() -> None:
    text = insert(5, "  x-shared: &bad {PORT: 8080}", replace(11, "    environment: *bad"))
    problems = problems_of(text)
    assert problems[0].startswith(f"{FILE}:6: metadata.x-shared: unknown field")
    assert problems[1].startswith(f"{FILE}:12: spec.model.environment.PORT: must be a string")


def test_a_problem_brought_by_a_merge_points_at_the_merge_key() -> None:
    text = insert(14, "    <<: {split: 0}")
    assert_one(text, 15, "spec.rollout.split", "greater than or equal to 1")


def test_recursive_and_undefined_aliases_are_rejected() -> None:
    assert_one("a: &x [1, *x]\n", 1, "a[1]", "recursive")
    assert_one("a: 1\nb: *nothing\n", 2, "b", "no anchor")


def test_deep_nesting_fails_without_crashing() -> None:
    # PyYAML's C composer recurses in C and segfaults on this: the loader never uses it.
    assert_one("a: " + "[" * 100_000 + "]" * 100_000, 1, None, f"deeper than {MAX_DEPTH}")
    assert_one("- " * 120_000 + "x\n", 1, None, f"deeper than {MAX_DEPTH}")


def test_non_mapping_documents_are_rejected() -> None:
    assert_one("- apiVersion: smgitops/v1\n", 1, None, "found a list")
    assert_one("just text\n", 1, None, "found a string")
    assert_one("# a comment\n---\n", 3, None, "found nothing")


def test_multiple_documents_are_rejected_where_the_second_starts() -> None:
    assert_one(VALID + "---\n" + VALID, 22, None, "a second YAML document")


def test_empty_files_are_rejected() -> None:
    assert_one("", 1, None, "file is empty")
    assert_one("# only a comment\n\n", 1, None, "file is empty")


def test_files_over_the_size_limit_are_rejected_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(VALID + "#" * MAX_FILE_BYTES)
    with pytest.raises(DeclarationError) as caught:
        load_file(big, "endpoints/big.yaml")
    assert caught.value.problems == [
        "endpoints/big.yaml:1: file is larger than 256 KiB; not a declaration"
    ]
    assert_one(VALID + "#" * MAX_FILE_BYTES, 1, None, "larger than 256 KiB")


def test_invalid_utf8_is_rejected_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(replace(5, "  tags: {team: r\u00e9seau}").encode("latin-1"))
    with pytest.raises(DeclarationError) as caught:
        load_file(path, FILE)
    assert caught.value.problems == [f"{FILE}:5: not valid UTF-8 (byte 0xe9)"]


def test_lone_surrogates_in_text_are_rejected() -> None:
    assert_one(replace(3, "metadata: \ud800"), 3, None, "not valid UTF-8")


def test_yaml_syntax_errors_are_located() -> None:
    assert_one(replace(16, "    steps: [10, 25"), 17, None, "invalid YAML")
    assert_one(replace(12, "  instanceType: ml.m5.large\n   bad: indent"), 13, None, "invalid YAML")
    assert_one(replace(7, "  model:\x07"), 7, None, "control characters")


def test_unsafe_and_unknown_tags_are_rejected() -> None:
    assert_one(replace(2, "kind: !!python/object/apply:os.system [ls]"), 2, "kind", "tag")
    assert_one(replace(2, "kind: !Ref Endpoint"), 2, "kind", "unsupported YAML tag !Ref")
    assert_one(replace(13, "  instanceCount: !!int two"), 13, "spec.instanceCount", "!!int")
    assert_one(replace(5, "  tags: !!set {team}"), 5, "metadata.tags", "!!set")


def test_keys_stay_strings_as_written() -> None:
    # PyYAML would read `on` as True and `1` as an int; tag keys are text.
    text = replace(5, "  tags: {on: 'yes', 1: two, eq: =}")
    assert load_text(text, FILE).metadata.tags == {"on": "yes", "1": "two", "eq": "="}
    text = replace(11, "    environment: {MERGE: <<}")
    assert load_text(text, FILE).spec.model.environment == {"MERGE": "<<"}
    assert_one("? [a, b]\n: c\n", 1, None, "mapping keys must be plain strings")


# ----------------------------------------------------------------- trees and duplicates


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_load_tree_reads_yaml_and_yml_recursively_sorted_relative_to_root(tmp_path: Path) -> None:
    write(tmp_path, "endpoints/team-b/fraud.yml", replace(4, "  name: fraud"))
    write(tmp_path, "endpoints/churn.yaml", VALID)
    write(tmp_path, "endpoints/README.md", "not yaml")
    write(tmp_path, "endpoints/.hidden.yaml", "junk: [")
    write(tmp_path, "endpoints/.drafts/x.yaml", "junk: [")
    write(tmp_path, "other/ignored.yaml", "junk: [")
    result = load_tree(tmp_path)
    assert result.valid, result.problems
    assert result.files == ["endpoints/churn.yaml", "endpoints/team-b/fraud.yml"]
    assert sorted(result.declarations) == ["churn-predictor", "fraud"]
    assert result.paths["fraud"] == "endpoints/team-b/fraud.yml"


def test_load_tree_collects_every_problem_in_every_file(tmp_path: Path) -> None:
    write(tmp_path, "deploy/a.yaml", replace(4, "  name: -a", replace(12, "  instanceType: x")))
    write(tmp_path, "deploy/b.yaml", "")
    write(tmp_path, "deploy/c.yaml", replace(4, "  name: fine"))
    result = load_tree(tmp_path, "deploy")
    assert [str(p).split(": ")[0] for p in result.problems] == [
        "deploy/a.yaml:4",
        "deploy/a.yaml:12",
        "deploy/b.yaml:1",
    ]
    assert list(result.declarations) == ["fine"]
    with pytest.raises(DeclarationError) as caught:
        result.raise_for_problems()
    assert len(caught.value.problems) == 3


def test_two_files_declaring_one_endpoint_are_rejected_naming_both(tmp_path: Path) -> None:
    write(tmp_path, "endpoints/a.yaml", VALID)
    write(
        tmp_path,
        "endpoints/b.yaml",
        insert(2, "# the same endpoint", replace(4, "  name: Churn-Predictor")),
    )
    result = load_tree(tmp_path)
    assert [str(p) for p in result.problems] == [
        "endpoints/b.yaml:5: metadata.name: endpoint 'Churn-Predictor' is also declared in "
        "endpoints/a.yaml"
    ]
    assert result.paths == {"churn-predictor": "endpoints/a.yaml"}


def test_a_missing_folder_is_no_declarations(tmp_path: Path) -> None:
    result = load_tree(tmp_path)
    assert result.valid
    assert result.files == []


def test_symlinks_out_of_the_repository_are_not_read(tmp_path: Path) -> None:
    secret = write(tmp_path, "outside/secret.yaml", "password: hunter2\n")
    repo = tmp_path / "repo"
    write(repo, "endpoints/churn.yaml", VALID)
    os.symlink(secret, repo / "endpoints" / "leak.yaml")
    os.symlink(repo / "endpoints" / "churn.yaml", repo / "endpoints" / "same.yaml")
    result = load_tree(repo)
    messages = [str(p) for p in result.problems]
    assert messages[0] == "endpoints/leak.yaml:1: symlink leads outside the repository; not read"
    assert "hunter2" not in "\n".join(messages)
    # a symlink inside the repository is read (and here duplicates the endpoint)
    assert messages[1].startswith("endpoints/same.yaml:4: metadata.name: endpoint")


def test_load_paths_takes_files_and_folders_and_shows_them_as_given(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", replace(4, "  name: one"))
    write(tmp_path, "more/two.yaml", replace(4, "  name: two"))
    write(tmp_path, "more/three.txt", "ignored")
    result = load_paths([one, tmp_path / "more", tmp_path / "more" / "two.yaml", one])
    assert result.files == [str(one), str(tmp_path / "more" / "two.yaml")]
    assert result.valid, result.problems  # named twice is not declared twice
    assert sorted(result.declarations) == ["one", "two"]
    with pytest.raises(FileNotFoundError):
        load_paths([tmp_path / "absent.yaml"])


def test_load_file_reports_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(DeclarationError) as caught:
        load_file(tmp_path, "endpoints")
    assert caught.value.problems == ["endpoints:1: not a regular file"]
    with pytest.raises(DeclarationError) as caught:
        load_file(tmp_path / "absent.yaml")
    assert re.match(r"^.+absent\.yaml:1: cannot read the file: ", caught.value.problems[0])


def test_windows_line_endings_and_a_byte_order_mark_keep_line_numbers() -> None:
    crlf = replace(16, "    steps: [3, 2]").replace("\n", "\r\n")
    assert problems_of("\ufeff" + crlf) == [
        f"{FILE}:16: spec.rollout.steps: steps must be strictly increasing (2 follows 3)"
    ]
    assert load_text("\ufeff" + VALID.replace("\n", "\r\n"), FILE).name == "churn-predictor"


def test_environment_values_are_never_echoed_in_problems() -> None:
    """An environment value may be a secret: the message names the variable, not its value."""
    from smgitops.declaration.loader import load_text
    from smgitops.errors import DeclarationError

    text = (
        "apiVersion: smgitops/v1\nkind: Endpoint\nmetadata: {name: e}\nspec:\n"
        "  model:\n"
        "    image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1\n"
        "    executionRoleArn: arn:aws:iam::123456789012:role/R\n"
        "    environment: {API_TOKEN: 987654321}\n"
        "  instanceType: ml.m5.large\n"
    )
    with pytest.raises(DeclarationError) as raised:
        load_text(text, "endpoints/e.yaml")
    problems = "\n".join(raised.value.problems)
    assert "endpoints/e.yaml:8: spec.model.environment.API_TOKEN" in problems
    assert "987654321" not in problems


@pytest.mark.parametrize(
    "instance_type",
    ["ml.g5.xlarge", "ml.g6.2xlarge", "ml.inf2.xlarge", "ml.p4d.24xlarge", "ml.c7g.large"],
)
def test_every_instance_type_sagemaker_hosts_is_accepted(instance_type: str) -> None:
    declaration = load_text(replace(12, f"  instanceType: {instance_type}"), FILE)
    assert declaration.spec.instance_type == instance_type


def test_tags_and_environment_at_sagemakers_limits_are_accepted() -> None:
    tags = ", ".join(f"t{n}: 'Équipe 7 _.:/=+-@'" for n in range(47))
    environment = ", ".join(f"V{n:02}: {'x' * 1000}" for n in range(32))  # 32 × 1003 < 32 KB
    text = replace(11, f"    environment: {{{environment}}}", replace(5, f"  tags: {{{tags}}}"))
    declaration = load_text(text, FILE)
    assert len(declaration.metadata.tags) == 47
    assert len(declaration.spec.model.environment) == 32


def test_a_model_package_version_arn_as_sagemaker_names_it_is_accepted() -> None:
    arn = "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/churn-model-2/123"
    text = replace(8, f"    modelPackageArn: {arn}", replace(9, ""))
    assert load_text(text, FILE).spec.model.model_package_arn == arn
