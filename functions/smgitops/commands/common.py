"""Options and output helpers shared by the operator commands."""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any

from smgitops.declaration.models import OPERATOR_CHECKS, ChecksPolicy
from smgitops.errors import ConfigurationError

if TYPE_CHECKING:
    import argparse

    from pydantic import BaseModel

    from smgitops.rollout.service import RolloutService
    from smgitops.rollout.status import HistoryRecord, RolloutStatus

DEFAULT_TABLE = "smgitops"

# One table of exit codes for every command (docs/cli.md).
OK = 0  # done; the thing checked is good
FAILED = 1  # the thing checked is bad: invalid declarations, a rollout that did not succeed
USAGE = 2  # the command line is wrong
TIMEOUT = 3  # `wait` gave up before the rollout ended
UNREACHABLE = 4  # AWS (or the local emulator) cannot be reached, or no credentials


def require_git() -> None:
    """Refuse up front, in one line, a command that reads repositories with git (GitPython) on a
    machine without the ``git`` executable: not a stack trace, not a ``local up`` that says ready
    and then never reconciles a push."""
    executable = os.environ.get("GIT_PYTHON_GIT_EXECUTABLE") or "git"
    if shutil.which(executable) is None:
        raise ConfigurationError(
            "needs the git executable, which is not on the PATH: install git, or name it in "
            "$GIT_PYTHON_GIT_EXECUTABLE"
        )


def add_aws_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    parser.add_argument(
        "--table",
        default=os.environ.get("SMGITOPS_TABLE", DEFAULT_TABLE),
        help="status table (default: $SMGITOPS_TABLE or 'smgitops')",
    )
    parser.add_argument(
        "--aws",
        metavar="URL",
        default=None,
        help="AWS endpoint URL, e.g. the local runtime's (default: $AWS_ENDPOINT_URL or AWS)",
    )
    if output:
        parser.add_argument("--output", choices=["text", "json"], default="text")


def aws_from(args: argparse.Namespace) -> None:
    """Point the AWS clients at --aws (the local runtime's emulator) when it is given."""
    from smgitops.aws import clients  # noqa: PLC0415

    if args.aws:
        os.environ["AWS_ENDPOINT_URL"] = args.aws
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
            os.environ.setdefault(name, value)
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        clients.reset()


def service_from(args: argparse.Namespace) -> RolloutService:
    """The rollout service against AWS, or the emulator given by --aws."""
    from smgitops.wiring import operator  # noqa: PLC0415

    aws_from(args)
    arn = os.environ.get("SMGITOPS_STATE_MACHINE_ARN", "")
    return operator.rollouts(operator.engine_settings(args.table), arn)


# Internal fields no reader needs (the full declaration is in the repository at the commit).
HIDDEN_STATUS_FIELDS = frozenset({"declaration", "gate_token", "golden"})


def status_json(status: RolloutStatus, drift: str | None, now: float) -> dict[str, Any]:
    """A rollout status as every command prints it in JSON: camelCase, plus ``progress``."""
    from smgitops.rollout.progress import progress  # noqa: PLC0415

    view = progress(status, now)
    data = camel_dump(status, exclude=HIDDEN_STATUS_FIELDS)
    data["progress"] = {
        "step": view.step,
        "steps": view.steps,
        "bakeLeftSeconds": view.bake_left,
        "checks": view.checks,
        "variants": [{"label": v.label, "name": v.name, "weight": v.weight} for v in view.variants],
    }
    if drift is not None:
        data["drift"] = drift
    return data


def history_json(record: HistoryRecord) -> dict[str, Any]:
    return camel_dump(record)


def camel_dump(model: BaseModel, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A model as JSON with camelCase field names. Only field names change: the keys of a
    mapping field (variant names in ``weights``, tags, a declaration) are data, kept as is."""
    from pydantic import BaseModel  # noqa: PLC0415
    from pydantic.alias_generators import to_camel  # noqa: PLC0415

    dumped = model.model_dump(mode="json", exclude=set(exclude))

    def convert(value: Any, raw: Any) -> Any:
        if _own_shape(raw):
            return camel_dump(raw)
        if isinstance(raw, list | tuple) and raw and _own_shape(raw[0]):
            return [camel_dump(item) for item in raw]
        return value

    def _own_shape(raw: Any) -> bool:
        """A model dumped field by field; one that serialises itself (a golden request, as
        written in the repository) is kept as it serialises."""
        if not isinstance(raw, BaseModel):
            return False
        return not type(raw).__pydantic_decorators__.model_serializers

    return {to_camel(name): convert(value, getattr(model, name)) for name, value in dumped.items()}


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def weights_text(weights: dict[str, float]) -> str:
    return " ".join(f"{name}={value:g}%" for name, value in sorted(weights.items())) or "-"


def operator_checks() -> ChecksPolicy:
    """The operator's ``SMGITOPS_CHECKS`` (the widest ``checks`` a repository's
    ``.smgitops.yaml`` may choose), as the reconcile function has it; unset, its default."""
    given = os.environ.get("SMGITOPS_CHECKS", "").strip()
    return ChecksPolicy(given) if given else OPERATOR_CHECKS


def operator_self_heal() -> bool | None:
    """The operator's ``SMGITOPS_SELF_HEAL`` (whether a repository may heal at all), as the
    reconcile function has it; unset (a developer's shell), ``None``: not checked."""
    given = os.environ.get("SMGITOPS_SELF_HEAL", "").strip().lower()
    return given in {"1", "true", "yes", "on"} if given else None
