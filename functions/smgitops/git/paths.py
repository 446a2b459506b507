"""Paths inside a repository, without GitPython: ``validate`` and ``.smgitops.yaml``'s model use
them on machines that have no ``git`` executable (GitPython refuses to import without one)."""

from __future__ import annotations

from pathlib import PurePosixPath


def safe_relative(path: str) -> PurePosixPath:
    """A relative POSIX path with no ``..`` and no absolute part (``ValueError`` otherwise)."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or "\\" in path:
        raise ValueError(f"{path!r} is not a relative path inside the repository")
    return pure
