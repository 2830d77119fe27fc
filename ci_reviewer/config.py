"""The configuration file: typed, validated models and their loading.

Defaults with no file (the contract, DESIGN.md 5a): model claude-sonnet-5-5, review.fail_on
high, review.max_turns 8, review.concurrency 4, review.on_api_error fail; a job's since
last-run and sla_hours 30. Unknown keys are errors with a did-you-mean.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from ci_reviewer.config_yaml import Marks, load_yaml
from ci_reviewer.errors import ConfigError, Location
from ci_reviewer.globs import GlobPatternError, compile_globs
from ci_reviewer.secret_policy import SecretPolicy

DEFAULT_CONFIG_PATH = ".github/ci-reviewer.yml"
DEFAULT_MODEL = "claude-sonnet-5-5"
# The Claude client's budget per request (ci_reviewer.claude uses these as its defaults): how
# long one reply may take, and how many times the SDK retries 429/5xx/dropped connections.
CLAUDE_TIMEOUT_SECONDS = 600.0
CLAUDE_MAX_RETRIES = 4

Severity = Literal["info", "low", "medium", "high", "critical"]
# The values the installed SDK's `OutputConfigParam.effort` and thinking types allow.
Effort = Literal["low", "medium", "high", "xhigh", "max"]
ThinkingType = Literal["adaptive", "disabled"]
FailOn = Literal["none", "info", "low", "medium", "high", "critical"]
JobKind = Literal["test-generation", "security-audit", "report"]
# The kinds of noise a job skips (`ci_reviewer.batch.noise`), as `noise.allow_kinds` names them.
NoiseKind = Literal[
    "snapshot",
    "generated",
    "lockfile",
    "minified",
    "license",
    "changelog",
    "prose",
    "broken-fixture",
]

BATCH_TOOLS_REASON = (
    "multi-turn tool calling cannot run inside a batch: a batch request is single-shot, so no "
    "tool can run mid-request; and a blocking workflow must not wait up to 24 h"
)
_SINCE = re.compile(r"^(last-run|all|[1-9][0-9]*[hd])$")
_JOB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _check_globs(patterns: list[str]) -> list[str]:
    try:
        compile_globs(patterns)
    except GlobPatternError as error:
        raise ValueError(str(error)) from None
    return patterns


class ReviewConfig(_Strict):
    """The synchronous pre-merge review."""

    api: Literal["sync", "batch"] = "sync"
    model: str | None = None
    fail_on: FailOn = "high"
    max_turns: int = Field(8, ge=1, le=50)
    max_tool_calls: int = Field(40, ge=0, le=500)
    max_bytes_fetched: int = Field(2_000_000, ge=0)
    concurrency: int = Field(4, ge=1, le=32)
    # A cap even with no config file: a runaway review (a huge PR, a model that keeps asking
    # for files) stops fetching and answers at $2 rather than spending without bound.
    # `max_cost_usd: null` lifts it.
    max_cost_usd: float | None = Field(2.0, gt=0)
    max_tokens: int = Field(16_000, ge=256, le=128_000)
    include: list[str] = ["**"]
    exclude: list[str] = []
    skip_generated: bool = True
    instructions: str = ""
    on_api_error: Literal["fail", "neutral"] = "fail"
    allow_pull_request_target_checkout: bool = False
    timeout_seconds: float = Field(CLAUDE_TIMEOUT_SECONDS, gt=0, allow_inf_nan=False)
    max_retries: int = Field(CLAUDE_MAX_RETRIES, ge=0, le=20)
    # `ci-reviewer answer` answers a comment that mentions this (case-insensitive).
    mention: str = Field("@ci-reviewer", min_length=2)
    # `output_config.effort` (null: not sent, the API's default); medium by default, as a
    # review reads a diff and a few files: see the README's "Spend" section.
    effort: Effort | None = "medium"
    # `thinking.type` (null: not sent, the model's own default).
    thinking: ThinkingType | None = None
    # Retried once on this model: a file whose conversation stayed overloaded (529) after
    # the SDK's retries, or that the model declined (stop_reason refusal).
    fallback_model: str | None = None
    # Add each review's cost to the month's spend record, where the state is kept (the
    # state branch, when it exists, or `review --state-dir`): `ci_reviewer.month_spend`.
    month_spend: bool = True

    _globs = field_validator("include", "exclude")(_check_globs)

    @field_validator("api")
    @classmethod
    def _sync_only(cls, value: str) -> str:
        if value != "sync":
            raise ValueError(f"the review can only use api: sync; {BATCH_TOOLS_REASON}")
        return value


class NoiseConfig(_Strict):
    """What a job sends although it looks like noise: whole kinds (`allow_kinds`), or files
    matching `allow` (globs)."""

    allow: list[str] = []
    allow_kinds: list[NoiseKind] = []

    _globs = field_validator("allow")(_check_globs)


class JobConfig(_Strict):
    """A scheduled job on the Message Batches API."""

    kind: JobKind
    api: Literal["batch", "sync"] = "batch"
    model: str | None = None
    sla_hours: float = Field(30, gt=0, allow_inf_nan=False)
    since: str = "last-run"
    include: list[str] = ["**"]
    exclude: list[str] = []
    skip_generated: bool = True
    noise: NoiseConfig = NoiseConfig()
    max_cost_usd: float | None = Field(None, gt=0)
    instructions: str = ""
    output: Literal["issue", "pull-request", "sarif", "file"] | None = None
    output_dir: str = "tests/generated"
    verify_command: str | None = None
    verify_timeout_seconds: float = Field(120, gt=0)
    keep_failing_tests: bool = False
    on_open_pr: Literal["update", "new"] = "update"
    labels: list[str] = []
    max_tokens: int = Field(16_000, ge=256, le=128_000)
    max_attempts: int = Field(3, ge=1, le=10)
    max_file_bytes: int = Field(200_000, ge=1)
    max_requests_per_batch: int = Field(100_000, ge=1, le=100_000)
    max_batch_bytes: int = Field(230_000_000, ge=1024, le=256_000_000)
    # Minutes `batch submit` waits for the cache warm-up batch (the first request of each
    # cached shared prefix) to end before it sends the rest; 0: no warm-up (`batch/caching`).
    # At most 20: the rest's recorded intents must not look orphaned (30 min) meanwhile.
    cache_warmup_minutes: float = Field(10, ge=0, le=20, allow_inf_nan=False)
    tools: list[Any] | None = None
    timeout_seconds: float = Field(CLAUDE_TIMEOUT_SECONDS, gt=0, allow_inf_nan=False)
    max_retries: int = Field(CLAUDE_MAX_RETRIES, ge=0, le=20)
    # A file whose result came back errored with overloaded_error, or succeeded with
    # stop_reason refusal, is sent once more on this model, in the next submission
    # (`ci_reviewer.batch.fallback`).
    fallback_model: str | None = None

    _globs = field_validator("include", "exclude")(_check_globs)

    @field_validator("since")
    @classmethod
    def _since(cls, value: str) -> str:
        if not _SINCE.match(value):
            raise ValueError("since must be last-run, all, or a window such as 24h or 7d")
        return value

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, value: list[Any] | None) -> list[Any] | None:
        if value:
            raise ValueError(f"a batch job cannot declare tools: {BATCH_TOOLS_REASON}")
        return value

    @field_validator("output_dir")
    @classmethod
    def _output_dir(cls, value: str) -> str:
        parts = Path(value).parts
        if not value or Path(value).is_absolute() or ".." in parts or ".github" in parts:
            raise ValueError(
                "output_dir must be a relative path inside the repository, "
                "without '..' and outside .github/"
            )
        return value

    @property
    def effective_output(self) -> str:
        if self.output is not None:
            return self.output
        return "pull-request" if self.kind == "test-generation" else "issue"


_GLOB_CHARACTERS = frozenset("*?[]{}!")


def _exact_path(path: str) -> str:
    """One `secrets.allow` entry: an exact repository path (checked per entry, so that an
    error points at the entry's own line)."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or ".." in parts:
        raise ValueError(
            f"{path!r} must be a path relative to the repository root, "
            "with '/' separators and no '..'"
        )
    if "" in parts or "." in parts:
        raise ValueError(f"{path!r} must be written plainly (no '//', no './')")
    if _GLOB_CHARACTERS & set(path):
        raise ValueError(
            f"{path!r} is a pattern; list each allowed file by its exact path, "
            "so that no new secret can slip in under a pattern"
        )
    if parts[0] == ".git":
        raise ValueError(f"{path!r} is inside .git, which is never read")
    return path


class SecretsConfig(_Strict):
    """Exceptions to the secret policy (`ci_reviewer.secret_policy`), for the review and
    every job: exact repository paths only, so that no new file slips in under a pattern."""

    allow: list[Annotated[str, AfterValidator(_exact_path)]] = []


class Config(_Strict):
    """The whole file."""

    model: str = DEFAULT_MODEL
    review: ReviewConfig = ReviewConfig()
    jobs: dict[str, JobConfig] = {}
    secrets: SecretsConfig = SecretsConfig()

    @field_validator("jobs", mode="before")
    @classmethod
    def _job_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name, job in value.items():
                if not isinstance(name, str) or not _JOB_NAME.match(name):
                    raise ValueError(
                        f"job name {name!r} must be lowercase letters, digits, '-' or '_' "
                        "(it names branches and files)"
                    )
                if isinstance(job, dict) and job.get("kind") == "review":
                    raise ValueError(
                        f"job {name!r}: kind 'review' cannot be a scheduled job; "
                        f"{BATCH_TOOLS_REASON}. Run `ci-reviewer review` on pull requests"
                    )
        return value

    def job(self, name: str) -> JobConfig:
        try:
            return self.jobs[name]
        except KeyError:
            known = ", ".join(sorted(self.jobs)) or "none are configured"
            raise ConfigError(
                f"no job named {name!r} in the config (jobs: {known})",
                hint="add it under `jobs:` or pass one of the configured names to --job",
            ) from None

    @property
    def secret_policy(self) -> SecretPolicy:
        """The one secret policy of this config, for the review and every job."""
        return SecretPolicy.of(self.secrets.allow)

    def model_for(self, override: str | None = None, job: str | None = None) -> str:
        if override:
            return override
        if job is not None and self.jobs[job].model:
            return self.jobs[job].model or self.model
        return self.model


def load_config(path: Path, *, required: bool = False) -> Config:
    """Load and validate `path`; an absent file gives the documented defaults."""
    if not path.exists():
        if required:
            raise ConfigError(
                f"config file {path} does not exist",
                hint="create it with `ci-reviewer init`, or leave out --config for defaults",
            )
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("the config file is not valid UTF-8", Location(str(path))) from None
    except OSError as error:
        raise ConfigError(
            f"cannot read the config file: {error.strerror}", Location(str(path))
        ) from None
    return parse_config(text, str(path))


def setting_location(path: Path, keys: tuple[str, ...]) -> Location | None:
    """Where `keys` (e.g. ("jobs", "nightly", "model")) is set in the config file at `path`,
    or None when the file does not set it (the default applies)."""
    try:
        _, marks = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    if keys not in marks.keys:
        return None
    line, column = marks.keys[keys]
    return Location(str(path), line, column)


def parse_config(text: str, file: str) -> Config:
    data, marks = load_yaml(text, file)
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ConfigError(
            "the config must be a mapping of keys (model, review, jobs, secrets)",
            Location(file, 1, 1),
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise _translate(error, marks) from None
    _check_thinking(config, marks)
    return config


def _check_thinking(config: Config, marks: Marks) -> None:
    """`review.thinking` must be a type the review's models accept (the model table's
    `thinking`), or the API refuses every request with 400 (a model the table does not
    know is not judged)."""
    from ci_reviewer.models import model_table

    review = config.review
    if review.thinking is None:
        return
    for model in (review.model or config.model, review.fallback_model):
        facts = model_table().facts(model) if model else None
        accepts = facts.thinking_accepts if facts is not None else None
        if accepts is not None and review.thinking not in accepts:
            raise ConfigError(
                f"review.thinking: {model} does not accept thinking {review.thinking!r} "
                f"(it accepts: {', '.join(accepts) or 'none'})",
                marks.locate(("review", "thinking")),
                hint="remove review.thinking to use the model's default, or choose another",
            )


def _translate(error: ValidationError, marks: Marks) -> ConfigError:
    """The first validation problem, as the user should read it."""
    first = error.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    dotted = ".".join(str(part) for part in loc)
    if first["type"] == "extra_forbidden":
        return _unknown_key(loc, marks)
    where = marks.locate(loc)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return ConfigError(f"{dotted}: required key is missing", marks.locate(loc[:-1]))
    if first["type"] == "literal_error":
        return ConfigError(f"{dotted}: {message}, got {first['input']!r}", where)
    if first["type"] == "list_type" and isinstance(first.get("input"), str):
        # A one-pattern list written as a bare string: the commonest slip with globs.
        key = str(loc[-1])
        return ConfigError(
            f"{dotted}: expected a list, got the string {first['input']!r}",
            where,
            hint=f"write a list: {key}: [{json.dumps(first['input'])}]",
        )
    return ConfigError(f"{dotted}: {message}", where)


def _unknown_key(loc: tuple[str | int, ...], marks: Marks) -> ConfigError:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    valid = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}?" if close else f"valid keys here: {', '.join(valid)}"
    parent = ".".join(str(p) for p in loc[:-1]) or "the top level"
    return ConfigError(f"unknown key {key!r} in {parent}", marks.locate(loc, True), hint=hint)


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    if not loc:
        return Config
    if loc[0] == "review" and len(loc) == 1:
        return ReviewConfig
    if loc[0] == "jobs" and len(loc) == 2:
        return JobConfig
    if loc[0] == "jobs" and len(loc) == 3 and loc[2] == "noise":
        return NoiseConfig
    if loc[0] == "secrets" and len(loc) == 1:
        return SecretsConfig
    return None
