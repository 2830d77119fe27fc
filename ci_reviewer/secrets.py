"""Keeping credentials out of everything the tool writes.

A `Redactor` knows the secret values of this run (from the environment, read at the edge)
and replaces them wherever text leaves the process: stderr, stdout, step outputs, the job
summary, and every body posted to GitHub.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SECRET_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
MASK = "***"
# Short values would redact ordinary words; real credentials are far longer.
_MIN_SECRET_LENGTH = 6


@dataclass(frozen=True)
class Redactor:
    """Replaces every known secret value with `***`."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Redactor:
        return cls.of(environ[name] for name in SECRET_VARIABLES if name in environ)

    @classmethod
    def of(cls, values: Iterable[str]) -> Redactor:
        kept = {v.strip() for v in values if v and len(v.strip()) >= _MIN_SECRET_LENGTH}
        # Longest first, so a secret that contains another is masked whole.
        return cls(tuple(sorted(kept, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
