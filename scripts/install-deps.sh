#!/usr/bin/env bash
# Installs what building and testing autotaint needs on a Debian machine, skipping what
# is already there. Run as root (or with sudo available).
set -euo pipefail

apt_packages=(
  libcurl4-openssl-dev libproc2-dev libyaml-dev libmicrohttpd-dev  # the C libraries we link
  stress-ng                                                       # load for e2e tests
  openssl                                                         # test certificates
)
pip_packages=(pytest)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for package in "${apt_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for package in "${pip_packages[@]}"; do
  python3 -c "import $package" 2>/dev/null || { echo "install-deps: pip: $package"; python3 -m pip install -q "$package"; }
done

command -v swift >/dev/null || { echo "install-deps: swift is not on PATH (expected /opt/swift/usr/bin)" >&2; exit 1; }
command -v kubectl >/dev/null || echo "install-deps: kubectl not found; tests that use it will fail" >&2
