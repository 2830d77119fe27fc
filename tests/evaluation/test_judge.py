"""The judge's pre-filter and the check of its answer: a golden comment that names a file
the PR changes (and a line) can only be matched by a candidate there; a pair the judge
names outside the allowed ones, or twice, is not counted."""

from __future__ import annotations

from ci_reviewer.evaluation.dataset import GoldenComment
from ci_reviewer.evaluation.judge import Candidate, allowed_pairs, parse_verdict


def candidate(cid: str, path: str, line: int) -> Candidate:
    return Candidate(cid, path, line, "high", "t", "b")


def test_a_golden_naming_a_file_and_line_admits_only_candidates_near_it() -> None:
    named = GoldenComment.of("it assigns the result at line 69 in pkg/web/assets.go", "High")
    vague = GoldenComment.of("the cache is never invalidated (see d.Log and time.Now)", "Low")
    assert (named.path, named.line) == ("pkg/web/assets.go", 69)
    assert (vague.path, vague.line) == (None, None)
    candidates = [
        candidate("c1", "pkg/web/assets.go", 80),  # 11 lines away: within 20
        candidate("c2", "pkg/web/assets.go", 95),  # 26 lines away
        candidate("c3", "pkg/api/assets.go", 69),  # another file of the same name
    ]

    changed = ["pkg/web/assets.go", "pkg/api/assets.go"]

    allowed = allowed_pairs([named, vague], candidates, changed)

    assert allowed == {"g1": ("c1",), "g2": ("c1", "c2", "c3")}


def test_a_file_the_pr_does_not_change_is_context_and_restricts_nothing() -> None:
    named = GoldenComment.of("unlike pkg/old/cache.go, this one never expires", "Low")
    candidates = [candidate("c1", "pkg/new/cache.go", 3)]

    assert allowed_pairs([named], candidates, ["pkg/new/cache.go"]) == {"g1": ("c1",)}


def test_pairs_outside_the_allowed_ones_are_dropped_and_duplicates_kept_once() -> None:
    allowed = {"g1": ("c1",), "g2": ("c2",)}
    answer = (
        '{"matches": [{"golden": "g1", "candidate": "c1", "reason": "r"},'
        ' {"golden": "g1", "candidate": "c1", "reason": "again"},'
        ' {"golden": "g1", "candidate": "c2", "reason": "not allowed"},'
        ' {"golden": "g9", "candidate": "c2", "reason": "no such golden"}]}'
    )

    verdict = parse_verdict(answer, allowed)

    assert [(m.golden, m.candidate) for m in verdict.matches] == [("g1", "c1")]
    assert verdict.dropped == ("g1~c2", "g9~c2")
