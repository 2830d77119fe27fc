#!/usr/bin/env sh
# Install recorded real exchanges with api.github.com into .ci-cache/recordings, where
# tests/emulators/recordings.py reads them (or set CI_REVIEWER_GITHUB_RECORDINGS to another
# folder laid out the same way). The GitHub emulator is held to them:
#   pygithub-2.10.0/ReplayData/*.txt   PyGithub's sdist (PyPI) tests/ReplayData: ~2,400
#                                      exchanges its own tests recorded against GitHub
#   octokit-fixtures-23.1.2/api.github.com/<scenario>/normalized-fixture.json
#                                      @octokit/fixtures (npm): recorded scenarios
# Only those data files are extracted from the archives: none of their code is installed or
# run. Pinned by version and checksum; a partial earlier run is replaced.
set -eu
PYGITHUB_VERSION="2.10.0"
PYGITHUB_SHA256="90ff24ef1cd1bd57124c2a3869cafee9d7b066909129ecdaba2c2d1903bc118d"
FIXTURES_VERSION="23.1.2"
FIXTURES_SHA256="5a9b0221d7c18f593dc57b5f292e946e8cadfac2b0d4578b38d7e9bd63836c64"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.ci-cache/recordings"
STAMP="$DEST/COMPLETE"
WANT="pygithub $PYGITHUB_VERSION $PYGITHUB_SHA256; @octokit/fixtures $FIXTURES_VERSION $FIXTURES_SHA256"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "recordings already in $DEST" >&2
  exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# PyGithub: the source distribution (the wheel has no tests).
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: -d "$WORK" "PyGithub==$PYGITHUB_VERSION" >&2
SDIST="$WORK/pygithub-$PYGITHUB_VERSION.tar.gz"
echo "$PYGITHUB_SHA256  $SDIST" | sha256sum -c --status
tar -xzf "$SDIST" -C "$WORK" --wildcards "pygithub-$PYGITHUB_VERSION/tests/ReplayData/*.txt"

# @octokit/fixtures: the package tarball, unpacked without installing it.
(cd "$WORK" && npm pack --silent "@octokit/fixtures@$FIXTURES_VERSION" >/dev/null)
TARBALL="$WORK/octokit-fixtures-$FIXTURES_VERSION.tgz"
echo "$FIXTURES_SHA256  $TARBALL" | sha256sum -c --status
tar -xzf "$TARBALL" -C "$WORK" --wildcards "package/scenarios/api.github.com/*/normalized-fixture.json"

rm -rf "$DEST"
mkdir -p "$DEST/pygithub-$PYGITHUB_VERSION" "$DEST/octokit-fixtures-$FIXTURES_VERSION"
mv "$WORK/pygithub-$PYGITHUB_VERSION/tests/ReplayData" "$DEST/pygithub-$PYGITHUB_VERSION/ReplayData"
mv "$WORK/package/scenarios/api.github.com" "$DEST/octokit-fixtures-$FIXTURES_VERSION/api.github.com"
echo "$WANT" >"$STAMP"
echo "$DEST"
