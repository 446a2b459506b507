"""Per-repository execution roles (``SMGITOPS_EXECUTION_ROLE_PATH``, docs/deploy.md "Many teams,
one deployment"): with the path set, a declaration's ``executionRoleArn`` must be a role of the
deployment's account and partition under ``<path><host>/<repository path>/`` or a parent of
it below ``<path>`` — the same rule IAM enforces on ``iam:PassRole``, reported at validation
with the file instead of failing at ``CreateModel``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

    from smgitops.declaration.models import Declaration

FIELD = "spec.model.executionRoleArn"


def repository_folder(role_path: str, identity: str) -> str:
    """``/smgitops/github.com/acme/fraud-models/`` for ``https://github.com/acme/fraud-models``."""
    if "://" in identity:
        parts = urlsplit(identity)
        tail = f"{parts.netloc.lower()}{parts.path}"
    else:  # the local runtime: a path
        tail = identity
    return "/" + "/".join(p for p in (role_path + "/" + tail).split("/") if p) + "/"


def deployment_of(arn: str) -> tuple[str, str]:
    """(partition, account) of any ARN of the deployment (the state machine's)."""
    parts = arn.split(":")
    return (parts[1], parts[4]) if len(parts) > 5 else ("", "")


def role_problems(
    declarations: Mapping[str, Declaration],
    paths: Mapping[str, str],
    *,
    identity: str,
    role_path: str,
    deployment_arn: str,
    lines: Mapping[str, int] | None = None,
) -> list[str]:
    """``file:line: spec.model.executionRoleArn: reason`` for every role the repository may not
    pass (``lines``: the field's line by endpoint, else 1); nothing when ``role_path`` is empty
    (the check is off)."""
    if not role_path.strip("/"):
        return []
    base = "/" + role_path.strip("/") + "/"
    own = repository_folder(role_path, identity)
    partition, account = deployment_of(deployment_arn)
    problems = []
    for name, declaration in sorted(declarations.items()):
        arn = declaration.spec.model.execution_role_arn
        if not arn:
            continue
        fields = arn.split(":", 5)
        resource = fields[5] if len(fields) == 6 else ""
        folder = resource.removeprefix("role")[: resource.removeprefix("role").rfind("/") + 1]
        where = f"{paths.get(name, name)}:{(lines or {}).get(name, 1)}: {FIELD}"
        if (partition and fields[1] != partition) or (account and fields[4] != account):
            problems.append(f"{where}: role {arn} is not in this deployment's account {account}")
        elif not (folder.startswith(base) and own.startswith(folder)):
            problems.append(f"{where}: role {arn} is not under {own} (or a parent below {base})")
    return problems
