"""The Anthropic key, every configured model, and the Message Batches API, asked of the
Claude API itself (models API, batches list): nothing is generated, nothing is billed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ci_reviewer.claude import ApiAnswer, ask_claude
from ci_reviewer.config import DEFAULT_MODEL
from ci_reviewer.doctor.check import Check, ok, problem, unreachable, warning
from ci_reviewer.errors import ClaudeAPIError
from ci_reviewer.models import model_table

if TYPE_CHECKING:
    import anthropic

KEY_FIX = (
    "set ANTHROPIC_API_KEY to a valid key (the action's anthropic-api-key input, from a "
    "repository or organization secret)"
)


def claude_checks(
    client: anthropic.Anthropic | None, models: Sequence[str], batches: bool
) -> list[Check]:
    """The key (by the first model's look-up), each model, then the batches API."""
    assert models, "needs_of always names a model"
    if client is None:
        return [problem("anthropic key", "ANTHROPIC_API_KEY is not set", KEY_FIX)]
    found: list[Check] = []
    for model in models:
        check = _model(client, model)
        if check.name == "anthropic key":
            return [*found, check]  # a key refused once is refused for every model
        found.append(check)
    if batches:
        found.append(_batches(client))
    return found


def _model(client: anthropic.Anthropic, model: str) -> Check:
    name = f"model {model}"
    try:
        answer = ask_claude(f"look up the model {model}", lambda: client.models.retrieve(model))
    except ClaudeAPIError as error:
        return unreachable(name, str(error))
    refused = _key_refused(answer)
    if refused is not None:
        return refused
    if answer.status == 404 and answer.error_type == "not_found_error":
        return problem(
            name,
            f"the Claude API does not know the model {model!r} (404 not_found_error)",
            f"set `model:` to one of the models the API serves, e.g. {_known()}",
        )
    if answer.status != 200:
        return problem(name, _refusal(answer), "check the model setting and the key's workspace")
    return _lifecycle(name, model, answer.value)


def _lifecycle(name: str, model: str, info: object) -> Check:
    """A model the API knows: usable, on its way out, or no longer callable."""
    lifecycle = str(getattr(info, "lifecycle", "active"))
    if lifecycle == "retired":
        return problem(
            name,
            f"{model!r} is retired: requests naming it fail",
            f"set `model:` to a current model, e.g. {_known()}",
        )
    if lifecycle == "deprecated":
        retires = getattr(info, "retires_at", None)
        when = f" (retires {retires:%Y-%m-%d})" if retires is not None else ""
        return warning(
            name, f"{model!r} is deprecated{when}", f"move to a current model, e.g. {_known()}"
        )
    return ok(name, f"the API serves {model!r} and accepts the key")


def _batches(client: anthropic.Anthropic) -> Check:
    name = "message batches"
    try:
        answer = ask_claude("list message batches", lambda: client.messages.batches.list(limit=1))
    except ClaudeAPIError as error:
        return unreachable(name, str(error))
    if answer.status == 200:
        return ok(name, "the Message Batches API answers for this key")
    return problem(
        name,
        f"the Message Batches API refused the key: {_refusal(answer)}",
        "use a key of a workspace and organization allowed the Message Batches API, or set "
        "`api: sync` on the jobs",
    )


def _key_refused(answer: ApiAnswer) -> Check | None:
    if answer.status == 401:
        return problem(
            "anthropic key", f"the Claude API rejected the key: {_refusal(answer)}", KEY_FIX
        )
    if answer.status == 403:
        return problem(
            "anthropic key",
            f"the key may not use this API: {_refusal(answer)}",
            "use a key of a workspace with access to the models you configured",
        )
    return None


def _refusal(answer: ApiAnswer) -> str:
    return f"{answer.status} {answer.error_type or 'error'}: {answer.message}"


def _known() -> str:
    """A few ids to choose from, the default first, and where the rest are listed."""
    ids = dict.fromkeys([DEFAULT_MODEL, *model_table().callable_ids()])
    return ", ".join(list(ids)[:3]) + " (the model table: ci_reviewer/data/models.json)"
