#!/usr/bin/env sh
# Install real projects' published sources into .ci-cache/testgen-corpus, where
# tests/batch/test_testgen_languages.py makes git repositories of them (or set
# CI_REVIEWER_TESTGEN_CORPUS to another folder laid out the same way):
#   attrs-24.2.0/                 attrs' sdist (PyPI): pytest in pyproject.toml, a root
#                                 conftest.py with fixtures, tests/test_*.py
#   json-schema-traverse-1.0.0/   json-schema-traverse (npm): mocha, spec/index.spec.js
#                                 beside spec/fixtures/schema.js
# Archives only: none of their code is installed or run. Pinned by version and checksum;
# a partial earlier run is replaced.
set -eu
ATTRS="attrs-24.2.0.tar.gz 5cfb1b9148b5b086569baec03f20d7b6bf3bcacc9a42bebf87ffaaca362f6346"
TRAVERSE="json-schema-traverse-1.0.0.tgz 023222622df29fc274bde5d3590e47aa1d4a8e3c1d6e2aba029948ed79799b21"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.ci-cache/testgen-corpus"
STAMP="$DEST/COMPLETE"
WANT="$ATTRS; $TRAVERSE"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "test-generation corpus already in $DEST" >&2
  exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: -d "$WORK" "attrs==24.2.0" >&2
(cd "$WORK" && npm pack --silent "json-schema-traverse@1.0.0" >/dev/null)
for pinned in "$ATTRS" "$TRAVERSE"; do
  set -- $pinned
  echo "$2  $WORK/$1" | sha256sum -c --status
done
mkdir -p "$WORK/out"
tar -xzf "$WORK/attrs-24.2.0.tar.gz" -C "$WORK/out"
tar -xzf "$WORK/json-schema-traverse-1.0.0.tgz" -C "$WORK"
mv "$WORK/package" "$WORK/out/json-schema-traverse-1.0.0"

rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$WORK/out" "$DEST"
echo "$WANT" >"$STAMP"
echo "$DEST"
