"""A repository read at exactly one commit, with GitPython.

- :class:`GitFetcher` keeps one bare repository per remote under the work folder (reused across
  warm invocations) and fetches just the pushed commit (``--depth 1``). HTTPS credentials go to
  git through ``GIT_CONFIG_*`` environment variables as an ``http.<url>.extraHeader``: never on
  a command line, never in ``.git/config``, never in a log.
- :class:`Snapshot` reads files of that commit straight from the object database (no worktree,
  no checkout) and exports a folder of it for the declaration loader.

Every folder it writes is confined to the work folder: remote names are sanitised and every
resolved path is checked to stay inside.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import re
import shutil
import stat
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from git import BadName, Blob, GitCommandError, Repo, Tree
from git.exc import GitError

from smgitops.errors import CommitNotOnBranchError, ConfigurationError, GitFetchError
from smgitops.git.paths import safe_relative
from smgitops.urls import redact

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from git import Commit

    from smgitops.git.credentials import GitCredentials

FETCH_TIMEOUT_S = 120
FETCHED_REF = "refs/smgitops/fetched"
BRANCH_REF = "refs/smgitops/branch"  # the tracked branch as last fetched
BRANCH_DEPTHS = (50, 1000)  # history fetched to find the pushed commit on the branch
_BRANCH_NAME = re.compile(r"\A(?!-)[A-Za-z0-9._/-]{1,255}\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_SYMLINK = 0o120000
_HTTPS = ("https://",)  # credentials are only ever sent over these
_PROTOCOLS = "https:file"  # GIT_ALLOW_PROTOCOL: no ssh, git://, ext::, http


def folder_name(url: str) -> str:
    """A safe, unique, readable folder name for a remote: ``<tail>-<hash>``."""
    tail = _UNSAFE.sub("-", url.rstrip("/").rsplit("/", 2)[-1] if "/" in url else url)
    tail = tail.strip(".-")[:48] or "repo"
    return f"{tail}-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def confined(root: Path, *parts: str) -> Path:
    """``root/parts…`` resolved, refused if it is not inside ``root``."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base) or target == base:
        raise ConfigurationError(f"refusing path outside the work folder: {'/'.join(parts)}")
    return target


class Limits(NamedTuple):
    """What one export may read, checked from the tree (object headers) before any blob is
    read or written: a few KiB of repository must not make reconcile write gigabytes."""

    max_file_bytes: int  # per file (the loader's limit for what the file is used for)
    max_files: int  # files the export would write
    noun: str = "files"  # what they are, in the problem: "declaration files"
    max_total_bytes: int = 64 * 1024 * 1024
    max_depth: int = 16  # folders below the exported one
    max_entries: int = 100_000  # tree entries looked at, wanted or not


DEFAULT_LIMITS = Limits(max_file_bytes=1024 * 1024, max_files=1000)


def _is_local(url: str) -> bool:
    return url.startswith(("/", "file://"))


def _auth_env(url: str, credentials: GitCredentials | None) -> dict[str, str]:
    """Environment that makes git non-interactive, restricted to https/file and, for HTTPS
    remotes with credentials, sends them as a header scoped to this URL."""
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": _PROTOCOLS,
        "GIT_CONFIG_COUNT": "0",
    }
    if credentials is not None and url.startswith(_HTTPS):
        token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode())
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.{url}.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token.decode()}",
            }
        )
    return env


class Snapshot:
    """The files of one commit, read from the object database."""

    def __init__(self, repo: Repo, commit: Commit) -> None:
        self.repo = repo
        self.commit = commit

    @property
    def sha(self) -> str:
        return str(self.commit.hexsha)

    @property
    def committed_at(self) -> float:
        return float(self.commit.committed_date)

    @property
    def message(self) -> str:
        message = self.commit.message
        return message if isinstance(message, str) else message.decode("utf-8", "replace")

    @classmethod
    def open(cls, path: Path, ref: str = "HEAD") -> Snapshot:
        """A local clone at ``ref`` (branch, tag, sha, ``HEAD~2``…), for ``smgitops plan``."""
        try:
            repo = Repo(path)
            commit = repo.commit(ref)
        except (GitError, BadName, ValueError, OSError) as exc:
            raise GitFetchError(f"cannot read {ref!r} in {path}: {type(exc).__name__}") from None
        return cls(repo, commit)

    def _entry(self, path: str) -> Blob | Tree | None:
        try:
            entry = self.commit.tree / str(safe_relative(path))
        except (KeyError, ValueError):
            return None
        return entry if isinstance(entry, Blob | Tree) else None

    def read(self, path: str) -> bytes | None:
        """A file's bytes at this commit, or None if it is absent (or not a regular file)."""
        entry = self._entry(path)
        if not isinstance(entry, Blob) or entry.mode == _SYMLINK:
            return None
        data: bytes = entry.data_stream.read()
        return data

    def export(
        self,
        folder: str,
        destination: Path,
        *,
        limits: Limits = DEFAULT_LIMITS,
        wanted: Callable[[str], bool] = lambda path: True,
    ) -> list[str]:
        """Write the wanted regular files under ``folder`` into ``destination/folder``.

        Returns the problems, ``path:1: reason``: symlinks and submodules (never followed),
        names that are not safe relative paths, files over ``limits.max_file_bytes`` (not
        read). Over the file count, total size, depth or entry limits nothing is written at
        all. Every check uses the tree and the objects' headers only.
        """
        entry = self._entry(folder)
        if not isinstance(entry, Tree):
            return []
        chosen, problems = self._choose(entry, limits, wanted)
        if problems and not chosen:
            return problems
        base = destination.resolve()
        for path, blob in chosen:
            target = base.joinpath(*PurePosixPath(path).parts)
            if not target.resolve().is_relative_to(base):  # pragma: no cover - names checked
                problems.append(f"{path}:1: file name not allowed; not read")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.data_stream.read())
            target.chmod(stat.S_IRUSR | stat.S_IWUSR)
        return problems

    @staticmethod
    def _choose(
        top: Tree, limits: Limits, wanted: Callable[[str], bool]
    ) -> tuple[list[tuple[str, Blob]], list[str]]:
        """The files to write and the problems, from the tree alone (nothing read)."""
        chosen: list[tuple[str, Blob]] = []
        problems: list[str] = []
        total = seen = 0
        stack: list[tuple[Tree, int]] = [(top, 0)]
        while stack:
            tree, depth = stack.pop()
            for item in tree:
                seen += 1
                if seen > limits.max_entries:
                    return [], [f"{top.path}:1: over {limits.max_entries} entries; not read"]
                path = str(item.path)
                if not _safe(path):
                    problems.append(f"{path}:1: file name not allowed; not read")
                elif isinstance(item, Tree):
                    if depth + 1 > limits.max_depth:
                        problems.append(
                            f"{path}:1: folders nested deeper than {limits.max_depth}; not read"
                        )
                    else:
                        stack.append((item, depth + 1))
                elif not isinstance(item, Blob) or item.mode == _SYMLINK:
                    problems.append(f"{path}:1: symlinks are not followed; not read")
                elif wanted(path):
                    size = int(item.size)  # the object header: the blob is not read
                    if size > limits.max_file_bytes:
                        problems.append(
                            f"{path}:1: file is {size} bytes, over the limit of "
                            f"{limits.max_file_bytes}; not read"
                        )
                        continue
                    total += size
                    chosen.append((path, item))
        if len(chosen) > limits.max_files:
            cap = f"{top.path}:1: {len(chosen)} {limits.noun}, over the cap of {limits.max_files}"
            return [], [f"{cap} per push; nothing read"]
        if total > limits.max_total_bytes:
            over = f"{top.path}:1: {total} bytes in {len(chosen)} {limits.noun}"
            return [], [f"{over}, over {limits.max_total_bytes}; nothing read"]
        return sorted(chosen), problems

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """``ancestor`` is reachable from ``descendant`` (both commit ids or refs)."""
        try:
            self.repo.git.merge_base("--is-ancestor", ancestor, descendant)
        except GitCommandError:
            return False
        return True


def _safe(path: str) -> bool:
    try:
        safe_relative(path)
    except ValueError:
        return False
    return True


class GitFetcher:
    """Fetches one commit of a remote into a per-remote bare repository under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        credentials: Callable[[str], GitCredentials | None] | None = None,
        timeout: float = FETCH_TIMEOUT_S,
    ) -> None:
        if not workdir.is_absolute():
            raise ConfigurationError(f"work folder must be absolute: {workdir}")
        self.workdir = workdir
        self.credentials = credentials
        self.timeout = timeout

    def repository(self, url: str) -> Path:
        """The (confined) folder holding ``url``'s objects."""
        return confined(self.workdir, "repos", folder_name(url))

    @contextmanager
    def checkout(
        self, url: str, commit: str, *, branch: str | None = None
    ) -> Iterator[tuple[Snapshot, Path]]:
        """Fetch ``commit`` (on ``branch``, when given); yield its snapshot and an empty
        scratch folder (confined to the work folder, removed afterwards) to export into."""
        snapshot = self.fetch(url, commit, branch=branch)
        scratch = confined(self.workdir, "checkouts", f"{folder_name(url)}-{commit[:12]}")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True, mode=0o700)
        try:
            yield snapshot, scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def fetch(self, url: str, commit: str, *, branch: str | None = None) -> Snapshot:
        """``commit`` of ``url``. With ``branch``: the branch is fetched too, and a commit that
        is not reachable from it (a pull request's head, a fork's commit, an unknown id) raises
        :class:`CommitNotOnBranchError` — never deployed, never retried."""
        with self._locked(url) as repo:
            if branch is None:
                return self._fetch(repo, url, commit)
            return self._on_branch(repo, url, commit, branch)

    def _on_branch(self, repo: Repo, url: str, commit: str, branch: str) -> Snapshot:
        if not _SHA.match(commit):
            raise GitFetchError(f"not a full commit id: {commit[:80]!r}")
        if not _BRANCH_NAME.match(branch) or ".." in branch:
            raise ConfigurationError(f"not a branch name: {branch[:80]!r}")
        for depth in BRANCH_DEPTHS:
            refspec = f"+refs/heads/{branch}:{BRANCH_REF}"
            self._git_fetch(repo, url, f"branch {branch}", f"--depth={depth}", refspec)
            have = self._commit(repo, commit)
            if have is not None and Snapshot(repo, have).is_ancestor(commit, BRANCH_REF):
                repo.git.update_ref(FETCHED_REF, commit)
                return Snapshot(repo, have)
        raise CommitNotOnBranchError(
            f"commit {commit[:12]} is not on branch {branch} of {redact(url)} (as fetched, "
            f"{BRANCH_DEPTHS[-1]} commits deep): not deployed"
        )

    def _git_fetch(self, repo: Repo, url: str, what: str, *args: str) -> None:
        """``git fetch <args…> -- <url> <last arg>``, non-interactive, credentials scoped."""
        credentials = None
        if self.credentials is not None and not _is_local(url):
            credentials = self.credentials(url)
        try:
            with repo.git.custom_environment(**_auth_env(url, credentials)):
                repo.git.fetch(
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--quiet",
                    *args[:-1],
                    "--",
                    url,
                    args[-1],
                    kill_after_timeout=self.timeout,
                )
        except GitCommandError as exc:
            raise GitFetchError(
                f"fetching {what} from {redact(url)} failed (git exit {exc.status}): "
                f"{_last_line(exc.stderr)}"
            ) from None

    @contextmanager
    def _locked(self, url: str) -> Iterator[Repo]:
        if url.startswith("-"):
            raise GitFetchError("refusing a repository URL that starts with '-'")
        path = self.repository(url)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = path.with_name(path.name + ".lock")
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # one fetch per remote at a time (local runtime)
            try:
                yield self._open(path)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _open(path: Path) -> Repo:
        try:
            if (path / "HEAD").exists():
                return Repo(path)
        except GitError:
            shutil.rmtree(path, ignore_errors=True)  # a corrupt cache: start again
        try:
            return Repo.init(path, bare=True, mkdir=True)
        except GitError as exc:
            raise GitFetchError(
                f"cannot create the local repository: {type(exc).__name__}"
            ) from None

    def _fetch(self, repo: Repo, url: str, commit: str) -> Snapshot:
        if not _SHA.match(commit):
            raise GitFetchError(f"not a full commit id: {commit[:80]!r}")
        have = self._commit(repo, commit)
        if have is not None:
            return Snapshot(repo, have)  # a warm container that already has it
        self._git_fetch(repo, url, commit[:12], "--depth=1", commit)
        have = self._commit(repo, commit)
        if have is None:
            raise GitFetchError(f"{redact(url)} did not return commit {commit[:12]}")
        # A ref keeps the objects from gc and lets the next fetch say what it already has.
        repo.git.update_ref(FETCHED_REF, commit)
        return Snapshot(repo, have)

    @staticmethod
    def _commit(repo: Repo, sha: str) -> Commit | None:
        try:
            found = repo.commit(sha)
            found.tree  # noqa: B018 - the tree must be here too (not only a shallow boundary)
        except (BadName, ValueError, GitError):
            return None
        return found


def _last_line(stderr: str | bytes | None) -> str:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else (stderr or "")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    message = lines[-1] if lines else "no message"
    return redact_text(message)[:300]


def redact_text(text: str) -> str:
    """Remove ``user:password@`` from any URL in ``text``."""
    return re.sub(r"(https?://)[^/@\s]+@", r"\1***@", text)
