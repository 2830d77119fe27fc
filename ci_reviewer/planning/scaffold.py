"""What `init` writes: a commented config and example workflows, the nightly schedule derived
from the SLA and the action reference the user chose, never overwriting a file that exists."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ci_reviewer.config import DEFAULT_CONFIG_PATH
from ci_reviewer.errors import InputError
from ci_reviewer.planning.sla import SlaTerms, hours, plan_submissions

_TEMPLATES = "templates"
_WORKFLOWS = "workflows"


@dataclass(frozen=True)
class ScaffoldFile:
    path: str  # relative to the repository root
    text: str


def scaffold(sla_hours: float, action: str) -> list[ScaffoldFile]:
    """The files to write, with the nightly job's SLA and its cadence filled in, and every
    workflow running the action `action` (a `uses:` value)."""
    plan = plan_submissions(SlaTerms(sla_hours))
    values = {
        "{sla_hours}": f"{sla_hours:g}",
        "{interval_hours}": f"{plan.interval_hours}",
        "{cron}": plan.cron,
        "{action}": action,
    }
    root = resources.files("ci_reviewer.data").joinpath(_TEMPLATES)
    files = [ScaffoldFile(DEFAULT_CONFIG_PATH, root.joinpath("ci-reviewer.yml").read_text())]
    workflows = root.joinpath(_WORKFLOWS)
    for entry in sorted(workflows.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yml"):
            files.append(ScaffoldFile(f".github/workflows/{entry.name}", entry.read_text()))
    return [ScaffoldFile(f.path, _fill(f.text, values)) for f in files]


def write_scaffold(workdir: Path, files: list[ScaffoldFile]) -> list[str]:
    """Write every file, or none: when any exists, InputError names them all."""
    existing = [f.path for f in files if (workdir / f.path).exists()]
    if existing:
        raise InputError(
            "refusing to overwrite existing files: " + ", ".join(existing),
            hint="move or delete them first; nothing was written",
        )
    for item in files:
        target = workdir / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as handle:  # "x": never clobber a racing write
            handle.write(item.text)
    return [f.path for f in files]


def cadence_note(sla_hours: float) -> str:
    plan = plan_submissions(SlaTerms(sla_hours))
    return (
        f"nightly-tests: SLA {hours(sla_hours)} -> submit every {hours(plan.interval_hours)} "
        f"({plan.cron} UTC)"
    )


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text
