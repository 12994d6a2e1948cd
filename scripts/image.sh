#!/usr/bin/env bash
# make image: the Dockerfile, unmodified, built by podman (an OCI builder from Debian) without
# reaching any registry.
#
#   scripts/image.sh [--skip-if-unsupported] [TAG]        (root; TAG default autotaint:0.1.0)
#
# 1. podman, runc and debootstrap from Debian (idempotent).
# 2. The base image under the name the Dockerfile's runtime stage takes,
#    docker.io/library/debian:bookworm-slim: the cached debootstrap minbase root
#    (scripts/bookworm-base.sh) imported once per root.
# 3. A probe: can podman run a container here at all? With --skip-if-unsupported, a no prints
#    why and exits 0 without building (make test then skips the container test, saying why).
# 4. The build stage's SWIFT_IMAGE: that base plus the official Swift bookworm image's apt
#    packages (Tests/image/swift-build.Containerfile); the toolchain is mounted, not copied.
# 5. podman build --pull=never of the Dockerfile, with the toolchain, the local Swift package
#    copies and the git config that redirects to them mounted read-only.
# 6. The image's SPDX SBOM (/usr/share/doc/autotaint/sbom.spdx.json, made by the Dockerfile's
#    sbom stage) copied out beside the cache: $IMAGE_CACHE/TAG.spdx.json with the tag's ':' as
#    '-', by default .build-image/autotaint-0.1.0.spdx.json.
# podman runs through scripts/podman.sh (the project's own store, runc, this shell's ulimits).
# Cached: the root, the imported base (redone when the root is), and podman's layer cache; a
# second run with unchanged sources rebuilds nothing. Every step has a time limit.
set -euo pipefail

skip_if_unsupported=false
if [ "${1:-}" = --skip-if-unsupported ]; then skip_if_unsupported=true; shift; fi
tag=${1:-autotaint:0.1.0}

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=$(realpath -m "${IMAGE_CACHE:-$repo/.build-image}")
podman="$repo/scripts/podman.sh"
base_image=docker.io/library/debian:bookworm-slim
swift_build_image=localhost/autotaint-swift-build:bookworm
swift_toolchain=${SWIFT_TOOLCHAIN:-/opt/swift}

say() { printf 'image: %s\n' "$*"; }
fail() { printf 'image: FAIL: %s\n' "$*" >&2; exit 1; }
unsupported() {
  if $skip_if_unsupported; then say "SKIP: no container test on this machine: $*"; exit 0; fi
  fail "$*"
}
started=$(date +%s)
step_started=$started
step_done() { local now; now=$(date +%s); say "$1 ($(( now - step_started )) s)"; step_started=$now; }

[ "$(id -u)" -eq 0 ] || unsupported "needs root (debootstrap, and podman's system mode)"
"$repo/scripts/ensure-packages.sh" --apt podman runc debootstrap \
  || unsupported "podman, runc or debootstrap could not be installed from Debian"
[ -x "$swift_toolchain/usr/bin/swift" ] || fail "no Swift toolchain at $swift_toolchain (set SWIFT_TOOLCHAIN)"

base=$("$repo/scripts/bookworm-base.sh" "$cache") || fail "no bookworm root"
stamp=$(cat "$cache/base.ok")
imported_id() { "$podman" image inspect --format '{{.Id}}' "$base_image" 2>/dev/null || true; }
if [ "$(cat "$cache/base.imported" 2>/dev/null)" != "$stamp $(imported_id)" ]; then
  rm -f "$cache/base.imported"
  # The official image's default command; nothing here uses it.
  tar -C "$base" --numeric-owner -c . \
    | timeout 300 "$podman" import --quiet --change 'CMD ["bash"]' - "$base_image" >/dev/null \
    || fail "podman import of the bookworm root failed"
  printf '%s %s\n' "$stamp" "$(imported_id)" >"$cache/base.imported"
fi
step_done "base image $base_image (bookworm root: $stamp)"

probe_output=$(timeout 120 "$podman" run --rm --pull=never --network=none "$base_image" true 2>&1) \
  || unsupported "podman cannot run a container here: $(printf '%s' "$probe_output" | tail -3)"
step_done "probe: podman runs containers here"

timeout 900 "$podman" build --quiet --pull=never --network=host \
    -f "$repo/Tests/image/swift-build.Containerfile" -t "$swift_build_image" "$repo/Tests/image" >/dev/null \
  || fail "building the Swift build image failed"
step_done "build stage image $swift_build_image"

mounts=(-v "$swift_toolchain:/opt/swift:ro")
# On machines whose git fetches packages from local copies (an insteadOf in /etc/gitconfig),
# the build's `swift package resolve` needs both.
[ -d /opt/swift-packages ] && mounts+=(-v /opt/swift-packages:/opt/swift-packages:ro)
[ -f /etc/gitconfig ] && mounts+=(-v /etc/gitconfig:/etc/gitconfig:ro)
say "podman build of the Dockerfile as $tag"
timeout 2400 "$podman" build --pull=never --network=host "${mounts[@]}" \
    --build-arg SWIFT_IMAGE="$swift_build_image" -t "$tag" "$repo" >"$cache/build.log" 2>&1 \
  || { tail -30 "$cache/build.log" >&2; fail "podman build of the Dockerfile failed (log: $cache/build.log)"; }
step_done "built $tag"
sbom_in_image=/usr/share/doc/autotaint/sbom.spdx.json
sbom="$cache/$(basename "${tag//:/-}").spdx.json"
container=autotaint-sbom-$$
"$podman" create --name "$container" "$tag" >/dev/null || fail "podman create $tag failed"
"$podman" cp "$container:$sbom_in_image" "$sbom" && copied=true || copied=false
"$podman" rm "$container" >/dev/null
$copied || fail "no $sbom_in_image in $tag"
say "SBOM: $sbom (in the image: $sbom_in_image)"
"$podman" images --filter reference="$tag" --format 'image: {{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}'
say "done in $(( $(date +%s) - started )) s"
