#!/usr/bin/env bash
# A minimal Debian bookworm root (debootstrap --variant=minbase, close to what
# debian:bookworm-slim holds), made once and cached: `make image-check` installs the runtime
# stage into a copy of it, `make image` imports it as the base images.
#
#   scripts/bookworm-base.sh CACHE_DIR     (root; prints the root's path, CACHE_DIR/base)
#
# Slimmed as debian:bookworm-slim is (debuerreotype's slim variant): no documentation, manual
# pages or translations, and dpkg told to leave them out of every package installed later; apt
# keeps no .debs and no package cache after an install (docker-clean). Without that, each image
# layer that runs apt-get install would carry ~100 MB the real base would not.
# Downloaded from the Debian mirror this machine's apt is configured with (debian_mirrors.py);
# its apt sources point at the same mirror, so apt-get inside it (and inside images made from
# it) reaches it too. CACHE_DIR/base.ok is written last: a run interrupted half-way is redone.
set -euo pipefail

cache=${1:?usage: bookworm-base.sh CACHE_DIR}
release=bookworm
base="$cache/base"
# Changing how the root is made: bump it, and every cached root is made again.
recipe=2

say() { printf 'bookworm-base: %s\n' "$*" >&2; }

if ! grep -qs "^recipe $recipe " "$cache/base.ok"; then
  rm -f "$cache/base.ok"
  eval "$(python3 "$(dirname "$0")/debian_mirrors.py" "$release")"
  say "debootstrap $release (minbase) from $MIRROR into $base, once; later runs reuse it"
  mkdir -p "$cache"
  rm -rf "$base"
  timeout 420 debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
      "$release" "$base" "$MIRROR" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; rm -rf "$base"; say "FAIL: debootstrap (log: $cache/debootstrap.log)"; exit 1; }
  # The sources a debian:bookworm-slim image has: the release, its updates and security.
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$MIRROR" "$release" "$release"
    if [ -n "$SECURITY_MIRROR" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$SECURITY_MIRROR" "$release"
    fi
  } >"$base/etc/apt/sources.list.d/debian.sources"
  rm -f "$base/etc/apt/sources.list"
  # This machine's mirror may serve a dated snapshot whose Release files are past Valid-Until
  # (its own apt is configured the same way).
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' >"$base/etc/apt/apt.conf.d/99local-mirror"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/info/*' 'path-exclude /usr/share/linda/*' \
    'path-exclude /usr/share/lintian/overrides/*' 'path-exclude /usr/share/locale/*' \
    'path-exclude /usr/share/man/*' >"$base/etc/dpkg/dpkg.cfg.d/docker"
  find "$base/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$base/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$base/usr/share/info/"* "$base/usr/share/linda/"* "$base/usr/share/lintian/overrides/"* \
    "$base/usr/share/locale/"* "$base/usr/share/man/"*
  clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"'
  printf 'DPkg::Post-Invoke { %s; };\nAPT::Update::Post-Invoke { %s; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
    "$clean" "$clean" >"$base/etc/apt/apt.conf.d/docker-clean"
  printf 'Acquire::Languages "none";\n' >"$base/etc/apt/apt.conf.d/docker-no-languages"
  # debootstrap leaves its downloaded .debs and package cache behind.
  rm -rf "$base/var/cache/apt/archives/"*.deb "$base/var/cache/apt/"*.bin "$base/var/lib/apt/lists/"*
  printf 'recipe %s %s\n' "$recipe" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$cache/base.ok"
fi
printf '%s\n' "$base"
