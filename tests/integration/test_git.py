"""Fetching at the pushed commit with GitPython: real repositories in tmp_path, a loopback HTTP
server standing in for an HTTPS remote (to see the credentials git sends)."""

from __future__ import annotations

import base64
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smgitops.aws.secrets import token_from
from smgitops.errors import CommitNotOnBranchError, ConfigurationError, GitFetchError
from smgitops.git.credentials import GitCredentials
from smgitops.git.repository import GitFetcher, Limits, Snapshot, confined, folder_name
from tests.support.ingest import GitRemote

if TYPE_CHECKING:
    from collections.abc import Iterator

PASSWORD = "s3cr3t-token-value"


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    return GitRemote(tmp_path)


def test_fetches_exactly_the_pushed_commit_not_the_branch_tip(
    remote: GitRemote, tmp_path: Path
) -> None:
    remote.declare("churn-predictor", version=1)
    first = remote.commit("v1")
    remote.declare("churn-predictor", version=2)
    remote.commit("v2")
    fetcher = GitFetcher(tmp_path / "work")
    snapshot = fetcher.fetch(remote.url, first)
    assert snapshot.sha == first
    data = snapshot.read("endpoints/churn-predictor.yaml")
    assert data is not None and b"churn/v1/model.tar.gz" in data
    # Shallow: only that commit's history is here (depth 1).
    assert snapshot.repo.git.rev_list("--count", first) == "1"
    assert snapshot.read("endpoints/missing.yaml") is None
    assert snapshot.read("../../etc/passwd") is None


def test_file_urls_work_like_paths(remote: GitRemote, tmp_path: Path) -> None:
    remote.declare("churn-predictor")
    sha = remote.commit("v1")
    snapshot = GitFetcher(tmp_path / "work").fetch(f"file://{remote.url}", sha)
    assert snapshot.sha == sha and snapshot.read("endpoints/churn-predictor.yaml")


def test_the_local_repository_is_reused_across_invocations(
    remote: GitRemote, tmp_path: Path
) -> None:
    remote.declare("churn-predictor", version=1)
    first = remote.commit("v1")
    remote.declare("churn-predictor", version=2)
    second = remote.commit("v2")
    fetcher = GitFetcher(tmp_path / "work")
    one = fetcher.fetch(remote.url, first)
    two = GitFetcher(tmp_path / "work").fetch(remote.url, second)  # a new "invocation"
    assert Path(one.repo.git_dir) == Path(two.repo.git_dir) == fetcher.repository(remote.url)
    # A commit already fetched needs no remote at all.
    os.rename(remote.url, remote.url + ".gone")
    assert fetcher.fetch(remote.url, first).sha == first


def test_checkout_exports_only_regular_files_into_a_scratch_folder_then_removes_it(
    remote: GitRemote, tmp_path: Path
) -> None:
    remote.declare("churn-predictor")
    link = remote.root / "endpoints" / "passwd.yaml"
    link.symlink_to("/etc/passwd")
    remote.work.index.add(["endpoints/passwd.yaml"])
    sha = remote.commit("with a symlink")
    fetcher = GitFetcher(tmp_path / "work")
    with fetcher.checkout(remote.url, sha) as (snapshot, scratch):
        problems = snapshot.export("endpoints", scratch)
        assert problems == ["endpoints/passwd.yaml:1: symlinks are not followed; not read"]
        assert sorted(p.name for p in (scratch / "endpoints").iterdir()) == ["churn-predictor.yaml"]
        assert scratch.is_relative_to((tmp_path / "work").resolve())
    assert not scratch.exists()


def test_unknown_commit_and_bad_inputs_are_clear_errors(remote: GitRemote, tmp_path: Path) -> None:
    remote.declare("churn-predictor")
    remote.commit("v1")
    fetcher = GitFetcher(tmp_path / "work")
    with pytest.raises(GitFetchError, match=r"fetching abababababab from .* failed \(git exit"):
        fetcher.fetch(remote.url, "ab" * 20)
    with pytest.raises(GitFetchError, match="not a full commit id"):
        fetcher.fetch(remote.url, "HEAD")
    with pytest.raises(GitFetchError, match="starts with '-'"):
        fetcher.fetch("--upload-pack=touch /tmp/pwned", "ab" * 20)
    with pytest.raises(ConfigurationError, match="must be absolute"):
        GitFetcher(Path("relative/work"))


def test_only_https_and_local_transports_are_allowed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    fetcher = GitFetcher(tmp_path / "work")
    with pytest.raises(GitFetchError):
        fetcher.fetch(f"ext::sh -c touch% {marker}", "ab" * 20)
    assert not marker.exists()


@given(url=st.text(min_size=1, max_size=200))
def test_the_repository_folder_never_leaves_the_work_folder(url: str) -> None:
    work = Path("/tmp/smgitops-test-work")  # resolved, never written
    path = GitFetcher(work).repository(url)
    assert path.parent == work.resolve() / "repos"
    assert "/" not in folder_name(url) and folder_name(url) not in ("", ".", "..")


def test_confined_refuses_escapes(tmp_path: Path) -> None:
    assert confined(tmp_path, "repos", "x") == tmp_path.resolve() / "repos" / "x"
    for parts in (("..", "etc"), ("/etc",), ("repos", "..", "..")):
        with pytest.raises(ConfigurationError):
            confined(tmp_path, *parts)


# --- credentials ---------------------------------------------------------------------------------


@pytest.fixture
def https_remote() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback "remote" that records request headers and answers 404 (no repository)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/acme/models.git", seen
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_reach_git_as_a_header_and_nowhere_else(
    https_remote: tuple[str, list[dict[str, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, seen = https_remote
    # The loopback server speaks plain HTTP: let this test treat it as HTTPS.
    monkeypatch.setattr("smgitops.git.repository._HTTPS", ("https://", "http://127.0.0.1:"))
    monkeypatch.setattr("smgitops.git.repository._PROTOCOLS", "https:http:file")
    credentials = GitCredentials("x-access-token", PASSWORD)
    fetcher = GitFetcher(tmp_path / "work", lambda _: credentials)
    with caplog.at_level("DEBUG"), pytest.raises(GitFetchError) as raised:
        fetcher.fetch(url, "ab" * 20)
    expected = base64.b64encode(f"x-access-token:{PASSWORD}".encode()).decode()
    assert seen and seen[0]["authorization"] == f"Basic {expected}"
    assert PASSWORD not in str(raised.value) and expected not in str(raised.value)
    assert PASSWORD not in repr(credentials)
    assert PASSWORD not in caplog.text and expected not in caplog.text
    for path in (tmp_path / "work").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert PASSWORD.encode() not in content and expected.encode() not in content, path


def test_git_credentials_secret_formats() -> None:
    assert GitCredentials.parse('{"username": "u", "password": "p"}') == GitCredentials("u", "p")
    assert GitCredentials.parse("ghp_token") == GitCredentials("x-access-token", "ghp_token")
    assert GitCredentials.parse('{"token": "t"}') == GitCredentials("x-access-token", "t")
    with pytest.raises(ConfigurationError):
        GitCredentials.parse('{"username": "u"}')
    with pytest.raises(ConfigurationError, match="git credentials secret is not valid JSON"):
        GitCredentials.parse('{"password": hunter2}')


def test_github_token_secret_formats() -> None:
    assert token_from(" ghp_token\n") == "ghp_token"
    assert token_from('{"token": "t"}') == "t"
    with pytest.raises(ConfigurationError, match="GitHub token secret has no token"):
        token_from('{"password": "p"}')
    with pytest.raises(ConfigurationError, match="GitHub token secret is not valid JSON") as err:
        token_from('{"token": hunter2}')
    assert "hunter2" not in str(err.value)


def test_snapshot_reads_a_local_clone_at_any_ref(remote: GitRemote) -> None:
    remote.declare("churn-predictor", version=1)
    first = remote.commit("v1")
    remote.declare("churn-predictor", version=2)
    remote.commit("v2")
    at_first = Snapshot.open(remote.root, "HEAD~1")
    assert at_first.sha == first
    assert b"churn/v1/" in (at_first.read("endpoints/churn-predictor.yaml") or b"")
    with pytest.raises(GitFetchError, match="cannot read 'nope'"):
        Snapshot.open(remote.root, "nope")


# --- bounded work (security review 6 and 8) ------------------------------------------------


def _blob_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every blob whose content is read (its data stream opened)."""
    from git import Blob

    read: list[str] = []
    original = Blob.data_stream.fget  # type: ignore[attr-defined]

    def spy(blob: Blob) -> object:
        read.append(str(blob.path))
        return original(blob)

    monkeypatch.setattr(Blob, "data_stream", property(spy))
    return read


def test_limits_are_checked_from_the_tree_before_any_file_is_read(
    remote: GitRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.declare("churn-predictor")
    remote.write("endpoints/huge.yaml", "0" * 300_000)  # packs to a few hundred bytes
    sha = remote.commit("a huge file")
    fetcher = GitFetcher(tmp_path / "work")
    read = _blob_reads(monkeypatch)
    with fetcher.checkout(remote.url, sha) as (snapshot, scratch):
        limits = Limits(max_file_bytes=256 * 1024, max_files=10)
        problems = snapshot.export("endpoints", scratch, limits=limits)
        assert problems == [
            "endpoints/huge.yaml:1: file is 300000 bytes, over the limit of 262144; not read"
        ]
        assert read == ["endpoints/churn-predictor.yaml"]
        read.clear()
        # over the file count or the total: nothing is read or written at all
        few = Limits(max_file_bytes=10**6, max_files=1, noun="declaration files")
        assert snapshot.export("endpoints", scratch / "b", limits=few) == [
            "endpoints:1: 2 declaration files, over the cap of 1 per push; nothing read"
        ]
        small = Limits(max_file_bytes=10**6, max_files=10, max_total_bytes=1000)
        assert "over 1000; nothing read" in snapshot.export("endpoints", scratch, limits=small)[0]
        assert read == [] and not (scratch / "b").exists()


def test_an_unsafe_name_or_deep_folders_are_problems_not_crashes(
    remote: GitRemote, tmp_path: Path
) -> None:
    remote.declare("churn-predictor")
    remote.write("endpoints/bad\\name.yaml", "x: 1")
    remote.write("endpoints/" + "/".join("d" * 5) + "/deep.yaml", "x: 1")
    sha = remote.commit("poison")
    with GitFetcher(tmp_path / "work").checkout(remote.url, sha) as (snapshot, scratch):
        problems = snapshot.export("endpoints", scratch, limits=Limits(10**6, 10, max_depth=3))
    assert problems == [
        "endpoints/bad\\name.yaml:1: file name not allowed; not read",
        "endpoints/d/d/d/d:1: folders nested deeper than 3; not read",
    ]


def test_a_commit_that_is_not_on_the_tracked_branch_is_refused(
    remote: GitRemote, tmp_path: Path
) -> None:
    remote.declare("churn-predictor")
    on_main = remote.commit("v1")
    remote.declare("churn-predictor", version=2)
    unmerged = remote.commit("a pull request", branch="refs/pull/1/head")
    fetcher = GitFetcher(tmp_path / "work")
    assert fetcher.fetch(remote.url, on_main, branch="main").sha == on_main
    with pytest.raises(CommitNotOnBranchError, match="is not on branch main"):
        fetcher.fetch(remote.url, unmerged, branch="main")
    with pytest.raises(CommitNotOnBranchError):
        fetcher.fetch(remote.url, "ab" * 20, branch="main")  # unknown: no retry either
