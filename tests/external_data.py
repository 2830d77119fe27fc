"""The files the suite checks the product and its emulators against, which come from package
registries rather than from this repository: GitHub's OpenAPI description, its GraphQL
schema, its recorded webhook payloads and the SARIF 2.1.0 schema (npm), recorded real GitHub
traffic (PyPI and npm), and real projects' published sources that batch collection is
measured on (PyPI and npm).

The test session fetches them itself, into .ci-cache/, by running the scripts that pin them
(each script returns at once when its files are already there at the pinned version), so the
README's test command works on a fresh clone. A registry that cannot be reached fails the
session with one paragraph saying which registry, which script and what to do: these checks
are part of what the suite promises, so they are never skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ExternalData:
    what: str
    script: str  # relative to the repository root
    registry: str
    override: str  # the variable that points the tests at a copy of the user's own instead


DATA = (
    ExternalData(
        "GitHub's OpenAPI description (@octokit/openapi)",
        "scripts/fetch-github-openapi.sh",
        "the npm registry",
        "CI_REVIEWER_GITHUB_OPENAPI",
    ),
    ExternalData(
        "GitHub's GraphQL schema (@octokit/graphql-schema)",
        "scripts/fetch-github-graphql-schema.sh",
        "the npm registry",
        "CI_REVIEWER_GITHUB_GRAPHQL_SCHEMA",
    ),
    ExternalData(
        "GitHub's recorded webhook payloads (@octokit/webhooks-examples)",
        "scripts/fetch-webhook-examples.sh",
        "the npm registry",
        "CI_REVIEWER_WEBHOOK_EXAMPLES",
    ),
    ExternalData(
        "the SARIF 2.1.0 schema (@microsoft/jest-sarif)",
        "scripts/fetch-sarif-schema.sh",
        "the npm registry",
        "CI_REVIEWER_SARIF_SCHEMA",
    ),
    ExternalData(
        "recorded GitHub traffic (PyGithub's sdist, @octokit/fixtures)",
        "scripts/fetch-recordings.sh",
        "PyPI and the npm registry",
        "CI_REVIEWER_GITHUB_RECORDINGS",
    ),
    ExternalData(
        "real projects' published sources (Flask and Requests sdists, prop-types)",
        "scripts/fetch-noise-corpus.sh",
        "PyPI and the npm registry",
        "CI_REVIEWER_NOISE_CORPUS",
    ),
    ExternalData(
        "real projects' published sources with their tests (attrs sdist, json-schema-traverse)",
        "scripts/fetch-testgen-corpus.sh",
        "PyPI and the npm registry",
        "CI_REVIEWER_TESTGEN_CORPUS",
    ),
)


class FetchFailed(Exception):
    """A fetch script failed; the message is the paragraph the session ends with."""


def ensure_all(
    environ: dict[str, str] | None = None, needed: tuple[ExternalData, ...] = DATA
) -> None:
    """Run each fetch script whose data the environment does not point elsewhere."""
    env = dict(os.environ if environ is None else environ)
    for data in needed:
        if not env.get(data.override):
            fetch(data, env)


def fetch(data: ExternalData, env: dict[str, str]) -> None:
    # The recordings script downloads with pip: the interpreter running the tests has one.
    env = {**env, "PYTHON": env.get("PYTHON", sys.executable)}
    try:
        done = subprocess.run(
            ["sh", str(REPO_ROOT / data.script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise FetchFailed(failure(data, f"{type(error).__name__}: {error}")) from None
    if done.returncode != 0:
        raise FetchFailed(failure(data, done.stderr.strip() or done.stdout.strip()))


def failure(data: ExternalData, output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = [line for line in lines if "error" in line.lower() and "log of this run" not in line]
    last = " / ".join((said or lines[-1:])[:3])
    return (
        f"The tests check against {data.what}, which {data.script} fetches from "
        f"{data.registry} into .ci-cache/ when it is missing, and that fetch failed "
        f"({last or 'no output'}). Make {data.registry} reachable (a proxy or mirror set in "
        f"pip's or npm's configuration is used) and run the tests again, or run "
        f"`sh {data.script}` yourself to see the whole error, or point {data.override} at a "
        "copy you already have. The suite does not skip these checks."
    )
