"""What a push would change: desired declarations against what is there now.

Pure: the "now" side is given as :class:`Current` values, built from the live endpoints and
the status table (``smgitops plan --repo DIR --ref REF``). The pull-request plan
(:mod:`smgitops.plan.review`, ``smgitops plan --base REF --head REF``) compares two refs
with the same fields and diffs; :mod:`smgitops.plan.render` renders both.

Only the deployable part counts (model, instances or serverless, the production fields of
DESIGN §6): that is what the content hash covers and what a rollout changes. A change to
rollout settings alone starts nothing.
Environment variable values are never part of a diff, only which names were added, changed or
removed: a value may be a secret even though the file lives in Git.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from smgitops.declaration import production
from smgitops.plan.rollout import planned
from smgitops.rollout.decide.resources import serverless_refusal_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from smgitops.declaration.models import Declaration
    from smgitops.plan.rollout import RolloutPlan

Action = Literal["create", "update", "settings", "invalid", "unchanged", "orphaned"]
ORDER: tuple[Action, ...] = ("create", "update", "unchanged", "orphaned")  # against live
SYMBOLS = {
    "create": "+",
    "update": "~",
    "settings": "*",
    "invalid": "!",
    "unchanged": "=",
    "orphaned": "-",
}
MODEL_FIELDS = ("image", "modelDataUrl", "modelPackageArn", "executionRoleArn", "environment")
ENVIRONMENT = "model.environment"
HIDDEN = "(hidden)"  # an environment value: present, never shown
ORPHANED = "declaration removed; deleted only where SMGITOPS_PRUNE is on (and not prune: false)"


AUTOSCALING_FIELDS = tuple(
    f"autoscaling.{key}"
    for key in ("minInstances", "maxInstances", "target", "scaleInCooldown", "scaleOutCooldown")
)
"""Compared even when not declared: dropping ``autoscaling`` deregisters smgitops' target."""
PRODUCTION_FIELDS = (
    "model.vpc.subnets",
    "model.vpc.securityGroups",
    "model.startupHealthCheckTimeout",
    "model.modelDataDownloadTimeout",
    "serverless.memorySizeMB",
    "serverless.maxConcurrency",
    "serverless.provisionedConcurrency",
    "volumeSizeGB",
    "routing",
    "dataCapture.destination",
    "dataCapture.samplingPercentage",
    "dataCapture.capture",
    "dataCapture.kmsKeyId",
    "kmsKeyId",
)
"""The production fields (DESIGN §6), compared even when unset: not declaring one means
SageMaker's default, so a live value where none is declared is a difference."""
ALWAYS_COMPARED = frozenset((*PRODUCTION_FIELDS, *AUTOSCALING_FIELDS))
_ROUTING = {value: name for name, value in production.ROUTING.items()}
_CAPTURE = {value: name for name, value in production.CAPTURE.items()}


def production_fields(
    settings: Mapping[str, Any], config_settings: Mapping[str, Any], vpc: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The production fields in the declaration's words, from the botocore members they are
    (``VariantRef.settings``/``config_settings`` and the model's ``VpcConfig``): one reading
    for what is declared and what is live."""
    serverless = settings.get("ServerlessConfig") or {}
    capture = config_settings.get("DataCaptureConfig") or {}
    startup = settings.get("ContainerStartupHealthCheckTimeoutInSeconds")
    download = settings.get("ModelDataDownloadTimeoutInSeconds")
    routing = (settings.get("RoutingConfig") or {}).get("RoutingStrategy")
    modes = [o.get("CaptureMode") for o in capture.get("CaptureOptions") or []]
    values: dict[str, Any] = {
        "model.vpc.subnets": list((vpc or {}).get("Subnets") or []) or None,
        "model.vpc.securityGroups": list((vpc or {}).get("SecurityGroupIds") or []) or None,
        "model.startupHealthCheckTimeout": f"{startup}s" if startup is not None else None,
        "model.modelDataDownloadTimeout": f"{download}s" if download is not None else None,
        "serverless.memorySizeMB": serverless.get("MemorySizeInMB"),
        "serverless.maxConcurrency": serverless.get("MaxConcurrency"),
        "serverless.provisionedConcurrency": serverless.get("ProvisionedConcurrency"),
        "volumeSizeGB": settings.get("VolumeSizeInGB"),
        "routing": _ROUTING.get(routing, routing) if routing is not None else None,
        "dataCapture.destination": capture.get("DestinationS3Uri"),
        "dataCapture.samplingPercentage": capture.get("InitialSamplingPercentage"),
        "dataCapture.capture": [_CAPTURE.get(m, m) for m in modes] or None,
        "dataCapture.kmsKeyId": capture.get("KmsKeyId"),
        "kmsKeyId": config_settings.get("KmsKeyId"),
    }
    return {name: values[name] for name in PRODUCTION_FIELDS}


def fields_of(declaration: Declaration) -> dict[str, Any]:
    """The comparable fields of a declaration: ``model.image``, ``instanceCount``…"""
    deployable = declaration.deployable()
    model = deployable["model"]
    out: dict[str, Any] = {f"model.{name}": model.get(name) for name in MODEL_FIELDS}
    out[ENVIRONMENT] = dict(model.get("environment") or {})
    out["instanceType"] = deployable.get("instanceType")
    out["instanceCount"] = deployable.get("instanceCount")
    spec = declaration.spec
    scaling = spec.autoscaling.summary() if spec.autoscaling is not None else {}
    out |= {name: scaling.get(name.removeprefix("autoscaling.")) for name in AUTOSCALING_FIELDS}
    return out | production_fields(
        spec.variant_settings(),
        spec.config_settings(),
        production.model_vpc(spec.model.vpc),
    )


class Current(NamedTuple):
    """One endpoint as it is now."""

    fields: dict[str, Any] | None  # None: not known (e.g. the endpoint does not exist)
    spec_hash: str | None = None  # the last-applied hash, when the status table has one
    exists: bool = True  # the endpoint exists (live) / is declared (base ref)
    managed: bool | None = None  # has a status record; None when no table was consulted
    # The last rollout of ``spec_hash`` ended without being promoted (RolledBack, Failed): its
    # phase, commit and reason. A push of the same declaration does not start it again.
    ended: str = ""
    # What the serving variant runs now (rollout.capacity.of_live: an autoscaled variant's live
    # count); None: not known. A rollout's stable variant keeps it.
    held: dict[str, int] | None = None


class Diff(NamedTuple):
    field: str
    before: Any
    after: Any


class Change(NamedTuple):
    endpoint: str
    action: Action
    file: str = ""
    diffs: tuple[Diff, ...] = ()
    note: str = ""
    rollout: RolloutPlan | None = None  # what a pull-request plan expects to run
    base_file: str = ""  # pull-request plan: where the base ref declared it, when elsewhere

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "endpoint": self.endpoint,
            "action": self.action,
            "file": self.file,
            "diffs": [d._asdict() for d in self.diffs],
            "note": self.note,
        }
        if self.base_file:
            out["baseFile"] = self.base_file
        if self.rollout is not None:
            out["rollout"] = self.rollout.to_json()
        return out

    @property
    def deployable_diffs(self) -> tuple[Diff, ...]:
        return tuple(d for d in self.diffs if not d.field.startswith(("rollout.", "metadata.")))

    @property
    def settings_diffs(self) -> tuple[Diff, ...]:
        return tuple(d for d in self.diffs if d.field.startswith(("rollout.", "metadata.")))


class Plan(NamedTuple):
    changes: tuple[Change, ...]
    header: dict[str, Any]  # where the desired state came from: repository, ref, commit…

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> dict[str, int]:
        return {action: self.count(action) for action in ORDER}

    def to_json(self) -> dict[str, Any]:
        return {
            **self.header,
            "summary": self.summary(),
            "changes": [c.to_json() for c in self.changes],
        }


STARTING = frozenset({"create", "update"})  # the actions a push starts a rollout for


def serverless_refusals(
    desired: Mapping[str, Declaration], current: Mapping[str, Current]
) -> dict[str, str]:
    """Per live endpoint, why its rollout would end before it starts: an instance-based
    endpoint cannot become serverless, and a serverless one holds a single variant
    (rollout/decide/resources.serverless_refusal, the engine's words)."""
    out = {}
    for name, declaration in desired.items():
        now = current.get(name)
        if now is None or not now.exists or not now.fields:
            continue
        stable = now.fields.get("serverless.maxConcurrency") is not None
        candidate = declaration.spec.serverless is not None
        reason = serverless_refusal_of(stable, candidate, declaration.spec.rollout.strategy)
        if reason:
            out[name] = reason
    return out


def refuse(
    changes: Iterable[Change], refusals: Mapping[str, str], actions: frozenset[str] = STARTING
) -> tuple[Change, ...]:
    """The changes with the reason each refused endpoint would be refused as its note (only
    changes whose action is one of ``actions``)."""
    out = []
    for change in changes:
        reason = refusals.get(change.endpoint)
        if reason and change.action in actions:
            note = f"refused: {reason}" + (f"; {change.note}" if change.note else "")
            out.append(change._replace(note=note))
        else:
            out.append(change)
    return tuple(out)


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any], *, unset: bool = False
) -> tuple[Diff, ...]:
    """The fields that differ. A field ``after`` leaves unset (None) is not compared unless
    ``unset`` (both sides are declarations). Environment variables differ per name, with
    their values replaced by :data:`HIDDEN`."""
    out: list[Diff] = []
    for name, value in after.items():
        old = before.get(name)
        if name == ENVIRONMENT:
            out += _environment_diff(old or {}, value or {})
        elif (value is not None or unset or name in ALWAYS_COMPARED) and old != value:
            out.append(Diff(name, old, value))
    return tuple(out)


def _environment_diff(before: Mapping[str, str], after: Mapping[str, str]) -> list[Diff]:
    return [
        Diff(
            f"{ENVIRONMENT}.{name}",
            HIDDEN if name in before else None,
            HIDDEN if name in after else None,
        )
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


NOT_RETRIED = (
    "a push of the same declaration does not start it again: `smgitops retry ENDPOINT` does, "
    "or change the declaration"
)


def compare(
    desired: Mapping[str, Declaration],
    current: Mapping[str, Current],
    *,
    paths: Mapping[str, str] | None = None,
    tracked: Iterable[str] = (),
) -> tuple[Change, ...]:
    """Per endpoint: create / update (with the fields that differ) / unchanged, then every
    ``tracked`` endpoint (known to smgitops) with no declaration any more as orphaned."""
    paths = paths or {}
    changes = [
        _change(name, declaration, current.get(name), paths.get(name, ""))
        for name, declaration in sorted(desired.items())
    ]
    changes += [
        Change(name, "orphaned", note=ORPHANED) for name in sorted(set(tracked) - set(desired))
    ]
    return tuple(sorted(changes, key=lambda c: (ORDER.index(c.action), c.endpoint)))


def _change(name: str, declaration: Declaration, now: Current | None, file: str) -> Change:
    change = _action(name, declaration, now, file)
    if change.action not in STARTING:
        return change
    return change._replace(rollout=_rollout(declaration, now))


def _rollout(declaration: Declaration, now: Current | None) -> RolloutPlan | None:
    """The rollout a push starts, with its capacity: onto the live serving variant at the
    count it runs now (None: its capacity is not known, so no plan is guessed)."""
    if now is None or not now.exists:
        return planned(declaration, None)
    if now.held is None:
        return None
    scaled = (now.fields or {}).get("autoscaling.minInstances") is not None
    return planned(declaration, now.held, scaled=scaled, live=True)


def _action(name: str, declaration: Declaration, now: Current | None, file: str) -> Change:
    wanted = fields_of(declaration)
    if now is None or (not now.exists and now.spec_hash is None):
        return Change(name, "create", file)
    diffs = diff(now.fields, wanted) if now.fields is not None else ()
    if now.spec_hash is not None:  # the engine decides on the last-applied hash
        if now.spec_hash == declaration.content_hash():
            if now.ended:
                return Change(name, "unchanged", file, note=f"{now.ended}; {NOT_RETRIED}")
            note = "" if now.exists else "endpoint missing although applied: drift"
            if now.exists and diffs:
                note = "live endpoint differs from the applied declaration: drift"
            return Change(name, "unchanged", file, note=note)
        return Change(name, "update", file, diffs)
    if not now.exists:
        return Change(name, "create", file)
    if diffs:
        return Change(name, "update", file, diffs)
    if now.managed is False:
        return Change(name, "update", file, note="not managed yet: a first rollout adopts it")
    return Change(name, "unchanged", file)
