#!/usr/bin/env bash
# image-check: proves the Dockerfile's rootfs stage, and the root filesystem it assembles for the
# final FROM scratch image, complete without a Docker engine.
#
#   Tests/image-check/image-check.sh [BINARY]        (default .build/release/autotaint; run as root)
#
# 1. A minimal bookworm root (debootstrap --variant=minbase, about what debian:bookworm-slim
#    is), cached in .build-image/base (git-ignored) by scripts/bookworm-base.sh; downloaded
#    from the Debian mirror this machine's apt is configured with.
# 2. A fresh copy of it gets exactly the rootfs stage's packages, parsed from the Dockerfile
#    (scripts/dockerfile_packages.py), installed the way the Dockerfile does it
#    (apt-get install --no-install-recommends); the binary is copied in, stripped like the
#    Dockerfile's build stage does.
# 3. Inside that root, scripts/image-rootfs.sh assembles the image's root filesystem, as the
#    rootfs stage does: the binary, the shared objects it loads, the CA bundle, the dpkg records.
# 4. Inside that assembled root (no shell, no ldd: the loader and the binary are run directly), as
#    in the pod: read-only, numeric non-root user 65532:65532, its own PID namespace with its own
#    /proc (no host /proc), no network, the ConfigMap's config.yaml at
#    /etc/autotaint/config.yaml. It runs the loader's --list (ldd; fails on any "not found"),
#    `autotaint --version`, `autotaint check-config`, `autotaint sample --count 1`.
# Every step has a time limit; the whole check is bounded by IMAGE_CHECK_TIMEOUT (default 600 s).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
binary=$(realpath "${1:-$repo/.build/release/autotaint}")
cache="$repo/.build-image"
dockerfile=${IMAGE_CHECK_DOCKERFILE:-$repo/Dockerfile}   # another file only to test this check
uid_gid=65532:65532

say() { printf 'image-check: %s\n' "$*"; }
fail() { printf 'image-check: FAIL: %s\n' "$*" >&2; exit 1; }

# Bound the whole run: re-exec under timeout once.
if [ -z "${IMAGE_CHECK_BOUNDED:-}" ]; then
  export IMAGE_CHECK_BOUNDED=1
  exec timeout --kill-after=10 "${IMAGE_CHECK_TIMEOUT:-600}" "$0" "$@"
fi

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mount namespaces)"
[ -x "$binary" ] || fail "no binary at $binary (make release)"
command -v debootstrap >/dev/null || fail "debootstrap missing (scripts/install-manifest-test-deps.sh)"
start=$(date +%s)

packages=$(python3 "$repo/scripts/dockerfile_packages.py" --dockerfile "$dockerfile")
[ -n "$packages" ] || fail "no runtime packages parsed from the Dockerfile"
# shellcheck disable=SC2086
say "rootfs stage packages (from $(basename "$dockerfile")): $(echo $packages)"
base=$("$repo/scripts/bookworm-base.sh" "$cache") || fail "no bookworm root"

root="$cache/root"
say "fresh root from the cached base"
rm -rf "$root"
cp -a "$base" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The root cleans apt's .debs away after each install, as the slim image does; here they are
# the shared download cache below.
rm -f "$root/etc/apt/apt.conf.d/docker-clean"
mkdir -p "$cache/apt-archives/partial"
before=$(chroot "$root" dpkg-query -W -f '${Package}\n' | sort)

say "apt-get install --no-install-recommends (as the Dockerfile's rootfs stage)"
# A private mount namespace: /proc and the shared .deb cache vanish with it.
# shellcheck disable=SC2086
timeout 240 unshare --mount --fork bash -euc '
  root=$1; archives=$2; shift 2
  mount -t proc proc "$root/proc"
  mount --bind "$archives" "$root/var/cache/apt/archives"
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    apt-get -q update >/dev/null
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@" >/dev/null
' _ "$root" "$cache/apt-archives" $packages >"$cache/apt.log" 2>&1 \
  || { tail -20 "$cache/apt.log" >&2; fail "apt-get install of the runtime packages failed (log: $cache/apt.log)"; }
rm -rf "$root/var/lib/apt/lists/"*   # as the Dockerfile does

for package in $packages; do
  status=$(chroot "$root" dpkg-query -W -f '${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || fail "$package is not installed in the root ($status)"
done
after=$(chroot "$root" dpkg-query -W -f '${Package}\n' | sort)
# shellcheck disable=SC2086
say "installed on top of minbase: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"

install -D -m 0755 "$binary" "$root/out/autotaint"
strip "$root/out/autotaint"
install -D -m 0755 "$repo/scripts/image-rootfs.sh" "$root/usr/local/sbin/image-rootfs.sh"
say "image-rootfs.sh in the root (as the rootfs stage runs it)"
timeout 120 unshare --mount --pid --fork bash -euc '
  root=$1
  mount -t proc proc "$root/proc"
  chroot "$root" env -i PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin image-rootfs.sh /out/autotaint /rootfs
' _ "$root" >"$cache/image-rootfs.log" 2>&1 \
  || { tail -20 "$cache/image-rootfs.log" >&2; fail "image-rootfs.sh failed (log: $cache/image-rootfs.log)"; }
sed 's/^/  /' "$cache/image-rootfs.log"
rootfs="$root/rootfs"
# What the runtime and the pod add: the /proc mount point, the ConfigMap at /etc/autotaint.
mkdir -p "$rootfs/proc" "$rootfs/etc/autotaint"
python3 - "$repo/daemonset.yaml" "$rootfs/etc/autotaint/config.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
config_map = next(d for d in docs if d["kind"] == "ConfigMap")
open(sys.argv[2], "w").write(config_map["data"]["config.yaml"])
PY
for forbidden in bin/sh usr/bin/sh bin/bash usr/bin/apt-get usr/bin/dpkg usr/bin/perl; do
  [ ! -e "$rootfs/$forbidden" ] || fail "the assembled root has /$forbidden"
done

say "running the binary: read-only root, user $uid_gid, own PID namespace and /proc, no network"
output=$(timeout 60 unshare --mount --pid --net --fork bash -euc '
  root=$1; user=$2; ro=$3
  mkdir -p "$ro"
  mount --bind "$root" "$ro"
  mount -o remount,bind,ro "$ro"
  mount -t proc -o ro,nosuid,nodev,noexec proc "$ro/proc"   # this PID namespace'"'"'s procfs
  # No shell, no env in the root: the environment is set here, chroot execs the binary itself.
  chroot=$(command -v chroot)
  run() { echo "\$ $*"; env -i NODE_NAME=image-check "$chroot" --userspec="$user" "$ro" "$@" 2>&1; }
  echo "--- ldd (the loader'"'"'s --list)"
  chroot "$ro" /lib64/ld-linux-x86-64.so.2 --list /usr/local/bin/autotaint 2>&1 || { echo "MISSING LIBRARY"; exit 3; }
  if chroot "$ro" /lib64/ld-linux-x86-64.so.2 --list /usr/local/bin/autotaint 2>&1 | grep -q "not found"; then
    echo "MISSING LIBRARY"; exit 3
  fi
  if touch "$ro/image-check-write-test" 2>/dev/null; then echo "ROOT IS WRITABLE"; exit 4; fi
  echo "--- run"
  run /usr/local/bin/autotaint --version
  run /usr/local/bin/autotaint check-config /etc/autotaint/config.yaml >/dev/null && echo "check-config: ok"
  run /usr/local/bin/autotaint sample --config /etc/autotaint/config.yaml --source proc --count 1 --log-format text
' _ "$rootfs" "$uid_gid" "$cache/ro" 2>&1) && rc=0 || rc=$?
printf '%s\n' "$output" | sed 's/^/  /'
[ "$rc" -eq 0 ] || fail "a command failed inside the root (exit $rc)"
printf '%s\n' "$output" | grep -q "not found" && fail "ldd reports a missing library"
printf '%s\n' "$output" | grep -A1 -- '--version' | tail -1 | grep -Eq '^[0-9]+\.[0-9]+' || fail "autotaint --version printed no version"
printf '%s\n' "$output" | grep -Eq ' proc cpu [0-9.]+%| proc .*cpu' || fail "autotaint sample printed no proc sample line"
say "ok in $(( $(date +%s) - start )) s"
