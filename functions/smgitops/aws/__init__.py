"""Adapters: every AWS call of smgitops lives behind one of these small classes."""
