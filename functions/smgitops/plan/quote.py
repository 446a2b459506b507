"""How a plan quotes what it shows: as it is (text), or as a Markdown code span (:func:`code`,
:func:`cell`) so that a name, a path or a value shows as written in a pull-request comment."""

from __future__ import annotations

import re


def as_is(text: str) -> str:
    """Plain text: ``text`` unchanged (the quote of the text renderers)."""
    return text


def code(text: str, *, in_table: bool = False) -> str:
    """``text`` as a Markdown code span: whatever it holds (backticks, ``@mentions``, HTML)
    shows as written. ``in_table``: also escape ``|`` for a table cell."""
    text = " ".join(str(text).split())
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span


def cell(text: str) -> str:
    """:func:`code` for a table cell."""
    return code(text, in_table=True)
