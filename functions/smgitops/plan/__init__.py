"""``smgitops plan``: what a push or a merge would change, and the rollout each change starts."""
