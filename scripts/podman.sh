#!/usr/bin/env bash
# podman with the project's own image store and the settings podman needs on these machines,
# for `make image` and Tests/image:
#
#   scripts/podman.sh PODMAN-ARGS...
#
# - Its own store (images and build cache in $IMAGE_CACHE/podman, default .build-image/podman;
#   run state under /run): the base images it makes are named docker.io/library/debian:bookworm-slim
#   as the Dockerfile wants them, and must not replace or be replaced by what anyone else on the
#   machine keeps under that name in the system store.
# - runtime runc: crun fails here ("cgroups in hybrid mode not supported").
# - nofile and nproc ulimits no higher than this shell's own limits: podman's defaults are
#   higher, and runc refuses to raise a limit above the hard limit of the process that starts
#   it. podman 4.3 moreover lowers its own nproc to 32768 at start (measured: 96362 in the shell,
#   32768 in /proc/PID/limits of podman and conmon; nproc=32769 and above fail), hence the cap.
# Both come from a containers.conf written here and passed through CONTAINERS_CONF, so /etc is
# left alone, and `podman build` (its RUN steps) and `podman run` get the same settings.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
state=$(realpath -m "${IMAGE_CACHE:-$repo/.build-image}/podman")
# Run state belongs on /run (cleared at boot, as podman expects); one directory per store.
run_state=/run/autotaint-podman/$(printf '%s' "$state" | sha256sum | cut -c1-16)
mkdir -p "$state/storage" "$run_state"

ulimit_value() {
  local value
  value=$(ulimit "$1")
  [ "$value" = unlimited ] && value=-1
  printf '%s' "$value"
}
nofile=$(ulimit_value -n)
nproc=$(ulimit_value -u)
podman_nproc_ceiling=32768
if [ "$nproc" = -1 ] || [ "$nproc" -gt "$podman_nproc_ceiling" ]; then nproc=$podman_nproc_ceiling; fi

# Written to a temporary file and renamed: a concurrent podman never reads half a file.
write_atomically() {
  local target=$1 temporary
  temporary=$(mktemp "$target.XXXXXX")
  cat >"$temporary"
  mv -f "$temporary" "$target"
}
write_atomically "$state/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
tmp_dir = "$run_state/libpod"
CONF
write_atomically "$state/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$run_state/storage"
CONF

export CONTAINERS_CONF="$state/containers.conf"
export CONTAINERS_STORAGE_CONF="$state/storage.conf"
exec podman "$@"
