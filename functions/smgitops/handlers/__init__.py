"""Thin Lambda entry points: parse the event, call one use case (built by
:mod:`smgitops.wiring`), map errors."""
