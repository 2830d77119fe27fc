#!/usr/bin/env sh
# Install real projects' published sources into .ci-cache/noise-corpus, where
# tests/batch/test_noise_real_repos.py makes git repositories of them (or set
# CI_REVIEWER_NOISE_CORPUS to another folder laid out the same way):
#   flask-3.0.3/        Flask's sdist (PyPI): CHANGES.rst, LICENSE.txt, docs/*.rst, tests
#   requests-2.32.3/    Requests' sdist (PyPI): HISTORY.md, LICENSE, NOTICE, README.md
#   prop-types-15.8.1/  prop-types (npm): prop-types.min.js beside its unminified build
# Archives only: none of their code is installed or run. Pinned by version and checksum;
# a partial earlier run is replaced.
set -eu
FLASK="flask-3.0.3.tar.gz ceb27b0af3823ea2737928a4d99d125a06175b8512c445cbd9a9ce200ef76842"
REQUESTS="requests-2.32.3.tar.gz 55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760"
PROP_TYPES="prop-types-15.8.1.tgz 1c739eb05d8a462c286a4e9dd02f2ce5485c6fa3529244e9ff9b13a3671aa557"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.ci-cache/noise-corpus"
STAMP="$DEST/COMPLETE"
WANT="$FLASK; $REQUESTS; $PROP_TYPES"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "noise corpus already in $DEST" >&2
  exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: -d "$WORK" "flask==3.0.3" "requests==2.32.3" >&2
(cd "$WORK" && npm pack --silent "prop-types@15.8.1" >/dev/null)
for pinned in "$FLASK" "$REQUESTS" "$PROP_TYPES"; do
  set -- $pinned
  echo "$2  $WORK/$1" | sha256sum -c --status
done
mkdir -p "$WORK/out"
tar -xzf "$WORK/flask-3.0.3.tar.gz" -C "$WORK/out"
tar -xzf "$WORK/requests-2.32.3.tar.gz" -C "$WORK/out"
tar -xzf "$WORK/prop-types-15.8.1.tgz" -C "$WORK"
mv "$WORK/package" "$WORK/out/prop-types-15.8.1"

rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$WORK/out" "$DEST"
echo "$WANT" >"$STAMP"
echo "$DEST"
