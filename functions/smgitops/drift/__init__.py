"""Drift: the scheduled check of every finished rollout, live state against last applied.

``compare`` is pure (what is expected live, what differs); ``service`` records, notifies and,
with ``selfHeal``, starts a rollout back to the declaration, through the ports it is given.
"""
