"""Pruning (opt-in): the endpoints a repository owns whose declaration is gone, deleted."""

from __future__ import annotations

from smgitops.errors import ConflictError, NotFoundError
from smgitops.rollout.engine import Engine
from smgitops.rollout.status import Phase


class Pruning(Engine):
    """The prune use case (the reconciler, when ``prune`` is on)."""

    def orphans(self, declared: set[str], repository: str) -> list[str]:
        """Endpoints this repository (its identity) owns whose declaration is gone (pruned ones
        excluded). A status with no recorded owner matches none."""
        return [
            s.endpoint
            for s in self.store.list_statuses()
            if s.endpoint not in declared and not s.deleted and s.owner and s.owner == repository
        ]

    def delete_endpoint(self, endpoint: str, *, commit: str) -> None:
        """Prune (opt-in): delete an endpoint whose declaration was removed from the repository."""
        status = self.store.get(endpoint)
        if status is not None and status.active:
            raise ConflictError(f"{endpoint} has an active rollout; not deleting it")
        deleter = getattr(self.sagemaker, "delete_endpoint", None)
        if deleter is None:
            raise NotFoundError("this SageMaker adapter cannot delete endpoints")
        deleter(endpoint)
        if status is not None:
            record = self._record(status, f"endpoint deleted (prune) at {commit[:12]}", {})
            self.store.save(
                status.evolve(
                    phase=Phase.SUCCEEDED,
                    reason=f"pruned at {commit[:12]}",
                    weights={},
                    deleted=True,
                ),
                expected_version=status.version,
                history=[record],
            )
