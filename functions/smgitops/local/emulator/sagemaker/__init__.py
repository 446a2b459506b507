"""moto's SageMaker backend with the endpoint lifecycle SageMaker has (emulator only).

moto 5.2.5 creates endpoints instantly, has no ``UpdateEndpoint`` (500 in server mode), drops
weight-0 variants and ``ShadowProductionVariants``, forgets instance counts on weight-only
``UpdateEndpointWeightsAndCapacities`` and overwrites existing resources on create. Patched
onto ``SageMakerModelBackend`` (:mod:`.backend`) / ``SageMakerResponse`` (:mod:`.responses`)
by :func:`patch`:

- ``CreateEndpoint`` goes ``Creating`` → ``InService`` (or ``Failed`` with a ``FailureReason``)
  after the update delay;
- ``UpdateEndpoint``: validated synchronously like SageMaker (endpoint and config exist, the
  endpoint is ``InService``), then ``Updating`` with the *old* config and variants until the delay
  has passed, then ``InService`` with the new config's variants (``CurrentWeight`` =
  ``DesiredWeight`` = ``InitialVariantWeight``). An impossible config (a variant's model no longer
  exists, or a model whose container sets ``SMGITOPS_SIM_DEPLOY_FAILURE``) fails the update the
  way SageMaker documents it: the endpoint stays ``InService`` on its previous config with a
  ``FailureReason`` ("the status is InService but update operation fails").
  :func:`set_update_failure_mode` ``("failed")`` makes it end ``Failed`` instead;
- ``UpdateEndpointWeightsAndCapacities`` accepts weight-only or count-only entries (weight 0
  included), refuses an endpoint that is not ``InService``, and with a weights delay set shows
  ``Updating`` with the new ``DesiredWeight`` until it applies;
- ``ShadowProductionVariants`` kept on endpoint configs and shown by ``DescribeEndpoint``;
- creating an endpoint, endpoint config or model that exists is a ValidationException, as on
  SageMaker; ``CreateModel`` checks that a referenced model package exists;
- a versioned model package starts ``PendingManualApproval`` when no status is given.

The lifecycle itself (settings, transitions, views) is :mod:`.lifecycle`.
"""

from __future__ import annotations

from typing import Any

from smgitops.local.emulator.sagemaker import backend, responses


def patch(backend_cls: Any, response_cls: Any) -> None:
    """Install the behaviour above on moto's classes (the caller makes it idempotent)."""
    backend.patch(backend_cls)
    responses.patch(response_cls)
