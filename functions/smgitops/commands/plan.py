"""``smgitops plan``: what a push or a merge would change. Two modes:

* ``--repo DIR [--ref REF]``: the declarations at REF against the live endpoints.
  Reads ``.smgitops.yaml`` and the declarations at REF straight from the clone's object
  database (no checkout: the working tree and its uncommitted changes are ignored), compares
  them with the live endpoints (DescribeEndpoint, DescribeEndpointConfig, DescribeModel: the
  emulator or AWS through the usual credentials and ``AWS_ENDPOINT_URL``) and, with
  ``--table`` or ``SMGITOPS_TABLE``, the last-applied status. Prints per endpoint create /
  update (with the fields that differ) / unchanged / orphaned. Exit 0, 1 when a declaration
  is invalid (every problem on stderr as ``file:line: field: reason``, nothing on stdout) or
  a push would refuse an endpoint (a declared alarm that does not exist: the plan says which).
* ``--base REF --head REF``: the pull-request plan, offline. Both refs read from the clone;
  per endpoint created / changed / rollout settings only / removed / unchanged, the rollout
  each change starts, and every validation problem at head (:mod:`smgitops.plan.review`).
  Exit 0, 1 when head is invalid: the plan is printed all the same, so that a workflow can
  post it.

``--format text|json|markdown`` (``--output`` is the same option). Exit 2 for a usage error or
a ref that cannot be read.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - git with fixed arguments, no shell
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from smgitops.commands.common import DEFAULT_TABLE, aws_from, operator_checks, require_git
from smgitops.errors import GitFetchError
from smgitops.plan.diff import Plan, compare, refuse, serverless_refusals
from smgitops.plan.render import render_markdown, render_text
from smgitops.rollout.observation import missing_alarms_reason

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable

    from smgitops.declaration.models import Declaration
    from smgitops.reconcile.tree import DesiredState

OK = 0
INVALID = 1
USAGE = 2
FORMATS = ("text", "json", "markdown")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="what a push of REF (or merging --head into --base) would change",
        description="Against the live endpoints (--ref): the declarations at REF of a local "
        "clone, create / update (with the fields that differ) / unchanged / orphaned. "
        "Pull-request plan (--base and --head, no AWS needed): per endpoint what merging head "
        "changes, the rollout it starts (steps, bake, minimum duration) and every validation "
        "error at head. Exit 0, 1 invalid declarations, 2 usage error.",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="a local clone (default: the current folder)",
    )
    parser.add_argument(
        "--ref",
        default=None,
        help="plan against the live endpoints: branch, tag or commit (default HEAD)",
    )
    parser.add_argument(
        "--base",
        default=None,
        metavar="REF",
        help="pull-request plan: the ref merged into (what is deployed), e.g. the PR's base sha",
    )
    parser.add_argument(
        "--head",
        default=None,
        metavar="REF",
        help="pull-request plan: the proposed ref (default HEAD); needs --base",
    )
    parser.add_argument(
        "--declarations-dir",
        default=None,
        metavar="DIR",
        help="folder of the declarations when .smgitops.yaml names none (default endpoints)",
    )
    parser.add_argument(
        "--table",
        default=os.environ.get("SMGITOPS_TABLE") or DEFAULT_TABLE,
        help="against the live endpoints: status table for last-applied state and orphans "
        f"(default $SMGITOPS_TABLE or '{DEFAULT_TABLE}', like status and history)",
    )
    parser.add_argument(
        "--repository",
        default=None,
        metavar="URL",
        help="against the live endpoints: the repository's clone URL, whose endpoints it may "
        "change and prune (default: the clone's origin remote)",
    )
    parser.add_argument(
        "--aws",
        metavar="URL",
        default=None,
        help="AWS endpoint URL, e.g. the local runtime's (default: $AWS_ENDPOINT_URL or AWS)",
    )
    parser.add_argument(
        "--format",
        "--output",
        dest="format",
        choices=FORMATS,
        default="text",
        help="text (default), json, or markdown (a pull-request comment)",
    )
    parser.set_defaults(func=run)


def read_ref(repo: Path, ref: str, declarations_dir: str | None) -> tuple[str, DesiredState]:
    """The commit id and desired state at ``ref`` of the clone at ``repo``."""
    from smgitops.git.repository import Snapshot  # noqa: PLC0415 - GitPython only for plan
    from smgitops.reconcile.tree import read_desired_state  # noqa: PLC0415

    snapshot = Snapshot.open(repo, ref)
    with tempfile.TemporaryDirectory(prefix="smgitops-plan-") as scratch:
        desired = read_desired_state(
            snapshot,
            Path(scratch),
            branch="",
            declarations_dir=declarations_dir or "endpoints",
            # the operator's setting, the upper bound of the repository's (off when unset)
            prune=os.environ.get("SMGITOPS_PRUNE", "").strip().lower() == "true",
            checks=operator_checks(),
        )
    return snapshot.sha, desired


def _usage(args: argparse.Namespace) -> str:
    """Why the options do not make sense together, or ""."""
    if not args.repo.is_dir():
        return f"{args.repo}: not a folder"
    if args.head is not None and args.base is None:
        return "--head needs --base (or use --ref for a plan against the live endpoints)"
    if args.base is not None and args.ref is not None:
        return "--ref is for a plan against the live endpoints; with --base, give --head"
    return ""


def run(args: argparse.Namespace) -> int:
    problem = _usage(args)
    if problem:
        print(f"smgitops plan: {problem}", file=sys.stderr)
        return USAGE
    require_git()
    try:
        if args.base is not None:
            return run_review(args)
        return run_live(args)
    except GitFetchError as exc:
        print(f"smgitops plan: {exc}", file=sys.stderr)
        return USAGE


def run_live(args: argparse.Namespace) -> int:
    ref = args.ref or "HEAD"
    sha, desired = read_ref(args.repo, ref, args.declarations_dir)
    header = {
        "repository": str(args.repo),
        "ref": ref,
        "commit": sha,
        "declarationsDir": desired.config.declarations_dir,
    }
    if desired.problems:
        if args.format == "json":
            print(json.dumps({**header, "valid": False, "problems": desired.problems}, indent=2))
        for problem in desired.problems:
            print(problem, file=sys.stderr)
        print(
            f"smgitops plan: {len(desired.problems)} problem(s); nothing planned", file=sys.stderr
        )
        return INVALID
    aws_from(args)
    owner = _identity(args)
    if owner:
        header["owner"] = owner
    plan = live_plan(desired, header, args.table, owner)
    if args.format == "json":
        print(json.dumps({**plan.to_json(), "valid": True}, indent=2))
    elif args.format == "markdown":
        print(render_markdown(plan))
    else:
        print(render_text(plan))
    refused = [c.endpoint for c in plan.changes if c.note.startswith("refused: ")]
    if refused:
        print(f"smgitops plan: a push would refuse {', '.join(refused)}", file=sys.stderr)
        return INVALID
    return OK


def _identity(args: argparse.Namespace) -> str:
    """The repository's identity (``--repository``, else the clone's origin URL), or "" when
    neither is known (then ownership is not checked and every tracked endpoint may be an
    orphan)."""
    from smgitops.urls import identity_of  # noqa: PLC0415

    url = args.repository
    if url is None:
        found = subprocess.run(  # noqa: S603  # nosec B603 B607 - fixed git arguments, git from PATH
            ["git", "-C", str(args.repo), "config", "--get", "remote.origin.url"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        url = found.stdout.strip()
    return identity_of(url) if url else ""


def live_plan(
    desired: DesiredState, header: dict[str, str], table: str | None, owner: str = ""
) -> Plan:
    """``owner``: the pushing repository's identity: endpoints it may not change are refused,
    only its own are orphans (DESIGN §6); "" checks no ownership."""
    from smgitops.wiring import operator  # noqa: PLC0415 - boto3 only when planning

    store = operator.statuses(table) if table else None
    if store is not None and not store.exists():
        print(
            f"smgitops plan: no status table {table!r}: last-applied state and orphans unknown "
            "(--table NAME)",
            file=sys.stderr,
        )
        store = None
    live = operator.live_state(store)
    current = live.current(desired.declarations)
    changes = compare(
        desired.declarations,
        current,
        paths=desired.paths,
        tracked=live.tracked(owner or None),
    )
    changes = refuse(changes, refusals(desired.declarations.values()))
    changes = refuse(changes, serverless_refusals(desired.declarations, current))
    if owner:  # a push from another repository is refused whatever it declares
        declared = frozenset({"create", "update", "settings", "unchanged"})
        changes = refuse(changes, live.not_owned(desired.declarations, owner), declared)
    return Plan(changes, header)


def refusals(declarations: Iterable[Declaration]) -> dict[str, str]:
    """Per endpoint, why a push would refuse it: declared alarms that do not exist."""
    from smgitops.wiring import operator  # noqa: PLC0415 - boto3 only when planning

    declared = {d.name: d.spec.rollout.analysis.alarms for d in declarations}
    wanted = [name for names in declared.values() for name in names]
    absent = set(operator.alarms().missing(wanted)) if wanted else set()
    out = {}
    for endpoint, names in declared.items():
        missing = [name for name in names if name in absent]
        if missing:
            out[endpoint] = missing_alarms_reason(missing)
    return out


def run_review(args: argparse.Namespace) -> int:
    """The pull-request plan: head against base, both from the clone; no AWS call."""
    from smgitops.plan.review import (  # noqa: PLC0415
        render_review_markdown,
        render_review_text,
        review,
    )

    head_ref = args.head or "HEAD"
    base_sha, base = read_ref(args.repo, args.base, args.declarations_dir)
    head_sha, head = read_ref(args.repo, head_ref, args.declarations_dir)
    header = {
        "repository": str(args.repo),
        "base": {"ref": args.base, "commit": base_sha},
        "head": {"ref": head_ref, "commit": head_sha},
        "declarationsDir": head.config.declarations_dir,
    }
    plan = review(base, head, header)
    if args.format == "json":
        print(json.dumps(plan.to_json(), indent=2))
    elif args.format == "markdown":
        print(render_review_markdown(plan), end="")
    else:
        print(render_review_text(plan))
    if plan.valid:
        return OK
    print(
        f"smgitops plan: {len(plan.problems)} problem(s) at {head_ref}; a push of it deploys "
        "nothing",
        file=sys.stderr,
    )
    return INVALID
