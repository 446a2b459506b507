"""Reconciling one push: read the tree at the pushed commit and start the rollouts it asks for."""
