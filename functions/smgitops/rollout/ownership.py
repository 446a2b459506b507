"""Who may change an endpoint: its owner, one repository identity (DESIGN §6). Pure.

The owner is the normalised, allowlisted clone URL of the repository whose push created the
endpoint (``RolloutStatus.owner``), and the tag ``smgitops:owner`` on the endpoint, its configs
and models. A push may create an endpoint nobody manages; it may change only endpoints its
repository owns. An endpoint that exists without a status was not created by smgitops: only an
operator hands it to a repository (``smgitops adopt``, which tags it), and only an operator
moves an owned endpoint to another repository (``smgitops transfer``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.declaration.aws_shapes import tag_text_ok

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from smgitops.rollout.status import RolloutStatus

MANAGED_TAG = "smgitops:managed"
ENDPOINT_TAG = "smgitops:endpoint"
OWNER_TAG = "smgitops:owner"
TAG_VALUE_MAX = 256  # SageMaker's TagValue


def owner_tag(identity: str) -> str:
    """``identity`` as a SageMaker tag value: a character outside the tag pattern becomes
    ``_``, and only the last 256 characters are kept (the end names the repository)."""
    text = "".join(char if tag_text_ok(char) else "_" for char in identity)
    return text[-TAG_VALUE_MAX:]


def transfer_hint(endpoint: str) -> str:
    return f"an operator moves it with `smgitops transfer {endpoint} --to REPOSITORY_URL`"


def refusal(
    endpoint: str,
    pusher: str,
    current: RolloutStatus | None,
    live_tags: Callable[[], Mapping[str, str] | None],
) -> str:
    """Why ``pusher`` (a repository identity) may not change ``endpoint``; "" when it may.

    ``current``: the endpoint's status (None: smgitops never deployed it). ``live_tags()``: the
    live endpoint's tags, None when there is no such endpoint (asked only when no status
    manages it). A pruned endpoint's name is free again: the endpoint is gone.
    """
    if current is not None and not current.deleted:
        if current.owner == pusher:
            return ""
        if not current.owner:
            return f"endpoint {endpoint} has no recorded owner; {transfer_hint(endpoint)}"
        return f"endpoint {endpoint} is owned by {current.owner}; {transfer_hint(endpoint)}"
    tags = live_tags()
    if tags is None:
        return ""  # nobody manages it: the push creates it and owns it
    tagged = tags.get(OWNER_TAG, "")
    if tags.get(MANAGED_TAG) == "true" and tagged == owner_tag(pusher):
        return ""  # adopted for this repository (or created by it and the status was lost)
    if tagged:
        return f"endpoint {endpoint} exists, tagged {OWNER_TAG}={tagged}; {transfer_hint(endpoint)}"
    return (
        f"endpoint {endpoint} exists and smgitops did not create it; an operator hands it to "
        f"a repository with `smgitops adopt {endpoint} --repository URL`"
    )


# The rollout id of the history record ``smgitops adopt`` writes (no rollout ran).
ADOPTED = "adopted"
