"""Reconcile one push: the whole tree at the pushed commit is the desired state.

fetch the commit · read ``.smgitops.yaml`` · load and validate every declaration ·
invalid → deploy nothing, record every ``file:line`` problem, commit status ``failure`` ·
valid → the rollout engine starts one rollout per changed endpoint (unchanged ones cost no
SageMaker call; an older push than the one applied is ``stale``) · declarations removed →
reported, deleted only with ``prune: true`` and only by the newest push · every push leaves a
record in the push store.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Protocol

from smgitops.aws.deliveries import PushRecord
from smgitops.clock import now as clock_now
from smgitops.declaration.models import OPERATOR_CHECKS
from smgitops.errors import (
    ActionRejectedError,
    CommitNotOnBranchError,
    ConflictError,
    NotFoundError,
    SmgitopsError,
)
from smgitops.git.repository import BRANCH_REF
from smgitops.observability import logger
from smgitops.reconcile import appconfig
from smgitops.reconcile.roles import role_problems
from smgitops.reconcile.tree import MAX_ENDPOINTS, read_desired_state
from smgitops.urls import STATUS_PROVIDERS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager
    from pathlib import Path

    from smgitops.aws.deliveries import PushStatus
    from smgitops.aws.github import State
    from smgitops.declaration.models import ChecksPolicy, Declaration
    from smgitops.git.repository import Snapshot
    from smgitops.ingest.allowlist import AllowList
    from smgitops.ingest.work import PushWork
    from smgitops.rollout.start import StartOutcome
    from smgitops.rollout.status import Context

VALIDATE_CONTEXT = "smgitops/validate"
PENDING_KINDS = frozenset({"started", "queued"})
STATUS_KINDS = PENDING_KINDS | {"failed", "refused"}  # the outcomes that get a commit status
STATUS_WORKERS = 8  # commit statuses in flight at once (each has GitHubStatuses' 3 s timeout)
STATUS_BUDGET_S = 60.0  # all of a push's endpoint statuses, at most (reconcile times out at 300)


class Fetcher(Protocol):
    def checkout(
        self, url: str, commit: str, *, branch: str | None = None
    ) -> AbstractContextManager[tuple[Snapshot, Path]]: ...


class Engine(Protocol):
    def reconcile(
        self,
        declarations: Sequence[Declaration],
        *,
        commit: str,
        pushed_at: float,
        source: dict[str, str],
        contexts: Mapping[str, Context] | None = None,
    ) -> list[StartOutcome]: ...
    def orphans(self, declared: set[str], repository: str) -> list[str]: ...
    def delete_endpoint(self, endpoint: str, *, commit: str) -> None: ...


class Pushes(Protocol):
    def put(self, record: PushRecord) -> PushRecord: ...
    def newer_reconciled(self, repository: str, pushed_at: float) -> PushRecord | None: ...


class Statuses(Protocol):
    def post(
        self,
        full_name: str,
        sha: str,
        state: State,
        context: str,
        description: str,
        *,
        target_url: str | None = None,
    ) -> bool: ...


class Reconciler:
    def __init__(
        self,
        *,
        fetcher: Fetcher,
        engine: Engine,
        pushes: Pushes,
        allow: AllowList,
        statuses: Callable[[], Statuses | None] = lambda: None,
        branch: str = "main",
        declarations_dir: str = "endpoints",
        prune: bool = False,
        max_endpoints: int = MAX_ENDPOINTS,
        checks: ChecksPolicy = OPERATOR_CHECKS,
        heal_allowed: bool | None = None,
        role_path: str = "",
        deployment_arn: str = "",
        status_budget: float = STATUS_BUDGET_S,
        clock: Callable[[], float] = clock_now,
    ) -> None:
        self.status_budget = status_budget
        self.max_endpoints = max_endpoints
        self.role_path = role_path  # SMGITOPS_EXECUTION_ROLE_PATH: per-repository roles
        self.deployment_arn = deployment_arn  # any ARN of the deployment: account, partition
        self.fetcher = fetcher
        self.engine = engine
        self.pushes = pushes
        self.allow = allow
        self.statuses = statuses
        self.branch = branch
        self.declarations_dir = declarations_dir
        self.prune = prune
        self.checks = checks  # SMGITOPS_CHECKS: the widest checks policy a repository may use
        self.heal_allowed = heal_allowed  # SMGITOPS_SELF_HEAL: whether a repository may heal
        self.clock = clock

    # --- the flow -----------------------------------------------------------------------------

    def reconcile(self, work: PushWork) -> PushRecord:
        """Reconcile ``work``; raises only what a retry can fix (TransientError, GitFetchError)."""
        if not self.allow.allows(work.repository):
            return self._record(work, "failed", reason=self.allow.refusal(work.repository))
        if work.branch != self.branch:
            return self._record(
                work, "ignored", reason=f"branch {work.branch} is not the tracked branch"
            )
        self._record(work, "processing", reason="fetching the commit")
        try:
            with self.fetcher.checkout(work.repository, work.commit, branch=self.branch) as (
                snapshot,
                scratch,
            ):
                older = self._older(work, snapshot)
                if older:
                    return self._record(work, "ignored", reason=older)
                desired = read_desired_state(
                    snapshot,
                    scratch,
                    branch=self.branch,
                    declarations_dir=self.declarations_dir,
                    prune=self.prune,
                    max_endpoints=self.max_endpoints,
                    checks=self.checks,
                    heal_allowed=self.heal_allowed,
                )
        except CommitNotOnBranchError as exc:  # deterministic: recorded once, never retried
            return self._record(work, "failed", reason=str(exc))
        if desired.config.branch != work.branch:
            return self._record(
                work,
                "ignored",
                reason=f"{appconfig.FILE} tracks branch {desired.config.branch}, not {work.branch}",
            )
        problems = desired.problems or role_problems(
            desired.declarations,
            desired.paths,
            identity=work.identity,
            role_path=self.role_path,
            deployment_arn=self.deployment_arn,
            lines=desired.role_lines,
        )
        if problems:
            return self._invalid(work, problems)
        return self._apply(
            work,
            list(desired.declarations.values()),
            prune=desired.config.prune,
            contexts=desired.contexts,
        )

    def _older(self, work: PushWork, snapshot: Snapshot) -> str:
        """Why ``work`` is older than what the repository already applied (git ancestry, not
        a clock): its commit is an ancestor of the newest reconciled push's commit, which is
        still on the branch. A deliberate force-push back rewrote the branch: not older."""
        newest = self.pushes.newer_reconciled(work.identity, 0.0)
        if newest is None or newest.commit == work.commit:
            return ""
        if snapshot.is_ancestor(work.commit, newest.commit) and snapshot.is_ancestor(
            newest.commit, BRANCH_REF
        ):
            return (
                f"stale: {work.commit[:12]} is an ancestor of {newest.commit[:12]}, already applied"
            )
        return ""

    def fail(self, work: PushWork, reason: str) -> PushRecord:
        """Record that ``work`` could not be reconciled (e.g. its commit cannot be fetched)."""
        return self._record(work, "failed", reason=reason)

    def _invalid(self, work: PushWork, problems: list[str]) -> PushRecord:
        count = len(problems)
        self._status(
            work,
            "failure",
            VALIDATE_CONTEXT,
            f"{count} problem{'s' if count > 1 else ''}: {problems[0]}",
        )
        return self._record(
            work,
            "invalid",
            reason=f"{count} invalid declaration problem(s): nothing deployed",
            problems=problems,
        )

    def _apply(
        self,
        work: PushWork,
        declarations: list[Declaration],
        *,
        prune: bool,
        contexts: dict[str, Context] | None = None,
    ) -> PushRecord:
        outcomes = self.engine.reconcile(
            declarations,
            commit=work.commit,
            pushed_at=work.pushed_at,
            source=work.source(),
            contexts=contexts,
        )
        count = len(declarations)
        self._status(work, "success", VALIDATE_CONTEXT, f"{count} declaration(s) valid")
        self._endpoint_statuses(work, outcomes)
        orphans = self._orphans(work, {d.name for d in declarations}, prune=prune)
        started = sum(1 for o in outcomes if o.kind in PENDING_KINDS)
        refused = [o.endpoint for o in outcomes if o.kind == "refused"]
        said = f"; refused: {', '.join(refused)}" if refused else ""
        return self._record(
            work,
            "reconciled",
            reason=f"{started} rollout(s) started of {count} declared; {len(orphans)} orphaned"
            + said,
            outcomes=[
                {
                    "endpoint": o.endpoint,
                    "kind": o.kind,
                    "rolloutId": o.rollout_id,
                    "reason": o.reason,
                }
                for o in outcomes
            ],
            orphans=orphans,
        )

    def _orphans(self, work: PushWork, declared: set[str], *, prune: bool) -> list[dict[str, Any]]:
        names = self.engine.orphans(declared, repository=work.identity)
        if not names:
            return []
        if not prune:
            return [
                {"endpoint": n, "action": "reported", "reason": "declaration removed; prune is off"}
                for n in names
            ]
        newer = self.pushes.newer_reconciled(work.identity, work.pushed_at)
        if newer is not None:
            reason = f"not pruned: a newer push ({newer.commit[:12]}) is applied"
            return [{"endpoint": n, "action": "reported", "reason": reason} for n in names]
        return [self._prune(work, name) for name in names]

    def _prune(self, work: PushWork, name: str) -> dict[str, Any]:
        try:
            self.engine.delete_endpoint(name, commit=work.commit)
        except (ConflictError, NotFoundError, ActionRejectedError) as exc:
            return {"endpoint": name, "action": "kept", "reason": f"not deleted: {exc}"}
        logger().info("endpoint pruned", extra={"endpoint": name, "commit": work.commit})
        return {"endpoint": name, "action": "deleted", "reason": "declaration removed; prune is on"}

    # --- records and statuses ---------------------------------------------------------------

    def _record(
        self,
        work: PushWork,
        status: PushStatus,
        *,
        reason: str = "",
        problems: Sequence[str] = (),
        outcomes: Sequence[dict[str, Any]] = (),
        orphans: Sequence[dict[str, Any]] = (),
    ) -> PushRecord:
        record = PushRecord(
            repository=work.identity,
            commit=work.commit,
            pushed_at=work.pushed_at,
            status=status,
            delivery=work.delivery,
            provider=work.provider,
            ref=work.ref,
            clone_url=work.repository,
            reason=reason,
            problems=tuple(problems),
            outcomes=tuple(outcomes),
            orphans=tuple(orphans),
        )
        return self.pushes.put(record)

    def _poster(self, work: PushWork) -> Statuses | None:
        if work.provider not in STATUS_PROVIDERS:
            return None
        try:
            return self.statuses()
        except SmgitopsError as exc:  # a token that cannot be read never fails a deploy
            logger().warning(
                "commit status not sent: GitHub token unavailable",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
            return None

    def _status(self, work: PushWork, state: State, context: str, description: str) -> None:
        poster = self._poster(work)
        if poster is not None:
            poster.post(work.status_target, work.commit, state, context, description)

    def _endpoint_statuses(self, work: PushWork, outcomes: Sequence[StartOutcome]) -> None:
        """One status per endpoint whose rollout started, was queued, failed or was refused
        (``smgitops/<endpoint>``, the context the rollout's end updates); unchanged and stale
        endpoints get none. Sent by ``STATUS_WORKERS`` at once, for at most
        ``status_budget`` seconds in all: the rest are logged, never waited for."""
        wanted = [_endpoint_status(o) for o in outcomes if o.kind in STATUS_KINDS]
        poster = self._poster(work) if wanted else None
        if poster is None:
            return
        pool = ThreadPoolExecutor(max_workers=min(STATUS_WORKERS, len(wanted)))
        futures = [
            pool.submit(poster.post, work.status_target, work.commit, state, context, text)
            for state, context, text in wanted
        ]
        _, late = wait(futures, timeout=self.status_budget)
        pool.shutdown(wait=False, cancel_futures=True)
        if late:
            logger().warning(
                "commit statuses not sent within the budget",
                extra={"unsent": len(late), "of": len(wanted), "budget": self.status_budget},
            )


def _endpoint_status(outcome: StartOutcome) -> tuple[State, str, str]:
    context = f"smgitops/{outcome.endpoint}"
    if outcome.kind == "refused":
        return "failure", context, f"refused: {outcome.reason}"
    state: State = "failure" if outcome.kind == "failed" else "pending"
    said = f" ({outcome.reason})" if outcome.reason else ""
    return state, context, f"rollout {outcome.kind}: {outcome.rollout_id}{said}"
