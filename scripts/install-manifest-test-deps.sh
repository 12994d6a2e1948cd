#!/usr/bin/env bash
# Installs what the manifest tests (Tests/manifests) and `make image-check` need, skipping what
# is already there: the Kubernetes schema validator and two CEL implementations from PyPI
# (pinned: the versions the tests were written against), debootstrap from Debian.
# Idempotent; run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")"

./ensure-packages.sh \
  --apt debootstrap binutils `# image-check: a bookworm root; strip, as the Dockerfile does` \
  --pip kubernetes_validate=kubernetes-validate==1.37.0 celpy=cel-python==0.5.0 \
        cel=common-expression-language==0.10.0 yaml=PyYAML pytest=pytest
