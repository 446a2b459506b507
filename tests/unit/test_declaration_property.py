"""Property: no mutation of a valid declaration crashes the loader.

Whatever the edit (keys deleted, values of another type, junk inserted, raw text cut,
duplicated or garbled), the loader returns a declaration or raises ``DeclarationError``
whose every problem is located: ``file:line: ...`` with a line inside the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smgitops.declaration.loader import load_text
from smgitops.errors import DeclarationError
from tests.unit.test_declaration_loader import VALID

FILE = "endpoints/mutant.yaml"
LOCATED = re.compile(r"^endpoints/mutant\.yaml:(?P<line>\d+): \S")
EXAMPLES = [VALID] + [
    path.read_text()
    for path in sorted((Path(__file__).resolve().parents[2] / "examples" / "endpoints").glob("*"))
]
DOCUMENTS = [yaml.safe_load(text) for text in EXAMPLES]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["canary", "5m", "ml.m5.large", "s3://b/k", "-", "", "~", "<<"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def check(text: str) -> None:
    try:
        load_text(text, FILE)
    except DeclarationError as error:
        assert error.problems
        lines = max(text.count("\n"), 0) + 2
        for problem in error.problems:
            match = LOCATED.match(problem)
            assert match, problem
            assert 1 <= int(match["line"]) <= lines, problem


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(paths(value, (*prefix, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(paths(value, (*prefix, index)))
    return found


def mutate(document: Any, path: tuple[Any, ...], action: str, junk: Any, key: str) -> Any:
    if not path:
        return junk if action == "replace" else document
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        copy: Any = dict(document)
    else:
        copy = list(document)
    if rest:
        copy[head] = mutate(document[head], rest, action, junk, key)
    elif action == "delete":
        del copy[head]
    elif action == "replace":
        copy[head] = junk
    elif isinstance(copy, dict):
        copy[key] = junk
    else:
        copy.insert(head, junk)
    return copy


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_structural_mutations_never_crash(data: st.DataObject) -> None:
    document = data.draw(st.sampled_from(DOCUMENTS))
    path = data.draw(st.sampled_from(paths(document)))
    action = data.draw(st.sampled_from(["delete", "replace", "insert"]))
    if action == "delete" and not path:
        action = "replace"
    mutant = mutate(document, path, action, data.draw(values), data.draw(st.text(max_size=12)))
    style = data.draw(st.sampled_from([False, True, None]))
    check(yaml.safe_dump(mutant, default_flow_style=style, allow_unicode=data.draw(st.booleans())))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_text_mutations_never_crash(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(EXAMPLES))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        start = data.draw(st.integers(min_value=0, max_value=len(text)))
        end = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 40)))
        edit = data.draw(
            st.sampled_from(["delete", "insert", "duplicate", "replace", "indent", "yaml"])
        )
        if edit == "delete":
            text = text[:start] + text[end:]
        elif edit == "insert":
            text = text[:start] + data.draw(st.text(max_size=20)) + text[start:]
        elif edit == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        elif edit == "replace":
            text = text[:start] + data.draw(st.text(max_size=5)) + text[end:]
        elif edit == "indent":
            text = text[:start] + " " * data.draw(st.integers(1, 4)) + text[start:]
        else:
            token = data.draw(
                st.sampled_from(
                    [
                        "&a ",
                        "*a",
                        "<<: ",
                        "---\n",
                        "!!",
                        "!x ",
                        "? ",
                        "- ",
                        "{",
                        "]",
                        ": ",
                        "#",
                        "'",
                        '"',
                        "|\n",
                        ">-\n",
                        "\t",
                        "\x00",
                        "\ufeff",
                    ]
                )
            )
            text = text[:start] + token + text[start:]
    check(text)
