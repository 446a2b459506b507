"""The AWS emulator of the local runtime: moto 5.2.5 plus what moto lacks (emulator only).

Never imported by the Lambda functions. :func:`install` patches moto's classes once (idempotent),
so the additions work both in decorator mode (``mock_aws``) and in server mode (moto's
``ThreadedMotoServer`` in this process). Laid out by service, as moto is:

- SageMaker ``UpdateEndpoint`` with a visible ``Updating`` phase, ``Creating`` on create, shadow
  variants, realistic validation (:mod:`smgitops.local.emulator.sagemaker`);
- CloudWatch alarms evaluated from the metric data put for them
  (:mod:`smgitops.local.emulator.cloudwatch`, math in
  :mod:`smgitops.local.emulator.cloudwatch.alarms`);
- "CloudWatch Alarm State Change" events delivered to matching EventBridge rules and to
  registered Python targets (:mod:`smgitops.local.emulator.events`);
- Application Auto Scaling for SageMaker variants: registering moves the instance count into
  [min, max], SageMaker refuses to remove a scaled variant, :func:`scale_variant` scales like a
  policy (:mod:`smgitops.local.emulator.autoscaling`);
- ``InvokeEndpoint`` routed by variant weights, emitting SageMaker's metrics
  (:mod:`smgitops.local.emulator.traffic`);
- the real rollout state machine run on moto's Step Functions executor, its Lambda tasks
  routed to Python callables (:mod:`smgitops.local.emulator.stepfunctions`);
- the whole of it started as one server (:mod:`smgitops.local.emulator.server`).

This module is the public API (docs/emulator.md).
"""

from smgitops.local.emulator.autoscaling import scale_variant
from smgitops.local.emulator.cloudwatch.backend import StateChange, evaluate_alarms
from smgitops.local.emulator.events import (
    Delivery,
    clear_targets,
    deliveries,
    register_target,
    unregister_target,
    wait_for_deliveries,
)
from smgitops.local.emulator.sagemaker.lifecycle import (
    set_update_delay,
    set_update_failure_mode,
    set_weights_delay,
)
from smgitops.local.emulator.sagemaker.quotas import set_instance_quota
from smgitops.local.emulator.server import EVERY_ENDPOINT, Emulator, emulated_aws, install
from smgitops.local.emulator.traffic import TrafficReport, set_seed, simulate_traffic

__all__ = [
    "EVERY_ENDPOINT",
    "Delivery",
    "Emulator",
    "StateChange",
    "TrafficReport",
    "clear_targets",
    "deliveries",
    "emulated_aws",
    "evaluate_alarms",
    "install",
    "register_target",
    "scale_variant",
    "set_instance_quota",
    "set_seed",
    "set_update_delay",
    "set_update_failure_mode",
    "set_weights_delay",
    "simulate_traffic",
    "unregister_target",
    "wait_for_deliveries",
]
