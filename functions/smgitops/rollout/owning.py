"""Ownership moves (operator actions, DESIGN §6): ``transfer`` an endpoint smgitops manages to
another repository, ``adopt`` one it did not create. Both recorded in the endpoint's history;
both tag the live endpoint ``smgitops:owner`` with the caller's (the operator's) credentials —
the functions' roles tag on create only. The rule they serve is :mod:`smgitops.rollout.ownership`.
"""

from __future__ import annotations

from smgitops.errors import ConflictError, NotFoundError
from smgitops.rollout import ownership
from smgitops.rollout.engine import Engine
from smgitops.rollout.status import HistoryRecord, Phase, RolloutStatus


class Owning(Engine):
    """The ownership use cases (``smgitops transfer``, ``smgitops adopt``)."""

    def transfer(self, endpoint: str, to: str, *, by: str) -> RolloutStatus:
        """Make the repository identity ``to`` the owner of ``endpoint`` (recorded with ``by``),
        then tag the live endpoint, its config and models ``smgitops:owner``. Only the new
        owner's pushes change it from now on. NotFoundError for an endpoint smgitops does not
        manage. Transferring to the owner again only tags again."""
        status = self.store.get(endpoint)
        if status is None or status.deleted:
            why = f"it was pruned ({status.reason})" if status else "no rollout recorded"
            raise NotFoundError(f"{endpoint} is not managed by smgitops: {why}")
        saved = status
        if status.owner != to:
            note = f"ownership transferred from {status.owner or 'nobody'} to {to} by {by}"
            saved = self._save(status, status.evolve(owner=to), [note])
        if self.sagemaker.endpoint_tags(endpoint) is not None:
            self.sagemaker.tag_owner(endpoint, {ownership.OWNER_TAG: ownership.owner_tag(to)})
        return saved

    def adopt(self, endpoint: str, repository: str, *, by: str) -> list[str]:
        """Hand an endpoint smgitops did not create to ``repository``: tag it managed and
        owned, and record it in the endpoint's history. The repository's next push declaring
        it rolls out from the live variant. ConflictError when a status manages it (transfer
        it instead), NotFoundError when there is no such endpoint. Returns the ARNs tagged."""
        status = self.store.get(endpoint)
        if status is not None and not status.deleted:
            raise ConflictError(
                f"{endpoint} is already managed by smgitops (owner {status.owner or 'none'}); "
                f"{ownership.transfer_hint(endpoint)}"
            )
        if self.sagemaker.endpoint_tags(endpoint) is None:
            raise NotFoundError(
                f"no endpoint {endpoint}: nothing to adopt (a push declaring it creates it)"
            )
        tags = {
            ownership.MANAGED_TAG: "true",
            ownership.ENDPOINT_TAG: endpoint,
            ownership.OWNER_TAG: ownership.owner_tag(repository),
        }
        tagged = self.sagemaker.tag_owner(endpoint, tags)
        record = HistoryRecord(
            at=self.clock(),
            endpoint=endpoint,
            rollout_id=ownership.ADOPTED,
            commit="",
            spec_hash="",
            phase=Phase.SUCCEEDED,
            event=f"adopted for {repository} by {by}: tagged {', '.join(tags)}",
            details={"by": by},
            owner=repository,
        )
        self.store.append_history([record])
        return tagged
