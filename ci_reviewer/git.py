"""Git, called one way: argument lists, captured output, and errors a user can act on."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ci_reviewer.errors import InputError


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


class GitError(InputError):
    """A git command failed; the message names the command and what git said."""


def run_git(
    workdir: Path,
    args: Sequence[str],
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> GitResult:
    """Run `git -C workdir args...`; raise GitError (exit 2) when it fails and check is set.
    `env` adds variables to the inherited environment."""
    command = ["git", "-C", str(workdir), *args]
    environment = {**os.environ, **env} if env else None
    try:
        done = subprocess.run(command, capture_output=True, check=False, env=environment)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", hint="install git") from None
    result = GitResult(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))
    if check and done.returncode != 0:
        said = result.stderr.strip().splitlines()
        raise GitError(
            f"`git {' '.join(args)}` failed in {workdir}: {said[-1] if said else 'no output'}"
        )
    return result


def ensure_checkout(workdir: Path) -> Path:
    """The top of the git checkout at `workdir`, or an actionable error."""
    result = run_git(workdir, ["rev-parse", "--show-toplevel"], check=False)
    if result.returncode != 0:
        raise InputError(
            f"{workdir} is not a git checkout",
            hint="run inside your repository's checkout (actions/checkout), or pass --workdir",
        )
    return Path(result.text.strip())


def resolve_ref(workdir: Path, ref: str) -> str:
    """The commit SHA of `ref`, or an error saying how to make the ref available."""
    result = run_git(
        workdir, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False
    )
    if result.returncode != 0:
        raise InputError(
            f"base ref {ref!r} is not in the checkout at {workdir}",
            hint="fetch it (actions/checkout with fetch-depth: 0, or `git fetch origin "
            f"{ref}`), or pass an existing ref to --base",
        )
    return result.text.strip()
