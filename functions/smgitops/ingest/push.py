"""A push without pydantic: GitHub's ``push`` and ``ping`` payloads read by hand, and the reconcile
work a push asks for as the webhook enqueues it.

The webhook function must start fast (target: its import at most 1.3x ``import boto3``), and
importing pydantic alone costs more than that budget, so nothing on the webhook's path imports
it. The payloads are validated here as strictly as pydantic's strict mode, in its words (strict
JSON types, limits, every problem located at its field; ``tests/unit/test_ingest_push.py``
checks the rules on thousands of generated payloads), and the work is a :class:`WorkMessage`
whose JSON the reconcile function validates as :class:`~smgitops.ingest.work.PushWork`. This
module only needs the standard library.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from smgitops.urls import identity_of

if TYPE_CHECKING:
    from collections.abc import Mapping

Provider = Literal["github", "codecommit", "local"]

# \Z, not $: "$" also matches before a final newline, and a commit id never ends with one.
COMMIT_SHA = re.compile(r"\A(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
ZERO_SHA = re.compile(r"\A0+\Z")
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
NOT_A_SHA = "not a hex commit id"
# Limits shared with the reconcile side's pydantic model (smgitops.ingest.work.PushWork).
MAX_REF = 1024
MAX_FULL_NAME = 256
MAX_CLONE_URL = 2048
MAX_PUSHER = 256


def is_local_url(url: str) -> bool:
    """A local path or ``file://`` URL: the local runtime's stand-in for GitHub."""
    return url.startswith(("/", "file://", "./", "../"))


MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: what every date library can represent


def parse_timestamp(value: str) -> float:
    """Seconds since the epoch from an ISO 8601 string (``Z`` or an offset; UTC without one)."""
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not a timestamp") from None


def claim_key(identity: str, ref: str, before: str | None, after: str) -> str:
    """One push, whatever delivery id it comes with: sha256 of repository, ref, before, after."""
    text = "\n".join((identity, ref, before or "0" * 40, after))
    return "push-" + hashlib.sha256(text.encode()).hexdigest()


class Ignored(NamedTuple):
    """An event that is authentic but asks for nothing to be done, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class WorkMessage:
    """The reconcile work of one push, as the webhook builds and enqueues it.

    The same fields as :class:`~smgitops.ingest.work.PushWork` (which validates this JSON on
    the reconcile side and serialises itself through this class): one wire format, one writer.
    """

    provider: Provider
    repository: str  # clone URL or local path
    full_name: str  # owner/repo or repo name: display only, never trusted (see identity)
    ref: str
    commit: str
    pushed_at: float  # when smgitops received the push (never the payload's own clock)
    delivery: str
    before: str | None = None
    pusher: str | None = None

    @property
    def identity(self) -> str:
        """The repository's identity: its clone URL, normalised (the one the allow-list
        matched). Ownership, the push store, the queue's message group and the commit-status
        target all derive from it."""
        return identity_of(self.repository)

    @property
    def claim_key(self) -> str:
        """What the signature covers, as a dedupe key: repository, ref, before, after."""
        return claim_key(self.identity, self.ref, self.before, self.commit)

    def fields(self) -> dict[str, Any]:
        """The message as a JSON object: camelCase keys, ``kind`` first, no null values."""
        values = {
            "kind": "push",
            "provider": self.provider,
            "repository": self.repository,
            "fullName": self.full_name,
            "ref": self.ref,
            "commit": self.commit,
            "pushedAt": self.pushed_at,
            "delivery": self.delivery,
            "before": self.before,
            "pusher": self.pusher,
        }
        return {key: value for key, value in values.items() if value is not None}

    def to_message(self) -> str:
        # ASCII only: SQS refuses some Unicode code points in a message body; escapes are safe.
        return json.dumps(self.fields(), separators=(",", ":"), ensure_ascii=True, allow_nan=False)


# --- validation by hand --------------------------------------------------------------------


class Problem(NamedTuple):
    where: str  # dotted field path, e.g. "repository.clone_url"
    message: str  # pydantic's words for the same problem


class PayloadError(ValueError):
    """A JSON object that is not the payload it should be; ``problems`` lists every problem."""

    def __init__(self, kind: str, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"not a {kind} payload: {self.summary()}")

    def summary(self) -> str:
        """The first problem, and how many more: ``before: Field required (+2 more)``."""
        first = self.problems[0]
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{first.where}: {first.message}{more}"


_MISSING: Any = object()


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _characters(count: int) -> str:
    return f"{count} character{'' if count == 1 else 's'}"


class _Fields:
    """Reads the fields of one JSON object, recording every problem instead of stopping at one.

    Strict JSON types, as pydantic's strict mode: a string is a string, a boolean is ``true`` or
    ``false`` (never ``1`` or ``"true"``), an integer is not a boolean, a number is an integer or
    a float. After a problem a reader returns an empty value: the caller raises
    :class:`PayloadError` when any problem was recorded, before using what was read.
    """

    def __init__(self, data: Mapping[str, Any], problems: list[Problem], path: str = "") -> None:
        self._data = data
        self._path = path
        self._problems = problems

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def problem(self, key: str, message: str) -> None:
        self._problems.append(Problem(self._where(key), message))

    def _value(self, key: str, *, required: bool = False) -> Any:
        value = self._data.get(key, _MISSING)
        if value is _MISSING and required:
            self.problem(key, "Field required")
        return value

    def text(self, key: str, *, min_length: int, max_length: int) -> str:
        """A required string ("" after a problem: the caller raises before using it)."""
        value = self._value(key, required=True)
        if value is _MISSING:
            return ""
        return self._string(key, value, min_length, max_length) or ""

    def optional_text(self, key: str, *, max_length: int | None = None) -> str | None:
        value = self._value(key)
        if value is _MISSING or value is None:
            return None
        return self._string(key, value, 0, max_length)

    def _string(self, key: str, value: Any, min_length: int, max_length: int | None) -> str | None:
        if not isinstance(value, str):
            self.problem(key, "Input should be a valid string")
            return None
        if (min_length or max_length is not None) and not _is_unicode(value):
            # a lone surrogate from a "\ud800" escape (checked, as by pydantic, where a string
            # is limited: every string that travels on, to DynamoDB or SQS, is)
            self.problem(
                key, "Input should be a valid string, unable to parse raw data as a unicode string"
            )
            return None
        if len(value) < min_length:
            self.problem(key, f"String should have at least {_characters(min_length)}")
            return None
        if max_length is not None and len(value) > max_length:
            self.problem(key, f"String should have at most {_characters(max_length)}")
            return None
        return value

    def sha(self, key: str) -> str:
        """A full commit id, or all zeros (a branch created or deleted)."""
        value = self._value(key, required=True)
        text = None if value is _MISSING else self._string(key, value, 0, None)
        if text is None:
            return ""
        if not (COMMIT_SHA.match(text) or ZERO_SHA.match(text)):
            self.problem(key, f"Value error, {NOT_A_SHA}")
            return ""
        return text

    def flag(self, key: str) -> bool:
        """An optional boolean, ``False`` when absent."""
        value = self._value(key)
        if value is _MISSING:
            return False
        if not isinstance(value, bool):
            self.problem(key, "Input should be a valid boolean")
            return False
        return value

    def integer(self, key: str) -> int | None:
        """An optional integer (``null`` allowed)."""
        value = self._value(key)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, "Input should be a valid integer")
            return None
        return value

    def timestamp(self, key: str) -> float | None:
        """An optional ordering key: seconds since the epoch (a number or an ISO 8601 string),
        finite and not negative."""
        value = self._value(key)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, str):
            try:
                value = parse_timestamp(value)
            except ValueError as exc:
                self.problem(key, f"Value error, {exc}")
                return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(key, "Input should be a valid number")
            return None
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            self.problem(key, "Input should be a valid number")
            return None
        if not math.isfinite(number):
            self.problem(key, "Input should be a finite number")
            return None
        if number < 0:
            self.problem(key, "Input should be greater than or equal to 0")
            return None
        if number > MAX_TIMESTAMP:
            self.problem(key, f"Input should be less than or equal to {MAX_TIMESTAMP}")
            return None
        return number

    def object(self, key: str, model: str, *, required: bool = False) -> _Fields | None:
        """A nested JSON object (``model`` names it in the message, as pydantic does)."""
        value = self._value(key, required=required)
        if value is _MISSING or (value is None and not required):
            return None
        if not isinstance(value, dict):
            self.problem(key, f"Input should be a valid dictionary or instance of {model}")
            return None
        return _Fields(value, self._problems, self._where(key))


# --- the payloads --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Push:
    """A GitHub ``push`` payload: only the fields smgitops reads (GitHub adds fields freely)."""

    ref: str
    before: str
    after: str
    full_name: str
    clone_url: str
    pushed_at: float | None = None  # repository.pushed_at: an integer, or an ISO string
    deleted: bool = False
    pusher: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Push:
        """Validate a decoded JSON object; raises :class:`PayloadError` with every problem."""
        problems: list[Problem] = []
        fields = _Fields(data, problems)
        ref = fields.text("ref", min_length=1, max_length=MAX_REF)
        before = fields.sha("before")
        after = fields.sha("after")
        fields.flag("created")
        deleted = fields.flag("deleted")
        fields.flag("forced")
        full_name = clone_url = ""
        pushed_at = None
        repository = fields.object("repository", "Repository", required=True)
        if repository is not None:
            full_name = repository.text("full_name", min_length=1, max_length=MAX_FULL_NAME)
            clone_url = repository.text("clone_url", min_length=1, max_length=MAX_CLONE_URL)
            pushed_at = repository.timestamp("pushed_at")
        pusher = fields.object("pusher", "Pusher")
        name = pusher.optional_text("name", max_length=MAX_PUSHER) if pusher else None
        if problems:
            raise PayloadError("push", problems)
        return cls(ref, before, after, full_name, clone_url, pushed_at, deleted, name)

    def is_deletion(self) -> bool:
        return self.deleted or bool(ZERO_SHA.match(self.after))

    def work(self, *, branch: str, delivery: str, received_at: float) -> WorkMessage | Ignored:
        """The reconcile work this push asks for, or why it asks for none."""
        if self.ref.startswith(TAG_PREFIX):
            return Ignored(reason=f"ignored: tag push {self.ref.removeprefix(TAG_PREFIX)}")
        if not self.ref.startswith(BRANCH_PREFIX):
            return Ignored(reason=f"ignored: {self.ref} is not a branch")
        pushed = self.ref.removeprefix(BRANCH_PREFIX)
        if pushed != branch:
            return Ignored(reason=f"ignored: branch {pushed} is not the tracked branch {branch}")
        if self.is_deletion():
            return Ignored(reason=f"ignored: branch {pushed} was deleted")
        return WorkMessage(
            provider="local" if is_local_url(self.clone_url) else "github",
            repository=self.clone_url,
            full_name=self.full_name,
            ref=self.ref,
            commit=self.after,
            # The payload's repository.pushed_at is the sender's word: a forged far-future value
            # would make every later push "stale". The receive time orders pushes instead.
            pushed_at=received_at,
            delivery=delivery,
            before=None if ZERO_SHA.match(self.before) else self.before,
            pusher=self.pusher,
        )


@dataclass(frozen=True, slots=True)
class Ping:
    """A GitHub ``ping`` payload (sent when a hook is created): the hook's id."""

    id: int | None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Ping:
        problems: list[Problem] = []
        fields = _Fields(data, problems)
        fields.optional_text("zen")
        hook_id = fields.integer("hook_id")
        hook = fields.object("hook", "Hook")
        nested = hook.integer("id") if hook else None
        if problems:
            raise PayloadError("ping", problems)
        return cls(hook_id if hook_id is not None else nested)
