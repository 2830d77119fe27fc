"""Source archives as GitHub serves them, held to the recorded exchange (@octokit/fixtures
`get-archive`): `GET /repos/{owner}/{repo}/tarball/{ref}` answers 302 with an empty body and
a Location on the download host ending `/<owner>/<repo>/legacy.tar.gz/<ref>`; the download
is a gzipped tar whose one top directory is `<owner>-<repo>-<short sha>/`. And one emulator
serves several repositories, each at its own path."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import requests

from ci_reviewer.emulators.github import GitHubEmulator
from tests.emulators import recordings
from tests.emulators.github_fixtures import TOKEN, commit_files, git

AUTH = {"Authorization": f"token {TOKEN}"}


def recorded() -> tuple[dict, dict]:
    path = recordings.root() / recordings.OCTOKIT / "get-archive" / "normalized-fixture.json"
    api, download = json.loads(path.read_text(encoding="utf-8"))
    return api, download


def repository(root: Path, name: str, files: dict[str, str]) -> Path:
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_files(repo, files, "initial")
    return repo


def test_the_tarball_redirects_and_the_download_is_shaped_as_recorded(
    emulator: GitHubEmulator, git_repo: Path
) -> None:
    api, download = recorded()
    sha = git(git_repo, "rev-parse", "HEAD")

    answer = requests.get(
        f"{emulator.url}/repos/octo/demo/tarball/main", headers=AUTH, allow_redirects=False
    )

    assert (answer.status_code, answer.content) == (api["status"], b"")
    location = answer.headers["Location"]
    recorded_tail = re.sub(r"^.*/octokit-fixture-org/get-archive", "", api["headers"]["location"])
    assert location.endswith(f"/octo/demo{recorded_tail}")
    got = requests.get(location)
    assert got.headers["Content-Type"] == download["headers"]["content-type"]
    with tarfile.open(fileobj=io.BytesIO(got.content), mode="r:gz") as tar:
        names = tar.getnames()
        app = tar.extractfile(f"octo-demo-{sha[:7]}/app.py")
        assert app is not None and app.read().startswith(b"line 1\n")
    # The recorded archive: the top directory alone, then the files under it.
    with tarfile.open(fileobj=io.BytesIO(bytes.fromhex(download["response"]))) as tar:
        assert tar.getnames() == ["octokit-fixture-org-get-archive-0000000", *tar.getnames()[1:]]
    assert names[0] == f"octo-demo-{sha[:7]}"
    assert sorted(names[1:]) == [f"octo-demo-{sha[:7]}/README.md", f"octo-demo-{sha[:7]}/app.py"]


def test_an_unknown_ref_is_not_found(emulator: GitHubEmulator) -> None:
    answer = requests.get(f"{emulator.url}/repos/octo/demo/tarball/nope", headers=AUTH)

    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"


def test_each_added_repository_answers_for_itself(emulator: GitHubEmulator, tmp_path: Path) -> None:
    other_dir = repository(tmp_path, "other", {"lib.py": "x = 1\n"})
    emulator.add_repository(other_dir, "octo/other")

    mine = requests.get(f"{emulator.url}/repos/octo/other", headers=AUTH).json()
    file = requests.get(f"{emulator.url}/repos/octo/other/contents/lib.py", headers=AUTH)
    missing = requests.get(f"{emulator.url}/repos/octo/absent", headers=AUTH)
    unauthenticated = requests.get(f"{emulator.url}/repos/octo/other")

    assert mine["full_name"] == "octo/other"
    assert mine["url"] == f"{emulator.url}/repos/octo/other"
    assert file.json()["name"] == "lib.py"
    assert missing.status_code == 404
    assert unauthenticated.status_code == 401
