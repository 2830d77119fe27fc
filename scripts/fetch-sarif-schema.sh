#!/usr/bin/env sh
# Install the official SARIF 2.1.0 JSON schema (OASIS, 2.1.0-rtm.5), as shipped inside the npm
# package @microsoft/jest-sarif, into .ci-cache/sarif, where the security-audit tests look for
# it (or set CI_REVIEWER_SARIF_SCHEMA to the file). Only the schema file is extracted from the
# package tarball: none of the package's JavaScript is installed or run. Pinned by checksum.
set -eu
VERSION="${JEST_SARIF_VERSION:-1.0.0-beta.0}"
SHA256="2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.ci-cache/sarif"
SCHEMA="$DEST/sarif-schema-2.1.0.json"
if [ -f "$SCHEMA" ] && echo "$SHA256  $SCHEMA" | sha256sum -c --status; then
  echo "SARIF schema already in $DEST" >&2
  exit 0
fi
mkdir -p "$DEST"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "@microsoft/jest-sarif@$VERSION" >/dev/null)
tar -xzf "$WORK"/microsoft-jest-sarif-*.tgz -C "$WORK" package/lib/schemas/sarif-2.1.0-rtm.5.json
echo "$SHA256  $WORK/package/lib/schemas/sarif-2.1.0-rtm.5.json" | sha256sum -c --status
cp "$WORK/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$SCHEMA"
echo "$SCHEMA"
