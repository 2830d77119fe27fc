"""The hidden tag each published finding carries (in an inline comment, a review body or an
issue body), so a later run recognises a finding it posted before and does not post it again."""

from __future__ import annotations

import re

_FINGERPRINT = re.compile(r"<!-- ci-reviewer:fp:([0-9a-f]{8,64}) -->")


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- ci-reviewer:fp:{fingerprint} -->"


def fingerprints_in(text: str | None) -> set[str]:
    return set(_FINGERPRINT.findall(text or ""))
