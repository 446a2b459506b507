"""Typed events and the small pieces of ingestion: GitHub and CodeCommit events to push work,
the repository allow-list, signatures with several secrets, the app config, SQS ids, and
commit statuses against a loopback GitHub."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from smgitops.aws.github import GitHubStatuses, shorten
from smgitops.aws.queue import sqs_id
from smgitops.declaration.models import ChecksPolicy
from smgitops.handlers.reconcile import work_from
from smgitops.ingest import signature
from smgitops.ingest.allowlist import AllowList
from smgitops.ingest.codecommit import CodeCommitEvent
from smgitops.ingest.push import PayloadError, Push
from smgitops.ingest.work import Ignored, PushWork, parse_timestamp
from smgitops.reconcile import appconfig
from smgitops.urls import redact
from tests.conftest import load_event
from tests.support.ingest import FakeGitHub, body_of, fake_github

if TYPE_CHECKING:
    from collections.abc import Iterator

AFTER = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
SHA = "a" * 40


def _push(name: str) -> Push:
    return Push.parse(json.loads(body_of(load_event(name))))


def _work(push: Push, **kwargs: Any) -> PushWork | Ignored:
    """The work the webhook enqueues for ``push``, as the reconcile function reads it."""
    work = push.work(**kwargs)
    return work if isinstance(work, Ignored) else PushWork.of(work)


# --- GitHub -----------------------------------------------------------------------------------


def test_push_to_the_tracked_branch_is_work_with_the_ordering_key() -> None:
    work = _work(_push("github-push-main.json"), branch="main", delivery="d1", received_at=5.0)
    assert isinstance(work, PushWork)
    # the receive time, not the payload's repository.pushed_at (1714564800): a sender's clock
    assert work.commit == AFTER and work.pushed_at == 5.0
    assert work.source() == {
        "repository": "https://github.com/acme/ml-endpoints.git",
        "identity": "https://github.com/acme/ml-endpoints",
        "fullName": "acme/ml-endpoints",
        "ref": "refs/heads/main",
        "delivery": "d1",
        "provider": "github",
    }
    assert PushWork.model_validate_json(work.to_message()) == work


def test_pushed_at_may_be_an_iso_string_or_missing() -> None:
    data = json.loads(body_of(load_event("github-push-main.json")))
    data["repository"]["pushed_at"] = "2024-05-01T12:00:00Z"
    assert Push.parse(data).pushed_at == 1714564800.0
    del data["repository"]["pushed_at"]
    work = _work(Push.parse(data), branch="main", delivery="d", received_at=42.0)
    assert isinstance(work, PushWork) and work.pushed_at == 42.0


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("github-push-tag.json", "ignored: tag push v1.4.0"),
        ("github-push-branch-deleted.json", "ignored: branch main was deleted"),
        (
            "github-push-other-branch.json",
            "ignored: branch feature/new-model is not the tracked branch main",
        ),
    ],
)
def test_pushes_that_ask_for_nothing(name: str, reason: str) -> None:
    assert _work(_push(name), branch="main", delivery="d", received_at=0) == Ignored(reason)


def test_local_clone_urls_make_local_work() -> None:
    data = json.loads(body_of(load_event("github-push-main.json")))
    data["repository"]["clone_url"] = "/srv/git/models.git"
    work = _work(Push.parse(data), branch="main", delivery="d", received_at=0)
    assert isinstance(work, PushWork) and work.provider == "local"


def test_push_payload_rejects_bad_commit_ids() -> None:
    data = json.loads(body_of(load_event("github-push-main.json")))
    data["after"] = "HEAD; rm -rf /"
    with pytest.raises(PayloadError, match="after: Value error, not a hex commit id"):
        Push.parse(data)


# --- CodeCommit --------------------------------------------------------------------------------


def test_codecommit_reference_updated_and_created_become_work() -> None:
    for name in ("codecommit-reference-updated.json", "codecommit-reference-created.json"):
        event = load_event(name)
        work = CodeCommitEvent.model_validate(event).work(branch="main")
        assert isinstance(work, PushWork)
        assert work.provider == "codecommit"
        assert work.repository == (
            "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/ml-endpoints"
        )
        assert (work.full_name, work.commit, work.ref) == ("ml-endpoints", AFTER, "refs/heads/main")
        assert work.pushed_at == parse_timestamp("2024-05-01T12:00:00Z")
        assert work.delivery == event["id"]


def test_codecommit_events_that_ask_for_nothing() -> None:
    tag = CodeCommitEvent.model_validate(load_event("codecommit-tag-created.json"))
    assert tag.work(branch="main") == Ignored("ignored: tag v1.4.0 is not a branch")
    updated = load_event("codecommit-reference-updated.json")
    other = CodeCommitEvent.model_validate(updated).work(branch="release")
    assert other == Ignored("ignored: branch main is not the tracked branch release")
    deleted = json.loads(json.dumps(updated))
    deleted["detail"]["event"] = "referenceDeleted"
    del deleted["detail"]["commitId"]
    assert CodeCommitEvent.model_validate(deleted).work(branch="main") == Ignored(
        "ignored: CodeCommit event referenceDeleted"
    )


def test_sqs_bodies_are_push_work_or_codecommit_events() -> None:
    work = work_from(load_event("sqs-push-work.json")["Records"][0]["body"], branch="main")
    assert isinstance(work, PushWork) and work.commit == AFTER
    codecommit = work_from(
        load_event("sqs-codecommit-push.json")["Records"][0]["body"], branch="main"
    )
    assert isinstance(codecommit, PushWork) and codecommit.provider == "codecommit"
    assert work_from({"detail-type": "Other", "source": "x"}, branch="main") == Ignored(
        "ignored: EventBridge event Other"
    )
    with pytest.raises(ValueError, match="not a JSON object"):
        work_from("[1, 2]", branch="main")
    with pytest.raises(ValidationError):
        work_from({"kind": "push", "provider": "github"}, branch="main")


# --- allow-list, signatures, ids -------------------------------------------------------------


def test_allow_list_matches_normalised_urls_and_patterns_only() -> None:
    allow = AllowList.parse(
        "https://github.com/acme/ml-endpoints.git, https://GitHub.com/models/*, /srv/git/m.git"
    )
    assert allow.allows("https://github.com/acme/ml-endpoints")
    assert allow.allows("https://github.com/acme/ml-endpoints.git/")
    assert allow.allows("https://github.com/models/fraud.git")
    assert allow.allows("file:///srv/git/m.git")
    assert not allow.allows("https://github.com/acme/ml-endpoints-evil.git")
    assert not allow.allows("https://github.com/models/../acme/secrets.git")
    assert not allow.allows("https://user:token@github.com/acme/ml-endpoints.git")
    assert not allow.allows("http://github.com/acme/ml-endpoints.git")
    # what the identity would drop or a server might decode: never allowed (review, informational)
    for tail in ("?x=1", "#frag", "?@evil.example", "#@evil.example"):
        assert not allow.allows(f"https://github.com/acme/ml-endpoints{tail}")
    assert not allow.allows("https://github.com/models/%2e%2e/acme/secrets.git")
    assert not allow.allows("https://github.com/models/fraud%2Fevil")
    assert not allow.allows("https://github.com/models\\@evil.example/fraud")
    assert not AllowList.parse("").allows("https://github.com/acme/ml-endpoints.git")
    assert redact("https://user:token@github.com/x.git") == "https://***@github.com/x.git"


def test_signature_is_checked_against_every_candidate_secret() -> None:
    body = b'{"zen": "x"}'
    header = signature.sign(b"new", body)
    assert signature.verify([b"old", b"new"], body, header)
    assert signature.verify([b"new"], body, header.upper().replace("SHA256=", "sha256="))
    assert not signature.verify([b"old"], body, header)
    assert not signature.verify([], body, header)
    assert not signature.is_well_formed("sha256=xyz")
    assert signature.is_well_formed(header)


def test_sqs_ids_are_valid_and_distinct() -> None:
    assert sqs_id("acme/ml-endpoints") == "acme/ml-endpoints"
    long = "x" * 200
    assert len(sqs_id(long)) == 64 and sqs_id(long) != sqs_id(long + "y")
    assert sqs_id("with space") != "with space" and " " not in sqs_id("with space")


# --- app config -------------------------------------------------------------------------------


def test_app_config_overrides_settings_and_reports_located_problems() -> None:
    parsed = appconfig.parse(b"branch: release\ndeclarationsDir: deploy/sm/\nprune: true\n")
    assert parsed.problems == []
    effective = appconfig.effective(
        parsed.config, branch="main", declarations_dir="endpoints", prune=False
    )
    # prune: true cannot widen the operator's setting; prune: false narrows it
    assert effective == appconfig.Effective("release", "deploy/sm", False)
    on = appconfig.effective(parsed.config, branch="main", declarations_dir="x", prune=True)
    assert on.prune is True
    off = appconfig.parse(b"prune: false\n").config
    assert not appconfig.effective(off, branch="main", declarations_dir="x", prune=True).prune
    assert appconfig.parse(None).config == appconfig.AppConfig()
    assert appconfig.parse(b"unknown: 1\n").problems == [
        ".smgitops.yaml:1: unknown: unknown field; expected one of: "
        "branch, declarationsDir, prune, freeze, selfHeal, checks"
    ]
    assert appconfig.parse(b"- a\n").problems == [".smgitops.yaml:1: must be a mapping of settings"]
    assert appconfig.parse(b"a: [\n").problems[0].startswith(".smgitops.yaml:2: invalid YAML")
    # A leading "/" is the repository root; ".." can never leave it.
    assert appconfig.parse(b"declarationsDir: /deploy\n").config.declarations_dir == "deploy"
    assert appconfig.parse(b"declarationsDir: a/../../etc\n").problems == [
        ".smgitops.yaml:1: declarationsDir: 'a/../../etc' is not a relative path inside the "
        "repository"
    ]


def test_a_repository_narrows_the_checks_the_operator_allows_never_widens_them() -> None:
    assert (
        appconfig.effective(
            appconfig.parse(None).config, branch="main", declarations_dir="x", prune=False
        ).checks
        == ChecksPolicy.ACKNOWLEDGED
    )  # analysis: none in each file, as before
    for chosen in ("required", "acknowledged", "optional"):
        parsed = appconfig.parse(f"checks: {chosen}\n".encode())
        assert parsed.problems == []  # the operator's default allows every choice
        effective = appconfig.effective(
            parsed.config, branch="main", declarations_dir="x", prune=False
        )
        assert effective.checks == chosen
    allowed = ChecksPolicy.ACKNOWLEDGED
    assert appconfig.parse(b"checks: required\n", allowed=allowed).problems == []
    assert appconfig.parse(b"prune: false\nchecks: optional\n", allowed=allowed).problems == [
        ".smgitops.yaml:2: checks: optional is wider than the operator allows "
        "(SMGITOPS_CHECKS=acknowledged): a repository can narrow it, never widen it"
    ]
    assert appconfig.parse(b"checks: none\n").problems[0].startswith(".smgitops.yaml:1: checks:")
    assert ChecksPolicy.OPTIONAL.narrowed("required") == ChecksPolicy.REQUIRED
    assert ChecksPolicy.REQUIRED.narrowed("optional") == ChecksPolicy.REQUIRED
    assert ChecksPolicy.ACKNOWLEDGED.narrowed(None) == ChecksPolicy.ACKNOWLEDGED


# --- commit statuses ----------------------------------------------------------------------------


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    yield from fake_github()


def test_status_is_posted_with_bearer_token_and_a_short_description(github: FakeGitHub) -> None:
    statuses = GitHubStatuses(github.url, "tok-123")
    long = "rolled back: alarm churn-5xx-rate in ALARM at 25 % " * 5
    assert statuses.post("acme/ml-endpoints", SHA, "failure", "smgitops/churn", long)
    [request] = github.requests
    assert request.path == f"/repos/acme/ml-endpoints/statuses/{SHA}"
    assert request.headers["authorization"] == "Bearer tok-123"
    assert request.body["state"] == "failure"
    assert request.body["context"] == "smgitops/churn"
    assert len(request.body["description"]) == 140 and request.body["description"].endswith("…")
    assert "target_url" not in request.body
    assert "tok-123" not in repr(statuses)
    # a trailing newline is not a repository name (`$` would have matched before it)
    assert statuses.post("acme/ml-endpoints\n", SHA, "success", "smgitops/x", "ok") is False
    assert len(github.requests) == 1


def test_github_errors_return_false_and_never_raise(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.status = 500
    statuses = GitHubStatuses(github.url, "tok-456", timeout=0.5)
    assert statuses.post("acme/ml-endpoints", SHA, "success", "smgitops/x", "ok") is False
    github.status, github.delay = 201, 2.0
    start = time.monotonic()
    assert statuses.post("acme/ml-endpoints", SHA, "success", "smgitops/x", "ok") is False
    assert time.monotonic() - start < 1.5  # the short timeout, not GitHub's pace
    assert statuses.post("acme/../../admin", SHA, "success", "smgitops/x", "ok") is False
    assert statuses.post("acme/ml-endpoints", "HEAD", "success", "smgitops/x", "ok") is False
    assert GitHubStatuses("http://127.0.0.1:9", "t").post("a/b", SHA, "error", "c", "d") is False
    assert "tok-456" not in capsys.readouterr().out


def test_redirects_are_not_followed(github: FakeGitHub) -> None:
    github.status = 302
    assert GitHubStatuses(github.url, "tok").post("a/b", SHA, "pending", "c", "d") is False
    assert len(github.requests) == 1


def test_shorten_keeps_one_line() -> None:
    assert shorten("a\n  b\tc") == "a b c"
    assert len(shorten("x" * 500)) == 140


def test_a_signature_by_the_first_of_several_secrets_is_accepted_and_named() -> None:
    """During a rotation both secrets are candidates, in either order: a match is kept, never
    overwritten by the candidates compared after it."""
    body = b'{"zen": "x"}'
    header = signature.sign(b"new", body)
    assert signature.verify([b"new", b"old"], body, header)
    assert signature.signers([("current", b"new"), ("previous", b"old")], body, header) == {
        "current"
    }


def test_a_header_in_upper_case_hex_is_well_formed_and_a_non_ascii_one_is_refused() -> None:
    body = b'{"zen": "x"}'
    upper = "sha256=" + signature.sign(b"new", body).removeprefix("sha256=").upper()
    assert signature.is_well_formed(upper) and signature.verify([b"new"], body, upper)
    foreign = "sha256=" + "é" * 64
    assert not signature.is_well_formed(foreign)
    # compared as bytes: a character ASCII cannot encode makes a mismatch, not an exception
    assert not signature.verify([b"new"], body, foreign)
    assert signature.signers([("current", b"new")], body, foreign) == frozenset()


@pytest.mark.parametrize(
    "header",
    [
        "sha256=" + "X" * 64,  # not a hex digit
        "sha256=" + "g" * 64,
        "sha256=" + "a" * 63,
        "sha256=" + "a" * 65,
        "sha1=" + "a" * 64,
        "SHA256=" + "a" * 64,
        "a" * 71,
        "",
    ],
)
def test_a_header_that_is_not_sha256_and_64_hex_digits_is_malformed(header: str) -> None:
    assert not signature.is_well_formed(header)
