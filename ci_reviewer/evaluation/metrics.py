"""Precision, recall and F1 of a review against golden comments.

Per PR: a golden comment is found (a true positive) when at least one candidate matches it,
else it is a miss; a candidate that matches no golden comment is a false positive.
Precision is the share of candidates that match some golden comment (duplicates of a found
problem are not held against the reviewer), recall the share of golden comments found, F1
their harmonic mean. A clean PR (no golden comments) has no recall: each candidate there is
a false positive. Totals add the counts of every judged PR, then divide (micro-average), so
a PR with many golden comments weighs more than one with a single one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Counts:
    goldens: int = 0
    candidates: int = 0
    found: int = 0  # golden comments matched: true positives
    matching: int = 0  # candidates that match some golden comment

    @property
    def true_positives(self) -> int:
        return self.found

    @property
    def false_positives(self) -> int:
        return self.candidates - self.matching

    @property
    def misses(self) -> int:
        return self.goldens - self.found

    @property
    def precision(self) -> float | None:
        return self.matching / self.candidates if self.candidates else None

    @property
    def recall(self) -> float | None:
        return self.found / self.goldens if self.goldens else None

    @property
    def f1(self) -> float | None:
        precision, recall = self.precision, self.recall
        if precision is None or recall is None:
            return None
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.goldens + other.goldens,
            self.candidates + other.candidates,
            self.found + other.found,
            self.matching + other.matching,
        )

    def to_json(self) -> dict[str, int | float | None]:
        return {
            "goldens": self.goldens,
            "candidates": self.candidates,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "misses": self.misses,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def counts_of(
    golden_ids: Sequence[str], candidate_ids: Sequence[str], pairs: Iterable[tuple[str, str]]
) -> Counts:
    """The counts of one PR from its judged (golden, candidate) pairs."""
    pairs = [(g, c) for g, c in pairs if g in golden_ids and c in candidate_ids]
    return Counts(
        goldens=len(golden_ids),
        candidates=len(candidate_ids),
        found=len({g for g, _ in pairs}),
        matching=len({c for _, c in pairs}),
    )


def total(counts: Iterable[Counts]) -> Counts:
    return sum(counts, Counts())
