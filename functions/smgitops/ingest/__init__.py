"""Turning pushes (GitHub webhooks, CodeCommit events) into reconcile work on the queue."""
