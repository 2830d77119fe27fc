"""When can an `if:` be true? Expected answers follow GitHub's expression rules (docs:
"Evaluate expressions in workflows and actions"): strings compare ignoring case, `!`
negates, `&&`/`||` short-circuit; what plan cannot know (other contexts, job status) may
be anything, so only a condition false whatever it holds rules an event out."""

from __future__ import annotations

import pytest

from ci_reviewer.planning.conditions import may_run

NUMPY_BUILD_WHEELS = (  # numpy/numpy .github/workflows/wheels.yml, job build_wheels
    "contains(needs.get_commit_message.outputs.message, '[wheel build]') ||\n"
    "github.event_name == 'schedule' ||\ngithub.event_name == 'workflow_dispatch' ||\n"
    "(github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v') && "
    "( ! endsWith(github.ref, 'dev0')))"
)
NUMPY_COMMIT_MESSAGE = "contains(needs.get_commit_message.outputs.message, '[wheel build]') ||\n"
HTTPLIB2 = (  # httplib2/httplib2 .github/workflows/test.yaml, job test
    "github.event_name == 'push' || "
    "github.event.pull_request.head.repo.full_name != 'httplib2/httplib2'"
)


@pytest.mark.parametrize(
    ("condition", "event", "cron", "expected"),
    [
        ("github.event_name == 'schedule'", "pull_request", None, False),
        ("github.event_name == 'schedule'", "schedule", "0 0 * * *", True),
        ("${{ github.event_name == 'Schedule' }}", "schedule", None, True),  # any case
        ("github.event_name != 'pull_request'", "pull_request", None, False),
        ("!(github.event_name == 'pull_request')", "push", None, True),
        ("github['event_name'] == 'schedule'", "pull_request", None, False),
        (
            'contains(fromJSON(\'["schedule", "workflow_dispatch"]\'), github.event_name)',
            "pull_request",
            None,
            False,
        ),
        (NUMPY_BUILD_WHEELS, "pull_request", None, True),  # the commit message may say so
        (NUMPY_BUILD_WHEELS.replace(NUMPY_COMMIT_MESSAGE, ""), "pull_request", None, False),
        (HTTPLIB2, "pull_request", None, True),  # a fork's pull request runs it
        ("failure() && github.event_name == 'schedule'", "pull_request", None, False),
        ("github.repository == 'numpy/numpy'", "pull_request", None, True),
        # GitHub docs' example: this step skips the Monday/Wednesday cron only.
        ("github.event.schedule != '30 5 * * 1,3'", "schedule", "30 5 * * 1,3", False),
        ("github.event.schedule != '30 5 * * 1,3'", "schedule", "30 5 * * 2,4", True),
        ("github.event.schedule != '30 5 * * 1,3'", "push", None, True),
        # Text around `${{ }}` makes a non-empty string: always true on GitHub.
        ("${{ github.event_name == 'schedule' }} && true", "pull_request", None, True),
        ("github.event_name == 'schedule' ||", "pull_request", None, True),  # unreadable
        (False, "push", None, False),
        ("false && (github.event_name == 'push')", "push", None, False),
    ],
)
def test_may_run(condition: object, event: str, cron: str | None, expected: bool) -> None:
    assert may_run(condition, event, cron) is expected
