"""``smgitops init [DIR] [--force]``: scaffold a team's GitOps repository.

Writes, into DIR (default: the current folder, created if missing):

- ``endpoints/example-endpoint.yaml``: a commented declaration that validates (with
  ``--environment NAME``, repeated: ``environments/NAME/example-endpoint.yaml`` for each);
- ``.smgitops.yaml``: tracked branch, declarations folder, prune and (commented) freeze and
  selfHeal settings, as the reconcile reads them (:mod:`smgitops.reconcile.appconfig`);
- ``.pre-commit-config.yaml``: this project's ``smgitops-validate`` hook;
- ``.github/workflows/smgitops.yml``: validate + plan on pull requests, the plan as a comment;
- ``README.md`` for that repository.

Existing files are never overwritten without ``--force``: exit 1 naming each of them, nothing
written. Exit 2 for a usage error. The templates are package data (``smgitops/templates``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import argparse

OK = 0
EXISTS = 1
USAGE = 2

DEFAULT_SMGITOPS_REPO: Final = "https://github.com/your-org/smgitops"
# Without a git checkout to point at, the hook follows this branch of --smgitops-repo.
FALLBACK_REV: Final = "main"
EXAMPLE: Final = "example-endpoint"
DEFAULT_FOLDER: Final = "endpoints"
ENVIRONMENTS_FOLDER: Final = "environments"
_TOKEN: Final = re.compile(r"@([A-Z][A-Z_]*)@")
_BRANCH: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/\-]{0,199}", re.ASCII)
_ENVIRONMENT: Final = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,30}[a-z0-9])?", re.ASCII)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="scaffold a GitOps repository for a team",
        description="Write a new endpoints repository: an example declaration, .smgitops.yaml, "
        "a pre-commit config, a GitHub Actions workflow (validate + plan on pull requests) and "
        "a README. Refuses to overwrite existing files unless --force. "
        "Exit 0 written, 1 files exist, 2 usage error.",
    )
    parser.add_argument(
        "dir", nargs="?", type=Path, default=Path(), metavar="DIR", help="default: here"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument("--branch", default="main", help="the tracked branch (default main)")
    parser.add_argument(
        "--environment",
        action="append",
        default=[],
        metavar="NAME",
        help="one folder environments/NAME per environment (repeat: --environment staging "
        "--environment prod), each tracked by its own stack; default: one endpoints/ folder",
    )
    parser.add_argument(
        "--smgitops-repo",
        default=None,
        metavar="URL",
        help="Git URL of smgitops, for the pre-commit hook and the workflow's install (default: "
        "the git checkout this smgitops runs from — its origin URL, or its path — else the "
        f"placeholder {DEFAULT_SMGITOPS_REPO})",
    )
    parser.add_argument(
        "--smgitops-rev",
        default=None,
        metavar="REV",
        help="tag or commit of smgitops to use (default: the commit this smgitops runs from, "
        f"else {FALLBACK_REV})",
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` writes: options in, ``files()`` (relative path -> text) out."""

    branch: str = "main"
    environments: tuple[str, ...] = ()
    smgitops_repo: str = DEFAULT_SMGITOPS_REPO
    smgitops_rev: str = FALLBACK_REV

    @property
    def folders(self) -> list[str]:
        if not self.environments:
            return [DEFAULT_FOLDER]
        return [f"{ENVIRONMENTS_FOLDER}/{name}" for name in self.environments]

    def problems(self) -> list[str]:
        """Why these options cannot be scaffolded (empty when they can)."""
        found = []
        if not _BRANCH.fullmatch(self.branch) or ".." in self.branch:
            found.append(f"--branch {self.branch!r} is not a branch name")
        for name in self.environments:
            if not _ENVIRONMENT.fullmatch(name):
                found.append(
                    f"--environment {name!r}: lowercase letters, digits and hyphens, "
                    "at most 32 characters"
                )
        if len(set(self.environments)) != len(self.environments):
            found.append("--environment: each environment once")
        for option, value in (
            ("--smgitops-repo", self.smgitops_repo),
            ("--smgitops-rev", self.smgitops_rev),
        ):
            if not value or any(c.isspace() or c in "\"'" for c in value):
                found.append(f"{option} {value!r}: no spaces or quotes")
        return found

    def files(self) -> dict[str, str]:
        """Every file to write, by path relative to the repository root."""
        folders = self.folders
        common = {
            "BRANCH": self.branch,
            "SMGITOPS_REPO": self.smgitops_repo,
            "SMGITOPS_REV": self.smgitops_rev,
            "PIP_SPEC": f"smgitops @ git+{_pip_url(self.smgitops_repo)}@{self.smgitops_rev}",
            "FOLDERS": " ".join(folders),
            "FOLDER": folders[0],
            "SCHEMA_GLOB": (
                f"{ENVIRONMENTS_FOLDER}/**/*.{{yaml,yml}}"
                if self.environments
                else f"{DEFAULT_FOLDER}/**/*.{{yaml,yml}}"
            ),
            "PATHS": "\n".join(f'      - "{folder}/**"' for folder in folders),
            "HOOKS": "".join(
                _render("hook.yaml", {"FOLDER": folder, "FILES_REGEX": files_regex(folder)})
                for folder in folders
            ).rstrip("\n"),
        }
        out = {
            ".smgitops.yaml": _render(
                "smgitops.yaml", common, DECLARATIONS_DIR=self._dir_setting()
            ),
            ".pre-commit-config.yaml": _render("pre-commit-config.yaml", common),
            ".github/workflows/smgitops.yml": _render("github-workflow.yml", common),
            "README.md": _render("README.md", common, **self._readme_values()),
        }
        for environment, folder in zip(self.environments or ("",), folders, strict=True):
            name = f"{EXAMPLE}-{environment}" if environment else EXAMPLE
            out[f"{folder}/{EXAMPLE}.yaml"] = _render(
                "endpoint.yaml", common, ENDPOINT=name, ENDPOINT_BASE=EXAMPLE, FOLDER=folder
            )
        return out

    def _dir_setting(self) -> str:
        if self.environments:
            return (
                "# declarationsDir is not set: each environment's stack reads its own folder,\n"
                "# environments/<name>, from its DeclarationsFolder parameter (samconfig.toml)."
            )
        return (
            "# The folder of the declarations (one file per endpoint, *.yaml or *.yml).\n"
            f"declarationsDir: {DEFAULT_FOLDER}"
        )

    def _readme_values(self) -> dict[str, str]:
        if self.environments:
            layout = "".join(
                f"| `{folder}/` | the declarations of the {name} environment |\n"
                for name, folder in zip(self.environments, self.folders, strict=True)
            )
            return {
                "WHERE": f"under `{ENVIRONMENTS_FOLDER}/<environment>/`",
                "LAYOUT": layout,
                "DIR_SETTING": "",
                "ENVIRONMENTS": _template("readme-environments.md"),
            }
        return {
            "WHERE": f"under `{DEFAULT_FOLDER}/`",
            "LAYOUT": f"| `{DEFAULT_FOLDER}/` | the declarations, one file per endpoint |\n",
            "DIR_SETTING": ", declarations folder",
            "ENVIRONMENTS": "",
        }


def _pip_url(repo: str) -> str:
    """pip's ``git+`` needs a URL: a local checkout's path becomes ``file://``."""
    return Path(repo).as_uri() if Path(repo).is_absolute() else repo


def files_regex(folder: str) -> str:
    """The pre-commit ``files`` pattern of the declarations in ``folder`` and of the
    repository's ``.smgitops.yaml`` (its problems refuse every push too)."""
    return f"^({re.escape(folder)}/.*\\.ya?ml|\\.smgitops\\.yaml)$"


def _template(name: str) -> str:
    return resources.files("smgitops").joinpath("templates", name).read_text(encoding="utf-8")


def _render(name: str, values: dict[str, str], **extra: str) -> str:
    """The template ``name`` with every ``@TOKEN@`` replaced; an unknown token is a bug."""
    merged = {**values, **extra}

    def substitute(match: re.Match[str]) -> str:
        return merged[match[1]]

    return _TOKEN.sub(substitute, _template(name))


def installed_source(package_dir: Path | None = None) -> tuple[str, str] | None:
    """(repository, commit) of the git checkout this smgitops runs from, if it runs from one:
    a pre-commit ``rev`` and a pip ``git+URL@rev`` that resolve, unlike a tag never published.
    The repository is the checkout's ``origin`` when it has one, else its local path."""
    import subprocess  # noqa: PLC0415  # nosec B404 - git with fixed arguments, no shell

    where = package_dir or Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603  # nosec B603 B607 - fixed git arguments, git from PATH
            ["git", "-C", str(where), *args],  # noqa: S607 - git from PATH, like GitPython
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        root, commit = git("rev-parse", "--show-toplevel"), git("rev-parse", "HEAD")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if not root or not commit or not (Path(root) / ".pre-commit-hooks.yaml").is_file():
        return None  # not smgitops' own checkout (e.g. installed inside another repository)
    return git("config", "--get", "remote.origin.url") or root, commit


def run(args: argparse.Namespace) -> int:
    source = installed_source()  # a mirror or fork given by --smgitops-repo has the commit too
    repo = args.smgitops_repo or (source[0] if source else DEFAULT_SMGITOPS_REPO)
    rev = args.smgitops_rev or (source[1] if source else FALLBACK_REV)
    scaffold = Scaffold(
        branch=args.branch,
        environments=tuple(args.environment),
        smgitops_repo=repo,
        smgitops_rev=rev,
    )
    problems = scaffold.problems()
    root: Path = args.dir
    if root.exists() and not root.is_dir():
        problems.append(f"{root}: not a folder")
    for problem in problems:
        print(f"smgitops init: {problem}", file=sys.stderr)
    if problems:
        return USAGE
    files = scaffold.files()
    existing = [path for path in files if (root / path).exists()]
    if existing and not args.force:
        print(
            f"smgitops init: {root} already has {', '.join(existing)}; nothing written "
            "(--force overwrites them)",
            file=sys.stderr,
        )
        return EXISTS
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"{'overwrote' if path in existing else 'created'} {target}")
    print(_next_steps(root, scaffold), file=sys.stderr)
    return OK


def _next_steps(root: Path, scaffold: Scaffold) -> str:
    steps = [] if (root / ".git").exists() else [f"git init -b {scaffold.branch} {root}"]
    steps += [
        f"edit {scaffold.folders[0]}/{EXAMPLE}.yaml (name, image or framework, modelDataUrl, role)",
        f"smgitops validate {' '.join(scaffold.folders)}",
        "pip install pre-commit && pre-commit install",
    ]
    if scaffold.smgitops_repo == DEFAULT_SMGITOPS_REPO:
        steps.append(
            f"replace {DEFAULT_SMGITOPS_REPO} (and rev {scaffold.smgitops_rev}) in "
            ".pre-commit-config.yaml and .github/workflows/smgitops.yml with where smgitops "
            "lives for you and the tag or commit to pin"
        )
    elif Path(scaffold.smgitops_repo).is_absolute():
        steps.append(
            f"smgitops is pinned to {scaffold.smgitops_rev[:12]} of the local checkout "
            f"{scaffold.smgitops_repo}: for CI, point --smgitops-repo at a URL your runners reach"
        )
    return "next:\n" + "\n".join(f"  {number}. {step}" for number, step in enumerate(steps, 1))
