"""What an imported module contributes to a request does not depend on which file asked
for it first: the excerpt kept per run is the one cut for that file's remaining budget
(6,000 bytes of a module, 20,000 of all the imports of one file, `context.py`)."""

from __future__ import annotations

from pathlib import Path

from ci_reviewer.batch.jobs.context import RepositoryContext
from tests.batch.conftest import commit_files


def _module(name: str, size: int) -> str:
    line = f"# {name} padding line\n"
    return (line * (size // len(line) + 1))[:size]


def test_a_module_cut_short_for_one_file_is_sent_whole_to_the_next(repo: Path) -> None:
    big = {f"pkg/{n}.py": _module(n, 7000) for n in ("p", "q", "r", "x")}
    files = {
        **big,
        "pkg/a.py": "from pkg import p, q, r, x\n",
        "pkg/b.py": "from pkg import x\n",
    }
    commit_files(repo, files)
    context = RepositoryContext(repo)

    def sent(path: str) -> dict[str, str]:
        return {i.path: i.text for i in context.imports_of(path, files[path])}

    first_a, b, again_a = sent("pkg/a.py"), sent("pkg/b.py"), sent("pkg/a.py")

    x = big["pkg/x.py"]
    # a: p, q and r take 6,000 bytes each of the 20,000, so x gets the last 2,000.
    assert [len(t) for t in first_a.values()] == [6000, 6000, 6000, 2000]
    assert first_a["pkg/x.py"] == x[:2000]
    assert b == {"pkg/x.py": x[:6000]}  # b imports x alone: its first 6,000 bytes
    assert again_a == first_a
