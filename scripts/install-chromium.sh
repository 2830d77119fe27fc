#!/usr/bin/env sh
# Make sure a headless-capable Chromium is installed, for the test that loads the emulator's
# page in a real browser (tests/walkthrough). Already on PATH: says where and stops. Else,
# on a Debian or Ubuntu machine, installs the OS package with apt-get (as root, or through
# sudo when it needs no password), refreshing the package lists once if apt cannot find it.
# Anywhere else it fails and says what to install; CHROMIUM may name a browser binary instead.
set -eu
for name in ${CHROMIUM:-} chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    exit 0
  fi
done
hint="install Chromium (Debian/Ubuntu: apt-get install chromium; macOS: brew install --cask chromium) or set CHROMIUM to a Chromium or Chrome binary"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no Chromium found and no apt-get to install it: $hint" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
else
  echo "no Chromium found, and apt-get needs root (no password-free sudo here): $hint" >&2
  exit 1
fi
install="$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 chromium"
echo "installing Chromium from the OS packages: apt-get install chromium" >&2
if ! $install >&2; then
  $as_root apt-get update >&2
  $install >&2
fi
command -v chromium
