#!/usr/bin/env python3
"""Prints the Debian mirror URIs this machine's apt uses for a release, as shell assignments:

    MIRROR=http://.../debian
    SECURITY_MIRROR=http://.../debian-security    (empty if none is configured)

Reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.list|*.sources (one-line and deb822
formats), so the bookworm root (scripts/bookworm-base.sh) comes from the mirror the machine is
already set up to reach.
"""
import glob
import os
import sys


def entries(root="/etc/apt"):
    """(uri, [suites], enabled) for every `deb` source."""
    found = []
    one_line = [os.path.join(root, "sources.list")] + sorted(glob.glob(os.path.join(root, "sources.list.d", "*.list")))
    for path in one_line:
        if not os.path.exists(path):
            continue
        for line in open(path):
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            if words and words[0].startswith("["):
                while words and not words[0].endswith("]"):
                    words = words[1:]
                words = words[1:]
            if len(words) >= 2:
                found.append((words[0], [words[1]], True))
    for path in sorted(glob.glob(os.path.join(root, "sources.list.d", "*.sources"))):
        for stanza in open(path).read().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.split()
            if "deb" not in fields.get("types", []):
                continue
            enabled = fields.get("enabled", ["yes"])[0].lower() != "no"
            for uri in fields.get("uris", []):
                found.append((uri, fields.get("suites", []), enabled))
    return found


def main():
    release = sys.argv[1] if len(sys.argv) > 1 else "bookworm"
    sources = [e for e in entries() if e[2]]
    main_uris = [uri for uri, suites, _ in sources if release in suites]
    security_uris = [uri for uri, suites, _ in sources if f"{release}-security" in suites]
    if not main_uris:
        sys.exit(f"no apt source for {release} in /etc/apt/sources.list*")
    print(f"MIRROR={main_uris[0].rstrip('/')}")
    print(f"SECURITY_MIRROR={security_uris[0].rstrip('/') if security_uris else ''}")


if __name__ == "__main__":
    main()
