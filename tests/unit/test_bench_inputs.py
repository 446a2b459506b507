"""The benchmarks' generated declarations are valid under today's validation: a bench that
measures refusals measures nothing (bench/reconcile.py reconciles bench/validate.py's files)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.validate import ROLLOUTS, generate

from smgitops.declaration.loader import load_tree

if TYPE_CHECKING:
    from pathlib import Path


def test_every_generated_declaration_validates(tmp_path: Path) -> None:
    count = 10 * len(ROLLOUTS)  # every strategy, and every instance family, several times
    generate(tmp_path, count)
    result = load_tree(tmp_path)
    assert result.problems == []
    assert len(result.declarations) == count
