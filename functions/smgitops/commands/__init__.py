"""CLI commands. Each module defines ``register(subparsers)`` that adds its sub-command(s);
each sub-command's ``func(args) -> int`` returns the exit code."""

from __future__ import annotations

# Order is the order in ``smgitops --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "smgitops.commands.init",
    "smgitops.commands.validate",
    "smgitops.commands.plan",
    "smgitops.commands.operate",
    "smgitops.commands.ownership",
    "smgitops.commands.follow",
    "smgitops.commands.pushes",
    "smgitops.commands.dashboard",
    "smgitops.commands.invoke",
    "smgitops.commands.local",
)
