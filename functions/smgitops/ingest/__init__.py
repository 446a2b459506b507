"""Turning pushes (GitHub webhooks, CodeCommit events) into reconcile work and rollouts."""
