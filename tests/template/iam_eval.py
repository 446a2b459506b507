"""Does a set of Allow statements grant one request? Enough of IAM's evaluation logic
(IAM User Guide, "Policy evaluation logic" and "Condition operators") to test that the
template's least-privilege conditions hold:

- ``Action`` and ``Resource`` match with IAM's wildcards (``*`` any run, ``?`` one character),
  actions case-insensitively;
- a condition block holds when every operator holds, an operator when every key holds, a key
  when any of the policy's values matches;
- a key absent from the request fails every operator, except ``Null: "true"`` and
  ``ForAllValues:`` ones, which hold for an absent key (why ``ForAllValues`` wants a ``Null``
  check beside it);
- ``ForAllValues:`` holds when each request value matches some policy value,
  ``ForAnyValue:`` when one does.

Explicit Deny, permission boundaries and policy variables are not modelled: the template has
none.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from tests.template.iam_reference import as_list

Context = dict[str, str | list[str]]


def _like(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


OPERATORS = {
    "StringEquals": lambda value, pattern: value == pattern,
    "StringLike": _like,
    "ArnEquals": _like,
    "ArnLike": _like,
    "Bool": lambda value, pattern: value.lower() == str(pattern).lower(),
}


def _holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    if operator == "Null":
        return (key not in context) == (str(expected).lower() == "true")
    qualifier, _, base = operator.rpartition(":")
    if key not in context:
        return qualifier == "ForAllValues"
    values = [str(v) for v in as_list(context[key])]
    patterns = [str(p) for p in as_list(expected)]
    match = OPERATORS[base]
    hits = [any(match(v, p) for p in patterns) for v in values]
    return all(hits) if qualifier == "ForAllValues" else any(hits)


def allows(
    statements: list[dict[str, Any]], action: str, resource: str, context: Context | None = None
) -> bool:
    """Whether any Allow statement grants ``action`` on ``resource`` in ``context``."""
    context = context or {}
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in as_list(statement["Action"])]
        if not any(_like(action.lower(), a) for a in actions):
            continue
        if not any(_like(resource, str(r)) for r in as_list(statement.get("Resource", "*"))):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _holds(operator, key, expected, context)
            for operator, block in conditions.items()
            for key, expected in block.items()
        ):
            return True
    return False
