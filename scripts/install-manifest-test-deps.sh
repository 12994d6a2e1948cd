#!/usr/bin/env bash
# Installs what the manifest tests (Tests/manifests) and `make image-check` need, skipping what
# is already there: the Kubernetes schema validator and two CEL implementations from PyPI,
# debootstrap from Debian. Idempotent; run as root (or with sudo available).
set -euo pipefail

apt_packages=(debootstrap binutils)   # image-check: a bookworm root; strip, as the Dockerfile does
# import name -> pip requirement (pinned: the versions the tests were written against)
pip_packages=(
  "kubernetes_validate kubernetes-validate==1.37.0"
  "celpy cel-python==0.5.0"
  "cel common-expression-language==0.10.0"
  "yaml PyYAML"
  "pytest pytest"
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for package in "${apt_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-manifest-test-deps: apt: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for entry in "${pip_packages[@]}"; do
  module=${entry%% *}
  requirement=${entry#* }
  if ! python3 -c "import $module" 2>/dev/null; then
    echo "install-manifest-test-deps: pip: $requirement"
    python3 -m pip install -q "$requirement"
  fi
done
