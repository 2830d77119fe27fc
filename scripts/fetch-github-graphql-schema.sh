#!/usr/bin/env sh
# Install GitHub's published GraphQL schema (npm package @octokit/graphql-schema, which
# GitHub's public schema is generated into) into .ci-cache/graphql-schema, where
# tests/emulators/graphql_schema.py looks for it (or set CI_REVIEWER_GITHUB_GRAPHQL_SCHEMA to
# its schema.json). Pinned: every GraphQL document the product sends is validated
# against this version.
set -eu
VERSION="${OCTOKIT_GRAPHQL_SCHEMA_VERSION:-15.26.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.ci-cache/graphql-schema"
SCHEMA="$DEST/node_modules/@octokit/graphql-schema/schema.json"
if [ -f "$SCHEMA" ] && grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/@octokit/graphql-schema/package.json"; then
  echo "@octokit/graphql-schema $VERSION already in $DEST" >&2
  exit 0
fi
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-save --no-audit --no-fund --ignore-scripts "@octokit/graphql-schema@$VERSION" >&2
test -f "$SCHEMA"
echo "$SCHEMA"
