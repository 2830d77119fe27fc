"""The GitHub Actions runtime: the GITHUB_* environment, the event payload, step outputs,
the job summary and workflow commands, each with the runner's documented escaping."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_reviewer.errors import InputError

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class ActionsEnv:
    """What the runner tells a step about where and what it runs."""

    repository: str | None
    event_name: str | None
    event_path: str | None
    workspace: str | None
    sha: str | None
    run_id: str | None
    api_url: str
    output_file: str | None
    summary_file: str | None
    in_actions: bool

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionsEnv:
        return cls(
            repository=environ.get("GITHUB_REPOSITORY") or None,
            event_name=environ.get("GITHUB_EVENT_NAME") or None,
            event_path=environ.get("GITHUB_EVENT_PATH") or None,
            workspace=environ.get("GITHUB_WORKSPACE") or None,
            sha=environ.get("GITHUB_SHA") or None,
            run_id=environ.get("GITHUB_RUN_ID") or None,
            api_url=(environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            output_file=environ.get("GITHUB_OUTPUT") or None,
            summary_file=environ.get("GITHUB_STEP_SUMMARY") or None,
            in_actions=environ.get("GITHUB_ACTIONS") == "true",
        )


def load_event(path: str | None) -> dict[str, Any]:
    """The event payload as a mapping; a missing or malformed file is the user's error."""
    if not path:
        raise InputError(
            "GITHUB_EVENT_PATH is not set, so there is no event payload to read",
            hint="run inside GitHub Actions, or pass --pr N (and --repo OWNER/NAME)",
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"event payload {path} does not exist",
            hint="check GITHUB_EVENT_PATH, or pass --pr N",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read event payload {path}: {error}") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path}:{error.lineno}:{error.colno}: event payload is not valid JSON: {error.msg}",
            hint="GITHUB_EVENT_PATH must point at the runner's event JSON",
        ) from None
    if not isinstance(payload, dict):
        raise InputError(f"{path}: event payload must be a JSON object")
    return payload


# -- escaping, as the runner's toolkit does it (actions/toolkit, core/src/command.ts) ------
def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def unescape_data(value: str) -> str:
    return value.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def unescape_property(value: str) -> str:
    return unescape_data(value.replace("%3A", ":").replace("%2C", ","))


def workflow_command(name: str, message: str = "", **properties: object) -> str:
    """One `::name key=value,...::message` line; None-valued properties are left out."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{escape_data(message)}"


def annotation(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    end_line: int | None = None,
    title: str | None = None,
) -> str:
    """An `::error`, `::warning` or `::notice` line that the runner turns into an annotation."""
    if level not in {"error", "warning", "notice"}:
        raise ValueError(f"unknown annotation level {level!r}")
    return workflow_command(level, message, file=file, line=line, endLine=end_line, title=title)


def add_mask(value: str) -> str:
    return workflow_command("add-mask", value)


# -- files the runner reads after the step --------------------------------------------------
def format_outputs(outputs: Mapping[str, str]) -> str:
    """Step outputs in the GITHUB_OUTPUT file format: `name=value`, or the heredoc form
    with a random delimiter when the value spans lines."""
    chunks = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            while delimiter in value:  # pragma: no cover - a UUID collision
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
            chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            chunks.append(f"{name}={value}\n")
    return "".join(chunks)


def write_outputs(path: str | None, outputs: Mapping[str, str]) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(format_outputs(outputs))


def append_summary(path: str | None, markdown: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
