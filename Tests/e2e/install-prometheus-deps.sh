#!/bin/sh
# Installs what the Prometheus end-to-end tests run (Debian packages), if missing.
# Idempotent; needs root (or sudo) the first time. The daemons are NOT started as
# services: the tests start their own copies on 127.0.0.1 and stop them afterwards.
set -eu
missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
command -v prometheus-node-exporter >/dev/null 2>&1 || missing="$missing prometheus-node-exporter"
command -v stress-ng >/dev/null 2>&1 || missing="$missing stress-ng"
command -v unshare >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 || missing="$missing util-linux"
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing" >&2
$SUDO apt-get update -qq
# policy-rc.d / no systemd in containers: the packages' services are not started here.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
# Where a service manager started the freshly installed daemons, stop them: the tests
# run their own, and nothing else here wants a Prometheus on :9090.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in prometheus prometheus-node-exporter; do
        case "$missing" in *" $unit"*) $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true ;; esac
    done
fi
