#!/usr/bin/env python3
"""Writes the SPDX 2.3 JSON SBOM of the autotaint image (the Dockerfile's sbom stage runs it).

    scripts/image_sbom.py --version-file F --swift-version-file F --package-resolved F
                          --status-dir DIR [--output FILE]

Packages, each with its version and a purl:
- the image, and the autotaint binary in it (its version: `autotaint --version`, --version-file);
- the Swift packages pinned in Package.resolved (the resolved package graph the binary is built
  from; a test-only package such as swift-property-based is in it too), and the Swift runtime and
  Foundation linked in statically (`swift --version`, --swift-version-file);
- the Debian packages whose dpkg records are in the image (--status-dir: its
  /var/lib/dpkg/status.d, one status stanza a file; the .md5sums files beside them are skipped).
Relationships: the document DESCRIBES the image; the image CONTAINS the binary and every Debian
package; the binary CONTAINS the Swift runtime and DEPENDS_ON every Swift package and every
Debian package. Standard library only. The creation time is SOURCE_DATE_EPOCH when set.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import sys
import urllib.parse

TOOL = "autotaint scripts/image_sbom.py"
IMAGE_NAME = "autotaint"


def spdx_id(kind, name):
    """SPDXRef-KIND-NAME with only the characters SPDX allows (letters, digits, '.', '-')."""
    return "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", f"{kind}-{name}")


def parse_stanza(text):
    """One deb822 stanza: {field: value}, continuation lines joined with newlines."""
    fields, key = {}, None
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            fields[key] = value.strip()
    return fields


def debian_packages(status_dir):
    packages = []
    for name in sorted(os.listdir(status_dir)):
        if name.endswith(".md5sums"):
            continue
        with open(os.path.join(status_dir, name)) as handle:
            fields = parse_stanza(handle.read())
        for required in ("Package", "Version", "Architecture"):
            if required not in fields:
                sys.exit(f"{status_dir}/{name}: no {required} field")
        if fields["Package"] != name:
            sys.exit(f"{status_dir}/{name}: the record is of {fields['Package']}")
        packages.append(fields)
    if not packages:
        sys.exit(f"{status_dir}: no dpkg records")
    return packages


def supplier(maintainer):
    """'Name <mail>' as SPDX's 'Organization: Name (mail)'."""
    match = re.match(r"\s*(.*?)\s*<([^>]*)>", maintainer or "")
    if not match:
        return "NOASSERTION"
    return f"Organization: {match.group(1)} ({match.group(2)})"


def debian_package(fields):
    name, version, arch = fields["Package"], fields["Version"], fields["Architecture"]
    source = fields.get("Source", name).split()[0]
    purl = (f"pkg:deb/debian/{name}@{urllib.parse.quote(version, safe=':')}"
            f"?arch={arch}&distro=debian-12")
    package = {
        "SPDXID": spdx_id("deb", name),
        "name": name,
        "versionInfo": version,
        "supplier": supplier(fields.get("Maintainer")),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "sourceInfo": f"built from the Debian source package {source}",
        "primaryPackagePurpose": "LIBRARY",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": purl}],
    }
    if fields.get("Homepage"):
        package["homepage"] = fields["Homepage"]
    if fields.get("Description"):
        package["summary"] = fields["Description"].splitlines()[0]
    return package


def swift_packages(resolved_path):
    with open(resolved_path) as handle:
        resolved = json.load(handle)
    pins = resolved.get("pins") or resolved.get("object", {}).get("pins")  # format 2/3, or 1
    if not pins:
        sys.exit(f"{resolved_path}: no pins")
    packages = []
    for pin in pins:
        identity = pin.get("identity") or pin["package"].lower()
        location = pin.get("location") or pin["repositoryURL"]
        state = pin["state"]
        version = state.get("version") or state.get("branch") or state["revision"]
        package = {
            "SPDXID": spdx_id("swift", identity),
            "name": identity,
            "versionInfo": version,
            "downloadLocation": f"git+{location}@{version}" if state.get("version") else "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "LIBRARY",
        }
        match = re.match(r"https://(github\.com/[^/]+)/([^/]+?)(\.git)?/?$", location)
        if match and state.get("version"):
            package["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                        "referenceLocator": f"pkg:swift/{match.group(1)}/{match.group(2)}@{version}"}]
        packages.append(package)
    return packages


def read_first_line(path):
    with open(path) as handle:
        return handle.readline().strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version-file", required=True, help="`autotaint --version` output")
    parser.add_argument("--swift-version-file", required=True, help="`swift --version` output")
    parser.add_argument("--package-resolved", required=True)
    parser.add_argument("--status-dir", required=True, help="the image's /var/lib/dpkg/status.d")
    parser.add_argument("--output", help="default: standard output")
    args = parser.parse_args()

    version = read_first_line(args.version_file)
    if not re.fullmatch(r"[0-9]+\.[0-9]+(\.[0-9]+)?\S*", version):
        sys.exit(f"{args.version_file}: not a version: {version!r}")
    swift_line = read_first_line(args.swift_version_file)
    swift_match = re.search(r"Swift version (\S+)", swift_line)
    if not swift_match:
        sys.exit(f"{args.swift_version_file}: no 'Swift version': {swift_line!r}")

    debs = [debian_package(fields) for fields in debian_packages(args.status_dir)]
    swifts = swift_packages(args.package_resolved)
    image = {
        "SPDXID": spdx_id("image", IMAGE_NAME),
        "name": f"{IMAGE_NAME} image",
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "CONTAINER",
        "comment": "The container image built from the Dockerfile: FROM scratch with the binary, the shared "
                   "objects it loads, the CA bundle and the dpkg records in /var/lib/dpkg/status.d.",
    }
    binary = {
        "SPDXID": spdx_id("binary", IMAGE_NAME),
        "name": IMAGE_NAME,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "APPLICATION",
        "comment": "/usr/local/bin/autotaint, built with swift build -c release --static-swift-stdlib.",
    }
    runtime = {
        "SPDXID": spdx_id("swift", "runtime"),
        "name": "swift",
        "versionInfo": swift_match.group(1),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "LIBRARY",
        "comment": "The Swift runtime, standard library and Foundation, linked in statically (--static-swift-stdlib).",
    }
    packages = [image, binary, runtime, *swifts, *debs]

    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": image["SPDXID"]},
                     {"spdxElementId": image["SPDXID"], "relationshipType": "CONTAINS",
                      "relatedSpdxElement": binary["SPDXID"]},
                     {"spdxElementId": binary["SPDXID"], "relationshipType": "CONTAINS",
                      "relatedSpdxElement": runtime["SPDXID"]}]
    for package in swifts:
        relationships.append({"spdxElementId": binary["SPDXID"], "relationshipType": "DEPENDS_ON",
                              "relatedSpdxElement": package["SPDXID"]})
    for package in debs:
        relationships.append({"spdxElementId": image["SPDXID"], "relationshipType": "CONTAINS",
                              "relatedSpdxElement": package["SPDXID"]})
        relationships.append({"spdxElementId": binary["SPDXID"], "relationshipType": "DEPENDS_ON",
                              "relatedSpdxElement": package["SPDXID"]})

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    created = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
               else datetime.datetime.now(datetime.timezone.utc))
    content = json.dumps([packages, relationships], sort_keys=True).encode()
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{IMAGE_NAME}-{version}-image",
        "documentNamespace": f"https://spdx.org/spdxdocs/{IMAGE_NAME}-{version}-image-"
                             f"{hashlib.sha256(content).hexdigest()[:32]}",
        "creationInfo": {"created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "creators": [f"Tool: {TOOL}"]},
        "packages": packages,
        "relationships": relationships,
    }
    text = json.dumps(document, indent=2) + "\n"
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
