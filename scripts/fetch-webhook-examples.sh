#!/usr/bin/env sh
# Install GitHub's recorded webhook payloads (npm package @octokit/webhooks-examples) into
# .ci-cache/webhooks-examples, where tests/github/webhook_payloads.py reads them (or set
# CI_REVIEWER_WEBHOOK_EXAMPLES to its api.github.com/index.json). Pinned: the tests that run
# `answer` on issue_comment and pull_request_review_comment events start from these payloads.
set -eu
VERSION="${OCTOKIT_WEBHOOKS_EXAMPLES_VERSION:-7.6.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.ci-cache/webhooks-examples"
INDEX="$DEST/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
if [ -f "$INDEX" ] && grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/@octokit/webhooks-examples/package.json"; then
  echo "@octokit/webhooks-examples $VERSION already in $DEST" >&2
  exit 0
fi
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-save --no-audit --no-fund --ignore-scripts "@octokit/webhooks-examples@$VERSION" >&2
test -f "$INDEX"
echo "$INDEX"
