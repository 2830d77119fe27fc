"""GET /v1/models/{model_id}: one model as the Models API describes it.

The answer is the SDK's `ModelInfo` (anthropic 2.17.0, anthropic/types/model_info.py): a
retired model stays in the catalogue with `lifecycle: retired` (its requests fail), and
`created_at` is "set to an epoch value if the release date is unknown", which the model
table does not record. An id the table does not know is 404 `not_found_error` worded
`model: <id>`, as the API words it for a Messages request naming such a model
(anthropics/claude-code#5349 quotes `{"type":"error","error":{"type":"not_found_error",
"message":"model: sonnet4"}}`); no recording of the Models API's own 404 was found, and the
product reads only the status and the error's type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ci_reviewer.emulators.claude_validation import ApiError
from ci_reviewer.models import ModelFacts, model_table

_EPOCH = "1970-01-01T00:00:00Z"


def model_info(model_id: str, extra: Mapping[str, ModelFacts] | None = None) -> dict[str, Any]:
    """The ModelInfo of `model_id` (a dated alias answers as its model); ApiError 404 for
    an id the API does not know."""
    facts = (extra or {}).get(model_id) or model_table().facts(model_id)
    if facts is None:
        raise ApiError("not_found_error", f"model: {model_id}")
    retires = _iso_date(facts.retires) if facts.lifecycle != "active" else None
    return {
        "type": "model",
        "id": facts.id,
        "display_name": _display_name(facts.id),
        "created_at": _EPOCH,
        "lifecycle": facts.lifecycle,
        "deprecated_at": None if facts.lifecycle == "active" else _EPOCH,
        "retires_at": retires,
        "max_input_tokens": facts.context_window,
        "max_tokens": facts.max_output_tokens,
    }


def _display_name(model_id: str) -> str:
    """`claude-sonnet-5-5` -> `Claude Sonnet 5.5`, as the API names its models."""
    words = model_id.split("-")
    names = [w.capitalize() for w in words if not w.isdigit()]
    version = ".".join(w for w in words if w.isdigit())
    return " ".join([*names, version]) if version else " ".join(names)


def _iso_date(text: str | None) -> str | None:
    """The table's "January 22nd, 2027" as the API's RFC 3339 datetime."""
    if not text:
        return None
    plain = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    try:
        day = datetime.strptime(plain, "%B %d, %Y")
    except ValueError:
        return None
    return day.strftime("%Y-%m-%dT00:00:00Z")
