"""``.smgitops.yaml`` at the root of the repository, read at the pushed commit.

```yaml
branch: main              # the tracked branch (must agree with SMGITOPS_BRANCH)
declarationsDir: endpoints
prune: false              # false: never delete endpoints whose declaration was removed
                          # (true only where the operator's SMGITOPS_PRUNE is on)
freeze:                   # rollouts wait while a window is open (Deploy-Override: <reason>)
  - {timezone: Europe/Paris, days: [fri], start: "16:00", end: "23:59", reason: weekend}
selfHeal: false           # false: drift found later is reported, never healed (true only
                          # where the operator's SMGITOPS_SELF_HEAL is on)
checks: acknowledged      # required | acknowledged (default) | optional: what a rollout that
                          # shifts user traffic must declare (optional only where the
                          # operator's SMGITOPS_CHECKS allows it)
```
Every key is optional; an absent key (or an absent file) keeps the function's setting. A
repository narrows the operator's settings, never widens them: ``prune`` turns pruning off,
``checks`` may be at most as wide as ``SMGITOPS_CHECKS`` (wider is a problem of the file).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smgitops.declaration.freeze import FreezeWindow
from smgitops.declaration.models import OPERATOR_CHECKS, ChecksPolicy
from smgitops.declaration.problems import format_field, message_of
from smgitops.declaration.yaml_lines import yaml_error
from smgitops.git.paths import safe_relative

FILE = ".smgitops.yaml"
MAX_BYTES = 16 * 1024
MAX_DEPTH = 16  # a settings file is shallow; deeper is refused before it is composed


class AppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    branch: str | None = Field(default=None, min_length=1, max_length=255)
    declarations_dir: str | None = Field(default=None, alias="declarationsDir", min_length=1)
    prune: bool | None = None
    freeze: list[FreezeWindow] | None = Field(default=None, max_length=50)
    self_heal: bool | None = Field(default=None, alias="selfHeal")
    checks: Literal["required", "acknowledged", "optional"] | None = None

    @field_validator("declarations_dir")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return str(safe_relative(value.strip("/") or "."))


class Effective(NamedTuple):
    """The settings a push is reconciled with: the app config over the function's settings."""

    branch: str
    declarations_dir: str
    prune: bool
    freeze: tuple[FreezeWindow, ...] = ()
    self_heal: bool | None = None  # None: the drift function's own setting (its upper bound)
    checks: ChecksPolicy = ChecksPolicy.ACKNOWLEDGED


class Parsed(NamedTuple):
    config: AppConfig
    problems: list[str]


def parse(
    data: bytes | None,
    *,
    allowed: ChecksPolicy = OPERATOR_CHECKS,
    heal_allowed: bool | None = None,
) -> Parsed:
    """The app config, or the problems (``.smgitops.yaml:line: field: reason``, worded like a
    declaration's) that make the push invalid. ``None`` (no file) is an empty config.
    ``allowed``: the widest ``checks`` the operator allows (``SMGITOPS_CHECKS``);
    ``heal_allowed``: the operator's ``SMGITOPS_SELF_HEAL`` (``None``: not known here, so
    ``selfHeal: true`` is not checked; the drift function still bounds it)."""
    if data is None:
        return Parsed(AppConfig(), [])
    if len(data) > MAX_BYTES:
        return Parsed(AppConfig(), [f"{FILE}:1: file is over {MAX_BYTES} bytes"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Parsed(AppConfig(), [f"{FILE}:1: not UTF-8 text"])
    try:
        too_deep = _too_deep(text)
        if too_deep:
            problem = f"{FILE}:{too_deep}: nested deeper than {MAX_DEPTH} levels"
            return Parsed(AppConfig(), [problem])
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, message = yaml_error(exc, text)
        return Parsed(AppConfig(), [f"{FILE}:{line}: {message}"])
    if values is None:
        return Parsed(AppConfig(), [])
    if not isinstance(values, dict):
        return Parsed(AppConfig(), [f"{FILE}:1: must be a mapping of settings"])
    try:
        config = AppConfig.model_validate(values)
    except ValidationError as exc:
        lines = _lines(node)
        located = []
        for error in exc.errors():
            path = tuple(error["loc"])
            line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), 1)
            field = format_field(path) or "config"
            located.append((line, f"{field}: {message_of(error, AppConfig)}"))
        return Parsed(AppConfig(), [f"{FILE}:{line}: {text}" for line, text in sorted(located)])
    wider = _wider(config, allowed=allowed, heal_allowed=heal_allowed)
    if wider:
        lines = _lines(node)
        return Parsed(
            AppConfig(),
            [
                f"{FILE}:{lines.get((key,), 1)}: {key}: {value} is wider than the operator "
                f"allows ({setting}): a repository can narrow it, never widen it"
                for key, value, setting in wider
            ],
        )
    return Parsed(config, [])


def _wider(
    config: AppConfig, *, allowed: ChecksPolicy, heal_allowed: bool | None
) -> list[tuple[str, str, str]]:
    """(key, value, the operator's setting) of every setting wider than the operator's."""
    wider = []
    if config.checks is not None and allowed.narrowed(config.checks) != config.checks:
        wider.append(("checks", f"{config.checks}", f"SMGITOPS_CHECKS={allowed}"))
    if config.self_heal and heal_allowed is False:
        wider.append(("selfHeal", "true", "SMGITOPS_SELF_HEAL=false"))
    return wider


def _too_deep(text: str) -> int:
    """The line where ``text`` nests deeper than :data:`MAX_DEPTH`, else 0. Event by event
    (libyaml), before the recursive composer could exhaust the stack."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return int(event.start_mark.line) + 1 if event.start_mark else 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return 0


def _lines(node: Any, path: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], int]:
    """The line of every key and list item under ``node``, by its path."""
    found: dict[tuple[str | int, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                here = (*path, str(key.value))
                found[here] = key.start_mark.line + 1
                found.update(_lines(value, here))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found[(*path, index)] = item.start_mark.line + 1
            found.update(_lines(item, (*path, index)))
    return found


def effective(config: AppConfig, *, branch: str, declarations_dir: str, prune: bool) -> Effective:
    """``config`` over the function's settings (``parse`` already refused a ``checks`` wider
    than the operator's)."""
    return Effective(
        branch=config.branch or branch,
        declarations_dir=config.declarations_dir or declarations_dir,
        # The operator's setting is an upper bound: a repository may turn prune off, never on
        # (it would delete what the operator keeps).
        prune=prune and config.prune is not False,
        freeze=tuple(config.freeze or ()),
        # Kept as the repository said it; the drift function heals only where its own
        # SMGITOPS_SELF_HEAL is on too (an upper bound, like prune).
        self_heal=config.self_heal,
        checks=ChecksPolicy(config.checks or ChecksPolicy.ACKNOWLEDGED),
    )
