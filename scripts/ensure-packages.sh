#!/usr/bin/env bash
# Installs what is missing of the Debian and PyPI packages named, skipping what is there.
# Idempotent; runs apt as root (or through sudo).
#
#   scripts/ensure-packages.sh --apt PKG... [--pip MODULE=REQUIREMENT...]
#
# A pip entry names the module to import to tell whether it is installed, and the
# requirement to install otherwise, e.g. `celpy=cel-python==0.5.0`.
set -euo pipefail

apt_packages=()
pip_entries=()
mode=""
for argument in "$@"; do
  case "$argument" in
    --apt|--pip) mode=$argument ;;
    *) if [ "$mode" = --apt ]; then apt_packages+=("$argument"); else pip_entries+=("$argument"); fi ;;
  esac
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for package in "${apt_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-packages: apt: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for entry in "${pip_entries[@]}"; do
  module=${entry%%=*}
  requirement=${entry#*=}
  if ! python3 -c "import $module" 2>/dev/null; then
    echo "ensure-packages: pip: $requirement"
    python3 -m pip install -q "$requirement"
  fi
done
