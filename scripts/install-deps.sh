#!/usr/bin/env bash
# Installs what building and testing autotaint needs on a Debian machine, skipping what
# is already there. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")"

./ensure-packages.sh \
  --apt libcurl4-openssl-dev libproc2-dev libyaml-dev libmicrohttpd-dev `# the C libraries we link` \
        stress-ng `# load for e2e tests` openssl `# test certificates` \
  --pip pytest=pytest h2=h2==4.4.1 `# the fake API server's HTTP/2 (Tests/e2e/fakeapi)`

command -v swift >/dev/null || { echo "install-deps: swift is not on PATH (expected /opt/swift/usr/bin)" >&2; exit 1; }
command -v kubectl >/dev/null || echo "install-deps: kubectl not found; tests that use it will fail" >&2
