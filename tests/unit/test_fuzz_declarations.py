"""Fuzz: the repository tree the reconciler loads, at the byte level.

test_declaration_property.py mutates one declaration's text; here whole folders are generated:
several files with random names, raw bytes (invalid UTF-8, NUL, byte order marks, CR), valid
declarations corrupted byte-wise, and endpoints declared twice. ``load_tree`` must never raise,
every problem must name a file it read and a line inside it, and every declaration it returns
must come from one file that declares it alone. ``HYPOTHESIS_PROFILE=nightly``: 10,000 cases.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smgitops.declaration.loader import load_tree
from smgitops.declaration.models import Declaration
from tests.builders import declaration_dict

PROBLEM = re.compile(r"^(?P<file>endpoints/[^:]+):(?P<line>\d+): \S")
NAMES = ["churn-predictor", "fraud-scorer", "ltv-model"]
JUNK = [b"\x00", b"\xff", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\t", b"&a ", b"*a", b"<<: ", b"---\n"]


@st.composite
def contents(draw: st.DrawFn) -> bytes:
    """A valid declaration (maybe corrupted byte-wise) or raw bytes."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=400))
    document = declaration_dict(
        draw(st.sampled_from(NAMES)),
        version=draw(st.integers(1, 3)),
        strategy=draw(st.sampled_from(["canary", "linear", "blueGreen", "allAtOnce"])),
    )
    data = yaml.safe_dump(document, sort_keys=draw(st.booleans())).encode()
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "cut", "flip"]))
        if edit == "insert":
            data = data[:at] + draw(st.sampled_from(JUNK) | st.binary(max_size=4)) + data[at:]
        elif edit == "cut":
            data = data[:at] + data[at + draw(st.integers(1, 30)) :]
        elif at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    return data


file_names = st.from_regex(r"[a-z0-9][a-z0-9_.\-]{0,15}\.(yaml|yml)", fullmatch=True)
trees = st.dictionaries(
    st.tuples(st.sampled_from(["", "team-a/", "team-b/deep/"]), file_names).map("".join),
    contents(),
    min_size=1,
    max_size=5,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees)
def test_load_tree_never_raises_and_locates_every_problem(tree: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="smgitops-fuzz-") as tmp:
        root = Path(tmp)
        for name, data in tree.items():
            path = root / "endpoints" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        result = load_tree(root)
    files = {f"endpoints/{name}": data for name, data in tree.items()}
    assert sorted(result.files) == sorted(files)
    assert result.valid == (not result.problems)
    for problem in result.problems:
        match = PROBLEM.match(str(problem))
        assert match, problem
        data = files[match["file"]]
        lines = data.count(b"\n") + data.count(b"\r") + 2
        assert 1 <= int(match["line"]) <= lines, (problem, data)
    for name, declaration in result.declarations.items():
        assert _oracle(files[result.paths[name]]) == declaration  # what its one file says
    if result.valid:  # then every file is a declaration, each endpoint declared once
        names = [_oracle(data) for data in files.values()]
        assert None not in names
        assert len({d.name for d in names if d}) == len(files) == len(result.declarations)


def _oracle(data: bytes) -> Declaration | None:
    """A plain reading of the file: libyaml (as the loader), then the model (None on failure)."""
    try:
        document = yaml.load(data.decode("utf-8-sig"), Loader=yaml.CSafeLoader)
        return Declaration.model_validate(document)
    except Exception:
        return None
