"""The reconcile queue: SQS FIFO, one message group per repository identity (the allowed clone
URL, never the payload's ``full_name``: pushes to one repository are reconciled in order, one
at a time), deduplicated by what the signature covers for SQS's 5-minute window.

CodeCommit's EventBridge rule targets the same queue (with ``MessageGroupId`` set on the target
and content-based deduplication on the queue); explicit ids set here take precedence.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws.clients import client as aws_client
from smgitops.aws.errors import unavailable

_SQS_ID_MAX = 128
_SQS_ID_CHARS = re.compile(r"[^A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]")


def sqs_id(value: str) -> str:
    """``value`` as a valid MessageGroupId / MessageDeduplicationId (≤ 128 punctuation-safe
    characters); anything longer becomes its sha256, so distinct values stay distinct."""
    cleaned = _SQS_ID_CHARS.sub("-", value)
    if cleaned == value and 0 < len(value) <= _SQS_ID_MAX:
        return value
    return hashlib.sha256(value.encode()).hexdigest()


class Work(Protocol):
    """What the queue needs of a push's work (:class:`smgitops.ingest.push.WorkMessage`)."""

    @property
    def identity(self) -> str: ...  # the message group: one repository, in order

    @property
    def claim_key(self) -> str: ...  # the deduplication id: what the signature covers

    def to_message(self) -> str: ...


class WorkQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def send(self, work: Work) -> str:
        """Enqueue ``work``; returns the SQS message id (the same one for a duplicate)."""
        try:
            response = self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=work.to_message(),
                MessageGroupId=sqs_id(work.identity),
                MessageDeduplicationId=sqs_id(work.claim_key),
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable("SQS SendMessage", exc) from None
        return str(response.get("MessageId", ""))
