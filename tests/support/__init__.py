"""Helpers shared by the tests (not collected as tests): ``emulator`` (boto3 on the emulator),
``faults`` (the state machine's error handling, fault injection, the fault × outcome table of
docs/reliability.md), ``ingest`` (AWS resources for the webhook, signed events, a Git remote,
a loopback GitHub API). Their own tests are in tests/unit/test_support.py."""
