#!/usr/bin/env sh
# Install GitHub's REST API description (npm package @octokit/openapi) into .ci-cache/openapi,
# where tests/emulators/openapi.py looks for it (or set CI_REVIEWER_GITHUB_OPENAPI to the
# generated/api.github.com.json file). Pinned: the emulator is validated against this version.
set -eu
VERSION="${OCTOKIT_OPENAPI_VERSION:-23.0.2}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.ci-cache/openapi"
SPEC="$DEST/node_modules/@octokit/openapi/generated/api.github.com.json"
if [ -f "$SPEC" ] && grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/@octokit/openapi/package.json"; then
  echo "@octokit/openapi $VERSION already in $DEST" >&2
  exit 0
fi
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-save --no-audit --no-fund --ignore-scripts "@octokit/openapi@$VERSION" >&2
test -f "$SPEC"
echo "$SPEC"
