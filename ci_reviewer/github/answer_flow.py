"""Answering a mention of the reviewer on GitHub, as one plain function: decide whether the
comment gets an answer (it mentions the reviewer, is new, its author has write access, it was
not answered before), gather the thread's context, have the model answer, post the answer in
that thread, and resolve the thread when the model withdrew its finding.

One answer per mention: every answer carries a hidden marker with the id of the comment it
answers, looked for (from authors we trust) before answering, so a re-run answers nothing
twice. Write access is GitHub's `permission` field (`admin` or `write`; `maintain` is reported
as `write`), never the role's name or any message. A token GitHub refuses that permission
(403: its account has no push access) cannot verify the mention: nothing is answered and the
run stops with the access to grant (PermissionUnverified, exit 2: a setup to change).

`prepare_answer` is the reading half, which `answer --dry-run` runs alone when it has a token
(`answer_offline` is the dry run's without one).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import TYPE_CHECKING

from ci_reviewer.errors import ClaudeAPIError, UsageError
from ci_reviewer.github.client import github_errors, rate_limit_of, write_once
from ci_reviewer.github.markers import fingerprints_in
from ci_reviewer.github.mention_event import MentionEvent
from ci_reviewer.github.publish_review import WriteForbidden, write
from ci_reviewer.github.review_threads import ThreadsRefused, resolve_thread, review_threads
from ci_reviewer.github.summary import TrustedAuthors
from ci_reviewer.review.thread_answer import Mention, NoAnswer, ThreadAnswer

if TYPE_CHECKING:
    import github
    from github.PullRequest import PullRequest
    from github.Repository import Repository

# (the mention, the pull request's base SHA) -> the model's answer.
Answerer = Callable[[Mention, str], ThreadAnswer]
# (the repository, a key unique to this answer, its cost) -> (a line to print, a workflow
# command or ""): adds the answer's cost to the month's spend record; never raises.
SpendRecorder = Callable[["Repository", str, float], tuple[str, str]]
Redact = Callable[[str], str]
_WRITE = frozenset({"admin", "write"})


class PermissionUnverified(UsageError):
    """The token may not read the comment author's permission: nothing is answered, and the
    run stops as for any setup to change (exit 2), saying which access the token needs."""


@dataclass(frozen=True)
class AnswerOutcome:
    answered: bool
    diagnostics: tuple[str, ...] = ()
    url: str = ""
    cost_usd: float | None = None
    commands: tuple[str, ...] = ()  # workflow commands (a `::warning::`) for stdout


def answer_marker(comment_id: int) -> str:
    return f"<!-- ci-reviewer:answer:{comment_id} -->"


@dataclass(frozen=True)
class Prepared:
    """A comment that gets an answer: its pull request, what the model is told, and whether
    the thread is one of our findings'."""

    pull: PullRequest
    mention: Mention
    ours: bool
    repo: Repository


def answer_on_github(  # noqa: PLR0917 - the clients, the event and what to do with it
    gh: github.Github,
    event: MentionEvent,
    handle: str,
    answerer: Answerer,
    redact: Redact,
    spend: SpendRecorder | None = None,
) -> AnswerOutcome:
    """Answer `event`'s comment if it should be (see the module docstring); the answer's
    cost goes to `spend` once the model answered, posted or not (it was spent)."""
    prepared = prepare_answer(gh, event, handle, redact)
    if isinstance(prepared, AnswerOutcome):
        return prepared
    try:
        reply = answerer(prepared.mention, prepared.pull.base.sha)
    except NoAnswer as none:
        return AnswerOutcome(False, (f"no answer: {none}",))
    except ClaudeAPIError as failed:
        return AnswerOutcome(False, (f"no answer: the Claude API failed ({failed})",))
    outcome = _publish(prepared.pull, event, reply, prepared.ours, redact)
    if spend is None or reply.cost_usd is None:
        return outcome
    key = f"pr{event.number}-answer{event.comment_id}-{secrets.token_hex(4)}"
    line, command = spend(prepared.repo, key, reply.cost_usd)
    commands = (command,) if command else ()
    return replace(outcome, diagnostics=(*outcome.diagnostics, line), commands=commands)


def prepare_answer(
    gh: github.Github, event: MentionEvent, handle: str, redact: Redact
) -> Prepared | AnswerOutcome:
    """Whether the comment gets an answer, read from GitHub without writing anything: the
    mention and its context when it does (this run's secrets masked in what the model is
    told: a comment may quote one), else why not (an AnswerOutcome). A token that may not
    read the author's permission cannot verify the mention: PermissionUnverified."""
    skipped = why_not_answered(event, handle)
    if skipped:
        return AnswerOutcome(False, (skipped,))
    with github_errors(f"reading pull request #{event.number}"):
        repo = gh.get_repo(event.repository)
        permission = _permission(repo, event)
        pull = repo.get_pull(event.number)
    if permission not in _WRITE:
        why = f"@{event.author} has {permission} access; only write access gets an answer"
        return AnswerOutcome(False, (f"not answered: {why}",))
    trusted = TrustedAuthors()
    if _answered_before(pull, event, trusted):
        return AnswerOutcome(False, (f"comment {event.comment_id} was answered before",))
    mention, ours = _mention(pull, event, trusted)
    return Prepared(pull, masked(mention, redact), ours, repo)


def masked(mention: Mention, redact: Redact) -> Mention:
    """`mention` with this run's secrets masked in what the model is told: a comment may
    quote one."""
    return replace(
        mention,
        question=redact(mention.question),
        finding=redact(mention.finding),
        diff_hunk=redact(mention.diff_hunk),
        pull_title=redact(mention.pull_title),
    )


def _permission(repo: Repository, event: MentionEvent) -> str:
    """The author's base permission. GitHub answers 403 (not a rate limit) to a token whose
    account has no push access to the repository: a setup to change, not an API fault."""
    import github

    try:
        return str(repo.get_collaborator_permission(event.author))
    except github.GithubException as error:
        if error.status != HTTPStatus.FORBIDDEN or rate_limit_of(error) is not None:
            raise
        raise PermissionUnverified(
            f"comment {event.comment_id} not answered: GitHub refused this token the "
            f"permission of @{event.author} on {event.repository} (403), so the mention "
            "cannot be verified as coming from someone with write access",
            hint="GitHub shows a collaborator's permission to a token with push access: run "
            "`answer` with the workflow's GITHUB_TOKEN (`ci-reviewer init` writes the job), "
            f"or with a token of an account that has write access to {event.repository}",
        ) from None


def why_not_answered(event: MentionEvent, handle: str) -> str:
    """Why the event's comment gets no answer, from the payload alone ("" when it may)."""
    if event.action != "created":
        return f"a comment {event.action or 'event'}, not created: nothing to answer"
    if not event.on_pull_request:
        return "a comment on an issue, not a pull request: nothing to answer"
    if event.author_is_bot:
        return f"a comment by the bot {event.author}: not answered"
    if not event.mentions(handle):
        return f"the comment does not mention {handle}: nothing to answer"
    return ""


def _answered_before(pull: PullRequest, event: MentionEvent, trusted: TrustedAuthors) -> bool:
    marker = answer_marker(event.comment_id)
    with github_errors(f"reading the comments of pull request #{pull.number}"):
        comments = pull.get_review_comments() if event.in_thread else pull.get_issue_comments()
        return any(marker in (c.body or "") for c in trusted.of(comments))


def _mention(
    pull: PullRequest, event: MentionEvent, trusted: TrustedAuthors
) -> tuple[Mention, bool]:
    """What the model is told, and whether the thread is one of our findings'."""
    mention = Mention(event.body, event.author, pull_title=pull.title)
    if not event.in_thread:
        return mention, False
    with github_errors(f"reading review comment {event.thread_root}"):
        root = pull.get_review_comment(event.thread_root)
    ours = trusted.trusts(root) and bool(fingerprints_in(root.body))
    finding = root.body if ours else ""
    hunk = root.diff_hunk or event.diff_hunk
    return Mention(event.body, event.author, finding, root.path, hunk, pull.title), ours


def _publish(
    pull: PullRequest, event: MentionEvent, reply: ThreadAnswer, ours: bool, redact: Redact
) -> AnswerOutcome:
    body = redact(answer_body(reply, event, suggest=ours))
    notes = [f"answered comment {event.comment_id} ({reply.decision})"]
    try:
        url = _post(pull, event, body)
    except WriteForbidden as forbidden:
        return AnswerOutcome(False, (f"no answer posted: {forbidden}",), cost_usd=reply.cost_usd)
    if reply.decision == "withdraw" and ours:
        notes.append(_withdraw(pull, event.repository, event.thread_root))
    return AnswerOutcome(True, tuple(notes), url, reply.cost_usd)


def answer_body(reply: ThreadAnswer, event: MentionEvent, *, suggest: bool) -> str:
    lines = [reply.reply]
    if reply.decision == "fix" and reply.suggestion is not None and suggest:
        fence = "`" * max(3, _longest_backticks(reply.suggestion) + 1)
        lines += ["", f"{fence}suggestion", reply.suggestion, fence]
    if reply.decision == "withdraw":
        lines += ["", "_Finding withdrawn; this thread is resolved._"]
    return "\n".join([*lines, "", answer_marker(event.comment_id)])


def _longest_backticks(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest


def _post(pull: PullRequest, event: MentionEvent, body: str) -> str:
    action = f"answering comment {event.comment_id}"
    marker = answer_marker(event.comment_id)
    trusted = TrustedAuthors()

    def landed() -> str | None:
        comments = pull.get_review_comments() if event.in_thread else pull.get_issue_comments()
        found = [c for c in trusted.of(comments) if marker in (c.body or "")]
        return found[0].html_url if found else None

    def send() -> str:
        if event.in_thread:
            return str(pull.create_review_comment_reply(event.thread_root, body).html_url)
        return str(pull.create_issue_comment(body).html_url)

    return write(action, lambda: write_once(action, pull, send, landed))


def _withdraw(pull: PullRequest, full_name: str, root_id: int) -> str:
    try:
        for thread in review_threads(pull, full_name):
            first = thread.first
            if first is not None and first.database_id == root_id and not thread.is_resolved:
                resolve_thread(pull, thread.id)
                return "finding withdrawn: its thread is resolved"
    except ThreadsRefused as refused:
        return f"finding withdrawn, thread not resolved: {refused}"
    return "finding withdrawn"
