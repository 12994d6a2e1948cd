#!/usr/bin/env bash
# Installs what the manifest tests (Tests/manifests), `make image-check` and the image tests
# (Tests/image) need, skipping what is already there: the Kubernetes schema validator, two CEL
# implementations and the SPDX validator (spdx-tools, for the image's SBOM) from PyPI (pinned:
# the versions the tests were written against), debootstrap from Debian.
# Idempotent; run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")"

./ensure-packages.sh \
  --apt debootstrap binutils `# image-check: a bookworm root; strip, as the Dockerfile does` \
  --pip kubernetes_validate=kubernetes-validate==1.37.0 celpy=cel-python==0.5.0 \
        cel=common-expression-language==0.10.0 spdx_tools=spdx-tools==0.8.5 yaml=PyYAML pytest=pytest
