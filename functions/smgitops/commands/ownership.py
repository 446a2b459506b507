"""Operator commands for ownership (DESIGN §6): ``transfer`` and ``adopt``.

An endpoint belongs to one repository identity (the normalised, allowlisted clone URL); only
that repository's pushes change or prune it. These two commands are the only ways ownership
moves, each recorded in the endpoint's history with who asked, each tagging the live endpoint
``smgitops:owner`` with the operator's own credentials (the functions' roles tag on create only).
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING

from smgitops.commands.common import FAILED, OK, USAGE, add_aws_options, emit_json, service_from

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    transfer = subparsers.add_parser(
        "transfer",
        help="move a managed endpoint to another repository (recorded)",
        description="Make REPOSITORY_URL the owner of ENDPOINT: from now on only its pushes "
        "change or prune it, the previous owner's are refused. Recorded in the history with "
        "--by; the live endpoint, its config and models are tagged smgitops:owner. Exit 0 "
        "done, 1 refused (the URL is not allowed, the endpoint is not managed by smgitops), "
        "2 the allowed repositories are unknown.",
    )
    transfer.add_argument("endpoint")
    transfer.add_argument("--to", required=True, metavar="REPOSITORY_URL", help="the new owner")
    _common(transfer)
    transfer.set_defaults(func=run_transfer)

    adopt = subparsers.add_parser(
        "adopt",
        help="hand an endpoint smgitops did not create to a repository (recorded)",
        description="Tag ENDPOINT, which exists and smgitops does not manage, smgitops:managed "
        "and smgitops:owner=URL, and record it in its history: the repository's next push "
        "declaring it rolls out from the live variant. Until then a push declaring an "
        "endpoint smgitops did not create is refused. Exit 0 adopted, 1 refused (already "
        "managed, no such endpoint, the URL is not allowed), 2 the allowed repositories are "
        "unknown.",
    )
    adopt.add_argument("endpoint")
    adopt.add_argument("--repository", required=True, metavar="URL", help="the owner")
    _common(adopt)
    adopt.set_defaults(func=run_adopt)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default=None, help="who asks (default: the current user)")
    parser.add_argument(
        "--allowed",
        default=os.environ.get("SMGITOPS_REPOSITORY_URLS", ""),
        metavar="URLS",
        help="the deployment's allowed repositories, comma-separated clone URLs or patterns "
        "(its RepositoryUrls; default: $SMGITOPS_REPOSITORY_URLS)",
    )
    add_aws_options(parser)


def _owner(args: argparse.Namespace, url: str) -> tuple[str, int]:
    """The identity of ``url`` when the deployment allows it; else ("", exit code), said."""
    from smgitops.ingest.allowlist import AllowList  # noqa: PLC0415
    from smgitops.urls import identity_of  # noqa: PLC0415

    if not args.allowed.strip():
        print(
            f"smgitops {args.command}: which repositories does the deployment allow? pass "
            "--allowed (its RepositoryUrls) or set SMGITOPS_REPOSITORY_URLS",
            file=sys.stderr,
        )
        return "", USAGE
    allow = AllowList.parse(args.allowed)
    if not allow.allows(url):
        print(f"smgitops {args.command}: refused: {allow.refusal(url)}", file=sys.stderr)
        return "", FAILED
    return identity_of(url), OK


def run_transfer(args: argparse.Namespace) -> int:
    to, code = _owner(args, args.to)
    if not to:
        return code
    service = service_from(args)
    before = service.store.get(args.endpoint)
    by = args.by or getpass.getuser()
    status = service.transfer(args.endpoint, to, by=by)
    previous = before.owner if before is not None else ""
    if args.output == "json":
        emit_json(
            {
                "endpoint": args.endpoint,
                "owner": status.owner,
                "previousOwner": previous,
                "by": by,
                "changed": previous != status.owner,
            }
        )
    elif previous == status.owner:
        print(f"{args.endpoint}: already owned by {status.owner}; tagged smgitops:owner again")
    else:
        print(
            f"{args.endpoint}: owner {status.owner} (was {previous or 'nobody'}), transferred "
            f"by {by}; only its pushes change {args.endpoint} now"
        )
    return OK


def run_adopt(args: argparse.Namespace) -> int:
    owner, code = _owner(args, args.repository)
    if not owner:
        return code
    by = args.by or getpass.getuser()
    tagged = service_from(args).adopt(args.endpoint, owner, by=by)
    if args.output == "json":
        emit_json({"endpoint": args.endpoint, "owner": owner, "by": by, "tagged": tagged})
    else:
        print(
            f"{args.endpoint}: adopted for {owner} by {by}; tagged {len(tagged)} resource(s) "
            f"(the endpoint, its config and models). Its next push declaring {args.endpoint} "
            "rolls out from the live variant."
        )
    return OK
