"""One doctor run: every check the configuration calls for, in the order a user fixes them
(credentials and models, GitHub access and settings, the checkout, the workflows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ci_reviewer.config import Config
from ci_reviewer.doctor.check import Check, problem
from ci_reviewer.doctor.checkout_checks import checkout_checks
from ci_reviewer.doctor.claude_checks import claude_checks
from ci_reviewer.doctor.needs import Needs, needs_of
from ci_reviewer.doctor.repo_checks import actions_pull_requests_check, state_branch_check
from ci_reviewer.doctor.token_checks import ACCESS_FIX, repository_check, token_checks
from ci_reviewer.doctor.workflow_checks import read_workflows, workflow_checks

if TYPE_CHECKING:
    import anthropic
    import github


@dataclass(frozen=True)
class DoctorSetup:
    """What the run checks: the config, the checkout, the repository, a model override."""

    config: Config
    workdir: Path
    repo: str | None
    model: str | None
    now: datetime


def run_doctor(
    setup: DoctorSetup, claude: anthropic.Anthropic | None, gh: github.Github | None
) -> list[Check]:
    """Every check; `claude` / `gh` are None when their credentials are not set."""
    workflows, unreadable = read_workflows(setup.workdir)
    needs = needs_of(setup.config, workflows, setup.model)
    return [
        *claude_checks(claude, needs.models, needs.batches),
        *github_checks(gh, setup.repo, needs),
        *checkout_checks(setup.workdir, needs.jobs, setup.now),
        *unreadable,
        *workflow_checks(workflows, setup.config),
    ]


def github_checks(gh: github.Github | None, repo: str | None, needs: Needs) -> list[Check]:
    if gh is None:
        return [problem("github token", "GITHUB_TOKEN is not set", ACCESS_FIX)]
    if not repo:
        return [
            problem(
                "github repository",
                "no repository to check",
                "pass --repo OWNER/NAME (GITHUB_REPOSITORY in Actions)",
            )
        ]
    access, repository = repository_check(gh, repo)
    if repository is None:
        return [access]
    found = [access, *token_checks(gh, repository, needs.token)]
    if needs.pull_requests:
        found.append(actions_pull_requests_check(gh, repository.full_name, needs.pull_requests))
    if needs.state_branch:
        found.append(state_branch_check(gh, repository.full_name))
    return found
