"""DynamoDB requests one at a time (emulator only).

DynamoDB applies a conditional write atomically — the condition is checked against the item as
it is and the write happens with nothing in between — and a ``TransactWriteItems`` "either all
of them succeed, or all of them fail". The status store's optimistic locking (``version = :v``)
relies on exactly that. moto does not: it reads the item, evaluates the condition and writes
in separate Python steps, without a lock, and a transaction deep-copies every table it touches
while another thread may be changing it. Two threads of one process (decorator mode, the tests'
concurrent handlers) or two requests to the threaded server (``local up``) could both pass the
same ``version = :v`` condition and both write, or fail with "dictionary changed size during
iteration". :func:`patch` runs moto's DynamoDB requests one at a time, so a conditional write
behaves as on DynamoDB.
"""

from __future__ import annotations

import threading
from typing import Any

_MARKER = "_smgitops_serialized"
_LOCK = threading.RLock()


def patch(handler: Any) -> None:
    """Run every request of moto's ``DynamoHandler`` under one lock (once)."""
    if getattr(handler, _MARKER, False):
        return
    original = handler.call_action

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    handler.call_action = call_action
    setattr(handler, _MARKER, True)
