"""The custom_id of a batch request, as the docstring documents it:
`{prefix}-{sha1(path)[:16]}-{content_hash[:8]}-a{attempt}`, within the Message Batches API's
`^[a-zA-Z0-9_-]{1,64}$`. The same file content at the same attempt always gets the same id, so
a resubmission after a crash is recognised. The path hashes were computed with
`printf %s PATH | sha1sum`."""

from __future__ import annotations

import re

import pytest

from ci_reviewer.batch.manifest import (
    ManifestEntry,
    custom_id,
    custom_id_of,
    id_prefix,
    is_sync_batch,
    lost_batch_id,
)

BLOB = "df9699b19b502ddecf9ce3620db796f56236644d"
API_FORMAT = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # DESIGN.md section 2


def test_the_id_names_the_kind_the_path_hash_the_content_and_the_attempt() -> None:
    entry = ManifestEntry(path="src/app.py", content_hash=BLOB, attempt=2)

    assert custom_id("tests", entry) == "tests-ac95095330a4a20b-df9699b1-a2"


def test_a_first_attempt_is_a1_by_default() -> None:
    entry = ManifestEntry(path="src/café.py", content_hash=BLOB)

    assert custom_id("tests", entry) == "tests-07843b7038e58f0c-df9699b1-a1"


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [
        ("security-audit", "securityaudi"),  # letters and digits only, at most 12
        ("report_v2", "reportv2"),
        ("---", "job"),  # nothing left: a fixed word, never an empty start
        ("", "job"),
    ],
)
def test_the_kind_starts_the_id_cleaned_to_letters_and_digits(kind: str, prefix: str) -> None:
    assert id_prefix(kind) == prefix
    entry = ManifestEntry(path="docs/a b.md", content_hash=BLOB)
    assert custom_id(kind, entry) == f"{prefix}-c7a125621430a716-df9699b1-a1"


@pytest.mark.parametrize(
    ("content_hash", "part"),
    [
        ("DF9699B19B502DDE", "DF9699B1"),  # not lowercase hex: cleaned, then cut
        ("a/b:c.d-e+f_g!h", "abcdefgh"),
        ("--", "0"),  # nothing usable: a fixed digit
        ("", "0"),
        ("abc", "abc"),
    ],
)
def test_a_content_hash_that_is_not_a_blob_sha_is_cleaned(content_hash: str, part: str) -> None:
    assert custom_id_of("tests", "src/app.py", content_hash, 3) == (
        f"tests-ac95095330a4a20b-{part}-a3"
    )


def test_the_longest_id_fits_the_api_format() -> None:
    entry = ManifestEntry(path="x/" * 500, content_hash=BLOB, attempt=999_999)
    made = custom_id("x" * 100, entry)

    assert API_FORMAT.match(made)
    assert made == "xxxxxxxxxxxx-e81cd1c66b6a313e-df9699b1-a999999"
    assert len(made) == 12 + 1 + 16 + 1 + 8 + 1 + 7


def test_synchronous_runs_are_told_from_message_batches_by_their_id() -> None:
    assert is_sync_batch("sync_20261206T193334Z")
    assert not is_sync_batch("msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")


def test_a_synchronous_run_lost_before_its_id_was_recorded_gets_one_id_from_every_run() -> None:
    # "sync_lost_" and the first 20 hex digits of sha256(intent id), worked out with
    # `printf %s ID | sha256sum`: any later run names the lost run the same way.
    lost = lost_batch_id("intent-20261208T0300Z")

    assert lost == "sync_lost_55eabf63d58b26a2cc85"
    assert lost_batch_id("i1") == "sync_lost_4cd9b7672d7fbee8fb51"
    assert is_sync_batch(lost)
