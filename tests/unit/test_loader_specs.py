"""The loader's promises the other loader tests leave open, stated as problem lists.

Folder symlinks are not followed; every problem of a file is reported; the limits hold at their
exact boundaries; YAML's composing features (merge lists, scalar anchors, alias keys) read as
PyYAML reads them. Only the public functions are used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from smgitops.declaration.loader import (
    MAX_FILE_BYTES,
    LoadResult,
    Problem,
    load_file,
    load_paths,
    load_text,
    load_tree,
)
from smgitops.declaration.models import ChecksPolicy, Declaration
from smgitops.declaration.problems import message_of
from smgitops.declaration.yaml_lines import MAX_ALIAS_NODES, MAX_DEPTH
from smgitops.errors import DeclarationError
from tests.builders import declaration_dict
from tests.unit.test_declaration_loader import FILE, VALID, insert, replace


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems_of(text: str) -> list[str]:
    with pytest.raises(DeclarationError) as caught:
        load_text(text, FILE)
    return caught.value.problems


# --- what load_tree reads ------------------------------------------------------------------


def test_a_symlinked_folder_is_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path, "elsewhere/other.yaml", replace(4, "  name: from-outside"))
    repo = tmp_path / "repo"
    write(repo, "endpoints/churn.yaml", VALID)
    os.symlink(outside.parent, repo / "endpoints" / "ext")
    result = load_tree(repo)
    assert result.files == ["endpoints/churn.yaml"]
    assert list(result.declarations) == ["churn-predictor"] and result.valid


def test_hidden_files_and_folders_and_other_suffixes_are_not_read(tmp_path: Path) -> None:
    write(tmp_path, "endpoints/a.yml", replace(4, "  name: a"))
    write(tmp_path, "endpoints/.draft.yaml", "broken: [")
    write(tmp_path, "endpoints/.git/b.yaml", "broken: [")
    write(tmp_path, "endpoints/notes.txt", "broken: [")
    write(tmp_path, "endpoints/deeper/c.yaml", replace(4, "  name: c"))
    result = load_tree(tmp_path)
    assert result.files == ["endpoints/a.yml", "endpoints/deeper/c.yaml"]
    assert result.valid and sorted(result.declarations) == ["a", "c"]
    assert result.paths == {"a": "endpoints/a.yml", "c": "endpoints/deeper/c.yaml"}


def test_a_folder_named_like_a_declaration_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "endpoints" / "odd.yaml").mkdir(parents=True)
    write(tmp_path, "endpoints/odd.yaml/real.yaml", VALID)
    result = load_tree(tmp_path)
    assert result.files == ["endpoints/odd.yaml/real.yaml"] and result.valid


def test_raise_for_problems_lists_every_problem_as_file_line_field_message(tmp_path: Path) -> None:
    write(tmp_path, "endpoints/a.yaml", replace(4, "  name: -a", replace(12, "  instanceType: x")))
    write(tmp_path, "endpoints/b.yaml", "")
    result = load_tree(tmp_path)
    assert not result.valid
    with pytest.raises(DeclarationError) as caught:
        result.raise_for_problems()
    assert caught.value.problems == [str(p) for p in result.problems]
    assert [p.split(": ")[0] for p in caught.value.problems] == [
        "endpoints/a.yaml:4",
        "endpoints/a.yaml:12",
        "endpoints/b.yaml:1",
    ]
    assert caught.value.problems[2] == "endpoints/b.yaml:1: file is empty; expected one declaration"
    LoadResult().raise_for_problems()  # nothing to raise


def test_a_problem_reads_as_file_line_field_message_and_as_a_dict() -> None:
    located = Problem("endpoints/a.yaml", 4, "metadata.name", "bad")
    assert str(located) == "endpoints/a.yaml:4: metadata.name: bad"
    assert str(Problem("endpoints/a.yaml", 1, None, "empty")) == "endpoints/a.yaml:1: empty"
    assert located.to_dict() == {
        "file": "endpoints/a.yaml",
        "line": 4,
        "field": "metadata.name",
        "message": "bad",
    }


# --- every problem of a file is reported -------------------------------------------------------


def test_a_bad_tagged_value_does_not_hide_the_problems_after_it() -> None:
    text = replace(13, "  instanceCount: !!int two", replace(16, "    steps: [50, 10]"))
    text = replace(12, "  instanceType: x", text)
    problems = problems_of(text)
    assert [p.split(": ")[0:2] for p in problems] == [
        [f"{FILE}:12", "spec.instanceType"],
        [f"{FILE}:13", "spec.instanceCount"],
        [f"{FILE}:16", "spec.rollout.steps"],
    ]
    assert problems[1] == f"{FILE}:13: spec.instanceCount: 'two' is not a valid !!int"


def test_an_unsupported_tag_on_a_mapping_reports_it_once_then_the_rest() -> None:
    text = replace(5, "  tags: !custom {team: risk}", replace(12, "  instanceType: x"))
    problems = problems_of(text)
    assert problems[0] == f"{FILE}:5: metadata.tags: unsupported YAML tag !custom"
    assert problems[1].startswith(f"{FILE}:12: spec.instanceType:")
    assert len(problems) == 2


def test_a_number_where_text_is_expected_says_to_quote_it_and_nothing_else_does() -> None:
    number = problems_of(replace(12, "  instanceType: 5"))
    assert number == [
        f"{FILE}:12: spec.instanceType: must be a string (got 5); "
        "quote the value to make it a string"
    ]
    wrong = problems_of(replace(13, "  instanceCount: lots"))
    assert "quote" not in wrong[0] and "(got 'lots')" in wrong[0]


def test_a_secret_place_never_echoes_the_value() -> None:
    problems = problems_of(replace(11, "    environment: {TOKEN: 12345}"))
    assert problems == [
        f"{FILE}:11: spec.model.environment.TOKEN: must be a string (value not shown); "
        "quote the value to make it a string"
    ]


def test_a_misspelt_field_gets_a_suggestion() -> None:
    assert problems_of(replace(13, "  instanceCont: 2")) == [
        f"{FILE}:13: spec.instanceCont: unknown field; did you mean 'instanceCount'?"
    ]


# --- limits at their exact boundaries ---------------------------------------------------------


def _nested(depth: int) -> str:
    """A declaration whose ``metadata.tags`` value opens ``depth`` levels in all."""
    inner = "[" * (depth - 3) + "]" * (depth - 3)
    return replace(5, f"  tags: {{team: {inner}}}")


def test_nesting_of_exactly_max_depth_is_read_one_more_is_refused() -> None:
    at_limit = problems_of(_nested(MAX_DEPTH))
    assert "deeper" not in at_limit[0]  # read: only the model refuses a list for a tag
    assert problems_of(_nested(MAX_DEPTH + 1)) == [
        f"{FILE}:5: nesting deeper than {MAX_DEPTH} levels"
    ]


def _aliases(anchored: str, nodes: int) -> str:
    """A file whose aliases expand to exactly ``nodes`` nodes, anchored on a list, a scalar
    value or a mapping key."""
    if anchored == "a list":
        return insert(5, f"  x-list: &l [{', '.join(['1'] * (nodes - 1))}]") + "x-use: *l\n"
    anchor = "  x-value: &a 1" if anchored == "a value" else "  x-map: {&a key: 1}"
    return insert(5, anchor) + f"x-use: [{', '.join(['*a'] * nodes)}]\n"


@pytest.mark.parametrize(
    ("anchored", "field"),
    [("a list", "x-use"), ("a value", f"x-use[{MAX_ALIAS_NODES}]"),
     ("a key", f"x-use[{MAX_ALIAS_NODES}]")],
)  # fmt: skip
def test_aliases_expanding_to_exactly_the_limit_are_read_one_more_is_refused(
    anchored: str, field: str
) -> None:
    at_limit = problems_of(_aliases(anchored, MAX_ALIAS_NODES))
    assert all("expand" not in p for p in at_limit)
    over = problems_of(_aliases(anchored, MAX_ALIAS_NODES + 1))
    assert over == [
        f"{FILE}:23: {field}: aliases expand to more than {MAX_ALIAS_NODES} nodes; a "
        "declaration never needs that many (a 'billion laughs' document?)"
    ]


def test_a_file_of_exactly_the_size_limit_is_read_one_byte_more_is_refused(tmp_path: Path) -> None:
    padded = VALID + "#" * (MAX_FILE_BYTES - len(VALID) - 1) + "\n"
    assert len(padded.encode()) == MAX_FILE_BYTES
    at_limit = write(tmp_path, "at.yaml", padded)
    assert load_file(at_limit, FILE).name == "churn-predictor"
    over = write(tmp_path, "over.yaml", "#" + padded)
    with pytest.raises(DeclarationError) as caught:
        load_file(over, FILE)
    assert caught.value.problems == [f"{FILE}:1: file is larger than 256 KiB; not a declaration"]
    assert load_text(padded, FILE).name == "churn-predictor"


def test_a_huge_file_is_refused_after_reading_at_most_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: 64 MiB on paper, nothing on disk
        handle.truncate(64 * 1024**2)
    read: list[int] = []
    real_open = Path.open

    def counting_open(self: Path, *args: object, **kwargs: object) -> object:
        handle = real_open(self, *args, **kwargs)  # type: ignore[arg-type]
        real_read = handle.read

        def read_some(size: int = -1) -> object:
            data = real_read(size)
            read.append(len(data))
            return data

        handle.read = read_some  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr(Path, "open", counting_open)
    with pytest.raises(DeclarationError) as caught:
        load_file(huge, FILE)
    assert caught.value.problems == [f"{FILE}:1: file is larger than 256 KiB; not a declaration"]
    assert sum(read) == MAX_FILE_BYTES + 1


# --- composing as PyYAML does ---------------------------------------------------------------


def test_a_merge_of_a_list_of_mappings_takes_the_first_source_that_has_a_key() -> None:
    text = replace(
        17, "    <<: [{interval: 10m, strategy: linear}, {interval: 1h, maxFailedChecks: 3}]"
    )
    rollout = load_text(text, FILE).spec.rollout
    assert rollout.interval == "10m"  # the first source that has it
    assert rollout.max_failed_checks == 3  # only the second has it
    assert rollout.strategy.value == "canary"  # the mapping's own key wins


def test_a_merge_of_something_else_than_mappings_is_a_problem() -> None:
    for merged in ("[{steps: [5]}, 7]", "7"):
        assert problems_of(replace(17, f"    <<: {merged}")) == [
            f'{FILE}:17: spec.rollout["<<"]: << merges a mapping or a list of mappings'
        ]


def test_an_alias_to_a_scalar_reads_the_scalar() -> None:
    declared = load_text(replace(5, "  tags: {team: &t risk, owner: *t}"), FILE)
    assert declared.metadata.tags == {"team": "risk", "owner": "risk"}


def test_an_alias_as_a_mapping_key_reads_the_anchored_text() -> None:
    text = replace(4, "  name: &n churn-predictor", replace(5, "  tags: {*n : x}"))
    assert load_text(text, FILE).metadata.tags == {"churn-predictor": "x"}


def test_an_alias_key_duplicating_a_key_is_reported_with_both_lines() -> None:
    text = replace(5, "  tags:\n    &k team: risk\n    other: x\n    *k : again")
    assert problems_of(text) == [
        f"{FILE}:8: metadata.tags.team: duplicate key 'team' (first at line 6)"
    ]


def test_an_alias_to_a_mapping_is_not_a_key() -> None:
    text = replace(5, "  tags: &m {team: risk}\n  x: {*m : 1}")
    assert problems_of(text) == [f"{FILE}:6: metadata.x: mapping keys must be plain strings"]


@pytest.mark.parametrize(
    ("tags", "problem"),
    [("  tags: {team: &a risk, owner: &a ops}", "5: anchor &a is defined twice (first at line 5)"),
     ("  tags:\n    &a team: risk\n    owner: &a ops",
      "7: anchor &a is defined twice (first at line 6)")],
    ids=["on values", "first on a key"],
)  # fmt: skip
def test_an_anchor_defined_twice_is_reported_with_its_first_line(tags: str, problem: str) -> None:
    assert problems_of(replace(5, tags)) == [f"{FILE}:{problem}"]


# --- what a problem says, and where ------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "found"),
    [("42", "a number"), ("1.5", "a number"), ("true", "a boolean"), ("2026-12-02", "a date"),
     ("[a]", "a list"), ("text", "a string")],
)  # fmt: skip
def test_a_document_that_is_not_a_mapping_says_what_it_is(document: str, found: str) -> None:
    assert problems_of(f"{document}\n") == [
        f"{FILE}:1: a declaration is a mapping (apiVersion, kind, metadata, spec); found {found}"
    ]


def test_a_lone_surrogate_is_located_on_its_line() -> None:
    assert problems_of("\n\ud800") == [f"{FILE}:2: not valid UTF-8 (a lone surrogate)"]


def test_a_control_character_is_located_on_its_line() -> None:
    assert problems_of("\n\x07") == [
        f"{FILE}:2: invalid YAML: control characters are not allowed (character 7)"
    ]


def test_a_bad_byte_after_an_empty_first_line_is_located_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"\nname: r\xe9seau\n")
    with pytest.raises(DeclarationError) as caught:
        load_file(path, FILE)
    assert caught.value.problems == [f"{FILE}:2: not valid UTF-8 (byte 0xe9)"]


def test_a_yaml_mistake_libyaml_gives_no_context_for_reads_as_libyaml_words_alone() -> None:
    assert problems_of(replace(16, "    steps: - 10")) == [
        f"{FILE}:16: invalid YAML: block sequence entries are not allowed in this context"
    ]


def test_a_tab_indenting_the_first_line_is_named() -> None:
    assert problems_of("\tapiVersion: smgitops/v1\n") == [
        f"{FILE}:1: invalid YAML: this line is indented with a tab; YAML indents with spaces"
    ]


def test_a_tab_inside_a_line_is_not_taken_for_indentation() -> None:
    (problem,) = problems_of(replace(4, "  name: a\tb: c"))
    assert problem.startswith(f"{FILE}:4: invalid YAML: a 'key: value' where none can be")


def test_a_yaml_error_names_what_was_being_read_and_where_it_began() -> None:
    assert problems_of(replace(5, "  tags: {a: 1 b: 2}")) == [
        f"{FILE}:5: invalid YAML: did not find expected ',' or '}}', "
        "while parsing a flow mapping at line 5"
    ]
    assert problems_of(replace(5, "  tags: [a, b")) == [
        f"{FILE}:6: invalid YAML: did not find expected ',' or ']', "
        "while parsing a flow sequence at line 5"
    ]


def test_a_misspelt_field_inside_an_optional_section_gets_a_suggestion() -> None:
    text = replace(15, "    strategy: canary\n    validation: {requets: []}")
    assert (
        f"{FILE}:16: spec.rollout.validation.requets: unknown field; did you mean 'requests'?"
        in (problems_of(text))
    )


def test_an_aliased_list_item_is_located_on_the_aliases_line() -> None:
    text = replace(15, "    strategy: &s canary", replace(16, "    steps:\n      - 10\n      - *s"))
    assert problems_of(text) == [
        f"{FILE}:18: spec.rollout.steps[1]: must be a whole number (got 'canary')"
    ]


def test_an_alias_key_naming_a_quoted_merge_key_is_a_plain_key_not_a_merge() -> None:
    """As PyYAML: only a plain ``<<`` merges; an alias to the text "<<" is that text."""
    tag = "metadata.tags: tag 'team': '<<' may hold only letters"
    merged = problems_of(replace(5, '  tags: {team: &k "<<"}\n  <<: {name: other}'))
    assert len(merged) == 1 and merged[0].startswith(f"{FILE}:5: {tag}")
    aliased = problems_of(replace(5, '  tags: {team: &k "<<"}\n  *k : {name: other}'))
    assert aliased[1:] == [f'{FILE}:6: metadata["<<"]: unknown field; expected one of: name, tags']


# --- what load_file, load_paths and load_tree report ------------------------------------------


def test_load_file_names_the_file_as_it_was_given(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "42\n")
    with pytest.raises(DeclarationError) as caught:
        load_file(path, "shown/as.yaml")
    assert caught.value.problems[0].startswith("shown/as.yaml:1: ")


def test_load_paths_names_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.yaml"):
        load_paths([tmp_path / "missing.yaml"])


def test_a_broken_symlink_says_the_file_cannot_be_read(tmp_path: Path) -> None:
    write(tmp_path, "endpoints/ok.yaml", VALID)
    os.symlink(tmp_path / "endpoints" / "gone.yaml", tmp_path / "endpoints" / "broken.yaml")
    result = load_tree(tmp_path)
    assert [str(p) for p in result.problems] == [
        "endpoints/broken.yaml:1: cannot read the file: No such file or directory"
    ]


def test_a_symlink_loop_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "endpoints").mkdir()
    os.symlink(tmp_path / "endpoints" / "loop.yaml", tmp_path / "endpoints" / "loop.yaml")
    result = load_tree(tmp_path)
    assert [str(p) for p in result.problems] == [
        "endpoints/loop.yaml:1: symlink leads outside the repository; not read"
    ]


def test_files_are_read_in_path_order_so_the_first_declaration_of_a_name_wins(
    tmp_path: Path,
) -> None:
    """``a-b/`` sorts before ``a/`` as text ('-' < '/'): the order shown everywhere."""
    write(tmp_path, "endpoints/a/x.yaml", VALID)
    write(tmp_path, "endpoints/a-b/x.yaml", VALID)
    result = load_tree(tmp_path)
    assert result.files == ["endpoints/a-b/x.yaml", "endpoints/a/x.yaml"]
    assert result.paths == {"churn-predictor": "endpoints/a-b/x.yaml"}
    assert [str(p) for p in result.problems] == [
        "endpoints/a/x.yaml:4: metadata.name: endpoint 'churn-predictor' is also declared in "
        "endpoints/a-b/x.yaml"
    ]


def test_a_duplicate_endpoint_does_not_stop_the_files_after_it(tmp_path: Path) -> None:
    write(tmp_path, "endpoints/a.yaml", VALID)
    write(tmp_path, "endpoints/b.yaml", VALID)
    write(tmp_path, "endpoints/c.yaml", replace(4, "  name: other"))
    result = load_tree(tmp_path)
    assert sorted(result.declarations) == ["churn-predictor", "other"]
    assert result.paths["other"] == "endpoints/c.yaml"
    assert len(result.problems) == 1 and "also declared in endpoints/a.yaml" in str(
        result.problems[0]
    )


# --- the wording of pydantic's errors --------------------------------------------------------


def test_a_misspelt_field_of_a_list_item_gets_a_suggestion() -> None:
    text = replace(
        21, "        - {metric: Invocation5XXErrors, statistic: Sum, max: 5, statstic: x}"
    )
    assert problems_of(text) == [
        f"{FILE}:21: spec.rollout.analysis.metrics[0].statstic: unknown field; "
        "did you mean 'statistic'?"
    ]


def test_an_unknown_field_of_a_section_named_in_camel_case_lists_that_sections_fields() -> None:
    capture = "{destination: s3://captures, samplingPercentage: 5, samplng: 5}"
    text = replace(13, f"  instanceCount: 2\n  dataCapture: {capture}")
    assert problems_of(text) == [
        f"{FILE}:14: spec.dataCapture.samplng: unknown field; expected one of: destination, "
        "samplingPercentage, capture, kmsKeyId"
    ]


def test_an_unknown_field_where_no_section_is_known_says_only_that() -> None:
    error: Any = {"type": "extra_forbidden", "loc": ("nowhere", "x"), "msg": "", "input": 1}
    assert message_of(error) == "unknown field"


def _aliased_fields() -> list[tuple[str, str]]:
    """(snake_case name, YAML name) of every field a declaration spells in camelCase."""
    found: dict[str, str] = {}
    models: list[type[BaseModel]] = [Declaration]
    for model in models:  # grows while walked: each model once
        for name, info in model.model_fields.items():
            if info.alias and info.alias != name:
                found[name] = info.alias
            for inner in (info.annotation, *get_args(info.annotation)):
                for candidate in (inner, *get_args(inner)):
                    if (
                        isinstance(candidate, type)
                        and issubclass(candidate, BaseModel)
                        and candidate not in models
                    ):
                        models.append(candidate)
    return sorted(found.items())


def test_every_camel_case_field_spelt_in_snake_case_gets_its_name_suggested() -> None:
    fields = _aliased_fields()
    assert ("instance_count", "instanceCount") in fields and len(fields) > 10
    for snake, camel in fields:
        error: Any = {"type": "extra_forbidden", "loc": _loc_of(camel), "msg": "", "input": 1}
        error["loc"] = (*error["loc"][:-1], snake)
        assert message_of(error) == f"unknown field; did you mean {camel!r}?", snake


def _loc_of(alias: str) -> tuple[str | int, ...]:
    """The location of the first field spelt ``alias`` in the declaration's schema."""
    queue: list[tuple[type[BaseModel], tuple[str | int, ...]]] = [(Declaration, ())]
    for model, path in queue:  # breadth first, each model once
        for name, info in model.model_fields.items():
            here = (*path, info.alias or name)
            if (info.alias or name) == alias:
                return here
            for inner in (info.annotation, *get_args(info.annotation)):
                item = get_args(inner)[0] if get_origin(inner) is list else inner
                where = (*here, 0) if item is not inner else here
                known = any(item is seen for seen, _ in queue)
                if isinstance(item, type) and issubclass(item, BaseModel) and not known:
                    queue.append((item, where))
    raise AssertionError(alias)


@pytest.mark.parametrize(
    ("line", "text", "problem"),
    [
        (4, "  name: " + "a" * 70,
         "metadata.name: must have at most 63 characters (got a long string)"),
        (17, "    steps: [10, 25, 50]\n    gates: [beforeFirstStep, beforePromotion, x]",
         "spec.rollout.gates: must have at most 2 items after validation, not 3"),
        (5, "  tags: {" + ", ".join(f"k{i}: v" for i in range(48)) + "}",
         "metadata.tags: must have at most 47 items after validation, not more"),
    ],
)  # fmt: skip
def test_a_limit_reads_must_not_should(line: int, text: str, problem: str) -> None:
    assert problems_of(replace(line if line != 17 else 16, text)) == [f"{FILE}:{line}: {problem}"]


@pytest.mark.parametrize(
    ("line", "text", "problem"),
    [
        (11, "    environment: [a]", "spec.model.environment: must be a mapping (value not shown)"),
        (12, "  instanceType: [x]", "spec.instanceType: must be a string"),
        (13, "  instanceCount: 1.5", "spec.instanceCount: must be a whole number (got 1.5)"),
        (15, "    strategy: " + "c" * 60,
         "spec.rollout.strategy: must be 'canary', 'linear', 'blueGreen', 'allAtOnce', 'abTest' "
         f"or 'shadow' (got '{'c' * 60}')"),
        (15, "    strategy: " + "c" * 61,
         "spec.rollout.strategy: must be 'canary', 'linear', 'blueGreen', 'allAtOnce', 'abTest' "
         "or 'shadow' (got a long string)"),
    ],
)  # fmt: skip
def test_the_value_is_shown_only_when_it_is_short_text_or_a_number_and_not_a_secret(
    line: int, text: str, problem: str
) -> None:
    assert problems_of(replace(line, text)) == [f"{FILE}:{line}: {problem}"]


def test_a_bad_tagged_value_of_a_duplicate_key_is_located_at_its_mapping() -> None:
    assert problems_of(replace(5, "  tags: {team: risk, team: !!int x}")) == [
        f"{FILE}:5: metadata.tags.team: duplicate key 'team' (first at line 5)",
        f"{FILE}:5: metadata.tags: 'x' is not a valid !!int",
    ]


def test_a_problem_inside_a_duplicate_keys_mapping_is_located_under_that_key() -> None:
    """Not under ``["<<"]``, the merge key's name, which the file does not hold."""
    text = replace(5, "  tags:\n    team: risk\n    team:\n      x: !!binary abc")
    assert problems_of(text) == [
        f"{FILE}:7: metadata.tags.team: duplicate key 'team' (first at line 6)",
        f"{FILE}:8: metadata.tags.team.x: unsupported YAML tag !!binary",
    ]
    listed = replace(5, "  tags: {team: risk, team: [1, !!binary x]}")
    inside = f"{FILE}:5: metadata.tags.team[1]: unsupported YAML tag !!binary"
    assert problems_of(listed)[1] == inside


def test_an_anchored_mapping_defined_twice_names_the_first_line() -> None:
    problems = problems_of(replace(5, "  tags: &t {team: risk}\n  x: &t {a: b}"))
    assert problems[0] == f"{FILE}:6: anchor &t is defined twice (first at line 5)"


def test_the_non_specific_tag_reads_a_plain_value_as_text() -> None:
    assert load_text(replace(5, "  tags: {team: ! 42}"), FILE).metadata.tags == {"team": "42"}


# --- the operator's checks policy, and where the role is declared ------------------------------


def _entry_points(tmp_path: Path, text: str, checks: ChecksPolicy) -> dict[str, list[str]]:
    """The problems each way of loading finds in ``text`` under ``checks``."""
    path = write(tmp_path, "endpoints/churn.yaml", text)
    found: dict[str, list[str]] = {}
    for name, load in {
        "load_text": lambda: load_text(text, FILE, checks=checks),
        "load_file": lambda: load_file(path, FILE, checks=checks),
    }.items():
        try:
            load()
            found[name] = []
        except DeclarationError as exc:
            found[name] = exc.problems
    found["load_tree"] = [str(p) for p in load_tree(tmp_path, checks=checks).problems]
    found["load_paths"] = [
        str(p).replace(str(path), FILE) for p in load_paths([path], checks=checks).problems
    ]
    return found


EVERY_WAY = ("load_text", "load_file", "load_tree", "load_paths")


def test_the_operators_checks_policy_reaches_every_way_of_loading(tmp_path: Path) -> None:
    refused = (
        f"{FILE}:15: spec.rollout: canary shifts user traffic with no check, and this "
        "repository requires one (checks: required; analysis: none is not enough): declare "
        "analysis.alarms, analysis.metrics, analysis.compare or validation"
    )
    text = yaml.safe_dump(declaration_dict())  # analysis: none
    assert _entry_points(tmp_path, text, ChecksPolicy.REQUIRED) == {
        way: [refused] for way in EVERY_WAY
    }
    silent = declaration_dict()
    del silent["spec"]["rollout"]["analysis"]  # no check, not even analysis: none
    found = _entry_points(tmp_path, yaml.safe_dump(silent), ChecksPolicy.OPTIONAL)
    assert found == {way: [] for way in EVERY_WAY}


def test_the_line_of_each_declarations_role_is_known(tmp_path: Path) -> None:
    write(tmp_path, "endpoints/churn.yaml", VALID)
    result = load_tree(tmp_path)
    role_line = 1 + VALID.splitlines().index(
        next(line for line in VALID.splitlines() if "executionRoleArn" in line)
    )
    assert result.role_lines == {"churn-predictor": role_line}


def test_an_unknown_field_inside_a_list_item_is_named_with_the_closest_field() -> None:
    text = yaml.safe_dump(
        declaration_dict(analysis={"metrics": [{"metrik": "ModelLatency", "max": 1}]})
    )
    assert problems_of(text) == [
        f"{FILE}:18: spec.rollout.analysis.metrics[0].metric: required field is missing",
        f"{FILE}:19: spec.rollout.analysis.metrics[0].metrik: unknown field; did you mean "
        "'metric'?",
    ]


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (VALID + "---\napiVersion: x\n",
         [f"{FILE}:22: a second YAML document starts here; a file holds exactly one declaration"]),
        (VALID.replace("metadata:\n", "metadata:\n  ? [a, b]\n  : 1\n", 1),
         [f"{FILE}:4: metadata: mapping keys must be plain strings"]),
        (VALID.replace("metadata:\n", "metadata: !!seq\n", 1),
         [f"{FILE}:3: metadata: unsupported YAML tag !!seq"]),
        ("\n\nhello\n",
         [f"{FILE}:3: a declaration is a mapping (apiVersion, kind, metadata, spec); found a "
          "string"]),
    ],
    ids=["a second document", "a key that is a list", "a mapping tagged as a list", "a scalar"],
)  # fmt: skip
def test_yaml_a_declaration_cannot_be_is_refused_where_it_is(
    text: str, problems: list[str]
) -> None:
    assert problems_of(text) == problems


@pytest.mark.parametrize(
    ("line", "tagged"),
    [(3, "metadata: !!map"), (3, "metadata: !"), (16, "    steps: !!seq [10, 25, 50]"),
     (16, "    steps: ! [10, 25, 50]")],
)  # fmt: skip
def test_a_mapping_or_a_list_tagged_as_what_it_is_is_read_as_it(line: int, tagged: str) -> None:
    assert load_text(replace(line, tagged), FILE) == load_text(VALID, FILE)


def test_a_problem_inside_a_merged_mapping_is_named_under_the_merge_key() -> None:
    assert problems_of(replace(4, "  <<: !!set {name: churn-predictor}")) == [
        f'{FILE}:4: metadata["<<"]: unsupported YAML tag !!set'
    ]


def test_a_name_and_a_role_merged_in_are_located_where_they_are_merged(tmp_path: Path) -> None:
    lines = VALID.splitlines()
    name = "<<: {metadata: {name: churn-predictor, tags: {team: risk}}}"
    write(tmp_path, "endpoints/a.yaml", VALID)
    write(tmp_path, "endpoints/b.yaml", "\n".join([*lines[:2], name, *lines[5:]]) + "\n")
    model = "  <<: {model: {" + ", ".join(line.strip() for line in lines[7:11]) + "}}"
    other = [*lines[:3], "  name: other", *lines[4:6], model, *lines[11:]]
    write(tmp_path, "endpoints/c.yaml", "\n".join(other) + "\n")
    result = load_tree(tmp_path)
    assert [str(problem) for problem in result.problems] == [
        "endpoints/b.yaml:3: metadata.name: endpoint 'churn-predictor' is also declared in "
        "endpoints/a.yaml"
    ]
    assert result.role_lines == {"churn-predictor": 10, "other": 7}
