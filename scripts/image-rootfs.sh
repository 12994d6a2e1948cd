#!/usr/bin/env bash
# Assembles the image's root filesystem: the Dockerfile's rootfs stage runs it, and
# `make image-check` runs it in its debootstrapped root. Run as root inside a Debian system that
# has the binary's runtime packages installed (the rootfs stage's apt-get install):
#
#   image-rootfs.sh BINARY ROOTFS
#
# ROOTFS (which must not exist yet) gets only:
# - BINARY at /usr/local/bin/autotaint;
# - every shared object the binary loads: ldd's list, plus what a real run loads with dlopen
#   (`autotaint sample --source proc --count 1` under LD_DEBUG=libs,files: libproc2 opens
#   libnuma.so.1), each at the path the loader opens it by, with every symlink on the way
#   recreated as it is here (merged /usr's /lib and /lib64, the SONAME links, the loader's
#   /lib64/ld-linux-x86-64.so.2);
# - the CA bundle /etc/ssl/certs/ca-certificates.crt (made by update-ca-certificates from the
#   package ca-certificates: it is in no package's file list);
# - the release's identity, /etc/os-release (a link to /usr/lib/os-release) and
#   /etc/debian_version, from base-files: scanners (Trivy, Grype) tell the distribution and
#   release by them, and without one match no Debian package against Debian's advisories;
# - for each Debian package those files come from (dpkg -S), distroless style:
#   /var/lib/dpkg/status.d/PACKAGE, its stanza of /var/lib/dpkg/status (dpkg-query -s), and
#   /var/lib/dpkg/status.d/PACKAGE.md5sums, the lines of the package's md5sums for the files
#   copied (a conffile's md5 is in the stanza's Conffiles field). Trivy and Grype read these to name each package and its version.
# No shell, no package manager, no /etc/passwd: the image runs as the numeric user 65532.
# Fails if the binary does not run, a library is not found, or a file has no package.
set -euo pipefail

binary=${1:?usage: image-rootfs.sh BINARY ROOTFS}
rootfs=${2:?usage: image-rootfs.sh BINARY ROOTFS}
ca_bundle=/etc/ssl/certs/ca-certificates.crt
ca_package=ca-certificates
os_identity="/etc/os-release /etc/debian_version"

say() { printf 'image-rootfs: %s\n' "$*"; }
fail() { printf 'image-rootfs: FAIL: %s\n' "$*" >&2; exit 1; }

[ -x "$binary" ] || fail "no binary at $binary"
[ ! -e "$rootfs" ] || fail "$rootfs exists already"
[ -f "$ca_bundle" ] || fail "no CA bundle at $ca_bundle (package $ca_package)"
mkdir -p "$rootfs"

# The objects the loader maps at start (ldd), then those a run loads: LD_DEBUG prints
# "trying file=PATH" and, when that file is the one loaded, "file=NAME [N];  generating link map"
# right after it.
ldd_output=$(ldd "$binary") || fail "ldd $binary failed"
if grep -q "not found" <<<"$ldd_output"; then fail "ldd: $(grep "not found" <<<"$ldd_output")"; fi
loaded=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_output")
debug=$(env -i LD_DEBUG=libs,files "$binary" sample --source proc --count 1 --log-format text 2>&1 >/dev/null) \
  || fail "the run under LD_DEBUG failed: $(tail -5 <<<"$debug")"
dlopened=$(awk '/trying file=/ { sub(/.*trying file=/, ""); tried = $0; next }
                /generating link map/ && tried != "" { print tried }
                !/^[ \t]*[0-9]+:[ \t]*$/ { tried = "" }' <<<"$debug")
loaded=$(printf '%s\n%s\n' "$loaded" "$dlopened" | sort -u)
not_loaded=$(awk '/find library=/ { sub(/.*find library=/, ""); sub(/ .*/, ""); print }' <<<"$debug" | sort -u)
for name in $not_loaded; do
  grep -q "/$name\$" <<<"$loaded" || grep -q "^$name\$" <<<"$(xargs -n1 basename <<<"$loaded")" \
    || say "note: the run asked for $name and it is not on this system (an optional dlopen; not copied)"
done

# Copies PATH into ROOTFS as the loader reaches it: each symlink on the way is recreated and
# followed, the final regular file copied. Prints each entry it copies (leaf symlinks and files).
copy_path() {
  local path=$1 prefix="" rest=${1#/} component link target
  while [ -n "$rest" ]; do
    component=${rest%%/*}
    if [ "$component" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
    prefix="$prefix/$component"
    if [ -L "$prefix" ]; then
      link=$(readlink "$prefix")
      if [ ! -L "$rootfs$prefix" ]; then
        mkdir -p "$rootfs$(dirname "$prefix")"
        ln -s "$link" "$rootfs$prefix"
        if [ -z "$rest" ]; then printf '%s\n' "$prefix"; fi
      fi
      case $link in /*) target=$link ;; *) target=$(dirname "$prefix")/$link ;; esac
      copy_path "$(realpath -ms "$target")${rest:+/$rest}"
      return
    fi
  done
  [ -f "$path" ] || fail "$path is not a regular file"
  if [ ! -e "$rootfs$path" ]; then
    mkdir -p "$rootfs$(dirname "$path")"
    cp -p "$path" "$rootfs$path"
    printf '%s\n' "$path"
  fi
}

# The path as dpkg lists it: packages ship libraries under /lib or /usr/lib (merged /usr makes
# them one directory), and the loader's link under /lib64.
dpkg_name() {
  local path=$1 alias
  if dpkg-query -S "$path" >/dev/null 2>&1; then printf '%s\n' "$path"; return; fi
  case $path in
    /usr/lib/*|/usr/lib64/*) alias=${path#/usr} ;;
    /lib/*|/lib64/*) alias=/usr$path ;;
    *) alias="" ;;
  esac
  if [ -n "$alias" ] && dpkg-query -S "$alias" >/dev/null 2>&1; then printf '%s\n' "$alias"; return; fi
  return 1
}

install -D -m 0755 "$binary" "$rootfs/usr/local/bin/autotaint"
copied=$(for path in $loaded $os_identity; do copy_path "$path"; done)
install -D -m 0644 "$ca_bundle" "$rootfs$ca_bundle"

declare -A files_of=()
for entry in $copied; do
  name=$(dpkg_name "$entry") || fail "$entry belongs to no Debian package (dpkg -S)"
  owners=$(dpkg-query -S "$name" | awk -F': ' '{ print $1 }' | tr ',' '\n' | sed 's/^ *//; s/:.*//' | sort -u)
  [ "$(wc -l <<<"$owners")" -eq 1 ] || fail "$name has more than one package: $owners"
  [ -L "$entry" ] && name=""   # dpkg's md5sums list regular files only
  files_of[$owners]+="$name "
done
files_of[$ca_package]+=""

mkdir -p "$rootfs/var/lib/dpkg/status.d"
arch=$(dpkg --print-architecture)
for package in "${!files_of[@]}"; do
  dpkg-query -s "$package" >"$rootfs/var/lib/dpkg/status.d/$package" \
    || fail "no dpkg status record for $package"
  grep -qx 'Status: install ok installed' "$rootfs/var/lib/dpkg/status.d/$package" \
    || fail "$package is not installed (its status record says otherwise)"
  sums=""
  for name in ${files_of[$package]}; do
    line=""
    for list in "/var/lib/dpkg/info/$package.md5sums" "/var/lib/dpkg/info/$package:$arch.md5sums"; do
      [ -f "$list" ] && line=$(awk -v want="${name#/}" '$2 == want { print; exit }' "$list")
      [ -z "$line" ] || break
    done
    if [ -z "$line" ]; then
      # A conffile (/etc/debian_version): its md5 is in the stanza's Conffiles field, not in md5sums.
      dpkg-query -W -f '${Conffiles}\n' "$package" | awk -v want="$name" '$1 == want { found = 1 } END { exit !found }' \
        || fail "$name is not in $package's md5sums nor its conffiles"
      continue
    fi
    sums+="$line"$'\n'
  done
  [ -z "$sums" ] || printf '%s' "$sums" | sort >"$rootfs/var/lib/dpkg/status.d/$package.md5sums"
done

# The root as the runtime sees it: directories 0755 and root-owned, nothing writable by 65532.
find "$rootfs" -type d -exec chmod 0755 {} +
chown -R -h 0:0 "$rootfs"

# Smoke test: the binary runs inside the new root with nothing else in it.
chroot "$rootfs" /usr/local/bin/autotaint --version >/dev/null || fail "autotaint --version fails inside $rootfs"

size() { du -cb "$@" | tail -1 | cut -f1; }
total=$(size "$rootfs")
binary_bytes=$(size "$rootfs/usr/local/bin/autotaint")
ca_bytes=$(size "$rootfs$ca_bundle")
records_bytes=$(size "$rootfs/var/lib/dpkg/status.d")
identity_bytes=$(size "$rootfs/usr/lib/os-release" "$rootfs/etc/debian_version")
say "in all $total bytes: binary $binary_bytes, $(wc -w <<<"$loaded") shared objects (with their" \
    "symlinks and directories) $(( total - binary_bytes - ca_bytes - records_bytes - identity_bytes )), CA bundle $ca_bytes," \
    "os-release and debian_version $identity_bytes, dpkg records of ${#files_of[@]} packages $records_bytes"
for package in $(printf '%s\n' "${!files_of[@]}" | sort); do
  say "  $package $(dpkg-query -W -f '${Version}' "$package")"
done
