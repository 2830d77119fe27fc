"""Which setting chose the model and its max_tokens, and what to tell the user when the model
cannot serve the request: the `--model` option or the config key (file:line), the models to
choose from, the model's output limit. Decided before sending where the model table knows
(max_tokens above the model's limit, a retired model), and on the API's 404 not_found_error
otherwise; both are exit 2, a setting to change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ci_reviewer.cli.context import Settings
from ci_reviewer.config import DEFAULT_MODEL, setting_location
from ci_reviewer.errors import ConfigError, UnknownModelError, UsageError
from ci_reviewer.models import model_table


@dataclass(frozen=True)
class ModelChoice:
    """The model of a run and where it was chosen; `max_tokens_key` is the config key of the
    run's max_tokens (review.max_tokens or jobs.<name>.max_tokens)."""

    model: str
    model_keys: tuple[str, ...] | None  # None: the --model option
    max_tokens: int
    max_tokens_keys: tuple[str, ...]


def review_choice(run: Settings) -> ModelChoice:
    review = run.config.review
    keys = None if run.model else ("review", "model") if review.model else ("model",)
    model = run.model or review.model or run.config.model
    return ModelChoice(model, keys, review.max_tokens, ("review", "max_tokens"))


def job_choice(run: Settings, job_name: str) -> ModelChoice:
    job = run.config.job(job_name)
    keys = None if run.model else ("jobs", job_name, "model") if job.model else ("model",)
    model = run.config.model_for(run.model, job_name)
    return ModelChoice(model, keys, job.max_tokens, ("jobs", job_name, "max_tokens"))


def _choices() -> str:
    return ", ".join(model_table().callable_ids())


def _where(run: Settings, keys: tuple[str, ...]) -> str:
    location = setting_location(run.config_path, keys)
    dotted = ".".join(keys)
    if location is None:
        return f"`{dotted}` (not set in {run.config_path}: the default applies)"
    return f"`{dotted}` at {location}"


def _refused(run: Settings, choice: ModelChoice, message: str) -> Exception:
    """A ConfigError at the model's config key, or a UsageError naming --model; the hint
    lists the models to choose from."""
    models = _choices()
    if choice.model_keys is None:
        return UsageError(
            f"--model {choice.model}: {message}", hint=f"pass --model with one of: {models}"
        )
    dotted = ".".join(choice.model_keys)
    hint = f"set `{dotted}` to one of: {models}"
    location = setting_location(run.config_path, choice.model_keys)
    if location is None:
        default = f"the default model {DEFAULT_MODEL}" if choice.model == DEFAULT_MODEL else ""
        origin = default or f"`{dotted}` in {run.config_path}"
        return UsageError(f"model {choice.model} ({origin}): {message}", hint=hint)
    return ConfigError(f"{dotted}: {message}", location, hint=hint)


def check_before_sending(run: Settings, choice: ModelChoice) -> None:
    """Refuse (exit 2) what the model table says cannot be served; a model the table does
    not know goes to the API (it may be newer than the table)."""
    facts = model_table().facts(choice.model)
    if facts is None:
        return
    if not facts.callable:
        retired = f"retired on {facts.retires}" if facts.retires else "retired"
        raise _refused(run, choice, f"the model {choice.model} is {retired}")
    limit = facts.max_output_tokens
    if limit is not None and choice.max_tokens > limit:
        dotted = ".".join(choice.max_tokens_keys)
        raise UsageError(
            f"{dotted} is {choice.max_tokens}, above the {limit} output tokens "
            f"{choice.model} allows (set by {_where(run, choice.max_tokens_keys)}; the model "
            f"by {_model_origin(run, choice)})",
            hint=f"lower `{dotted}` to at most {limit}, or choose a model that allows more",
        )


def _model_origin(run: Settings, choice: ModelChoice) -> str:
    return "the --model option" if choice.model_keys is None else _where(run, choice.model_keys)


@contextmanager
def model_setting(run: Settings, choice: ModelChoice) -> Iterator[None]:
    """Turn the API's 'no such model' into the setting to change (exit 2)."""
    try:
        yield
    except UnknownModelError as error:
        raise _refused(run, choice, error.message) from None
