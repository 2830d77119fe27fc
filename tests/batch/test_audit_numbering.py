"""An audited file is sent with each line numbered as `cat -n` numbers it (right-aligned in
five columns, two spaces, the line), so the model's line numbers are the file's."""

from __future__ import annotations

from ci_reviewer.batch.jobs.numbering import numbered


def test_lines_are_numbered_from_one_right_aligned_in_five_columns() -> None:
    assert numbered("a = 1\n\nb = 2\n") == "    1  a = 1\n    2  \n    3  b = 2"
    assert numbered("") == ""
    # Line breaks as str.splitlines knows them (\r\n, \r, form feed), one number each.
    assert numbered("x\r\ny\rz\x0cw") == "    1  x\n    2  y\n    3  z\n    4  w"


def test_a_file_longer_than_the_shared_table_is_numbered_to_its_last_line() -> None:
    count = 120_001  # past the 20,000 numbers kept, and past five columns
    text = "".join(f"line {n}\n" for n in range(1, count + 1))
    lines = numbered(text).split("\n")
    assert len(lines) == count
    assert lines[19_999] == "20000  line 20000"
    assert lines[20_000] == "20001  line 20001"
    assert lines[99_998] == "99999  line 99999"
    assert lines[-1] == "120001  line 120001"  # wider than five columns: not cut
    assert numbered("short\n") == "    1  short"  # the table still starts at 1
