"""What is in the image `make image` built, read off its filesystem (podman image mount: there is
no shell in it to ask), and its SPDX SBOM.

The expected file list is derived here, not written down: the binary's program interpreter
(readelf), the loader's --list of the image's binary run inside the image's own tree (ldd), the
objects a real run in the image loads with dlopen (LD_DEBUG=libs,files), each with the symlinks
the loader follows; the release's identity for scanners (/etc/os-release, /etc/debian_version);
the CA bundle; the SBOM; and the dpkg records of the packages whose md5sums claim those files. Any other file fails the test, as does a loaded file no dpkg record claims
(with the checksum Debian's package has for it)."""
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

import pod_spec
from image_sbom import parse_stanza
from podman_cli import podman

REPO = Path(__file__).resolve().parents[2]
BINARY = "/usr/local/bin/autotaint"
SBOM = "/usr/share/doc/autotaint/sbom.spdx.json"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CA_PACKAGE = "ca-certificates"   # update-ca-certificates made the bundle: in no package's file list
STATUS_DIR = "/var/lib/dpkg/status.d"
# How Trivy and Grype tell the distribution and release (base-files' files).
OS_IDENTITY = ["/etc/os-release", "/etc/debian_version"]


def image_name():
    return os.environ.get("AUTOTAINT_IMAGE") or pod_spec.agent_container("node-1").image


@pytest.fixture(scope="module")
def image(podman_runs_containers):
    name = image_name()
    if podman("image", "exists", name, check=False).returncode != 0:
        pytest.fail(f"no image {name} in the project's podman store: run `make image`")
    return name


@pytest.fixture(scope="module")
def root(image):
    """The image's filesystem, mounted read-only by podman (root only)."""
    mounted = podman("image", "mount", image, timeout=120).stdout.strip()
    try:
        yield Path(mounted)
    finally:
        podman("image", "unmount", image, check=False, timeout=120)


def entries(root: Path) -> dict:
    """Every path in the image ('/x/y') -> 'dir', 'symlink' or 'file'."""
    found = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            relative = "/" + str(path.relative_to(root))
            found[relative] = "symlink" if path.is_symlink() else "dir" if path.is_dir() else "file"
        dirnames[:] = [d for d in dirnames if not (Path(directory) / d).is_symlink()]
    return found


def resolve_chain(root: Path, path: str) -> list:
    """The entries the loader goes through to open PATH inside the image: each symlink met on the
    way (followed within the image) and the final file."""
    chain, parts, current = [], list(PurePosixPath(path).parts[1:]), PurePosixPath("/")
    for _ in range(100):
        if not parts:
            break
        current = current / parts.pop(0)
        on_disk = root / str(current).lstrip("/")
        if on_disk.is_symlink():
            chain.append(str(current))
            link = os.readlink(on_disk)
            target = PurePosixPath(link) if link.startswith("/") else current.parent / link
            parts = list(PurePosixPath(os.path.normpath(str(target))).parts[1:]) + parts
            current = PurePosixPath("/")
    else:
        raise AssertionError(f"symlink loop resolving {path}")
    assert (root / str(current).lstrip("/")).is_file(), f"{path} ({current}) is not a file in the image"
    chain.append(str(current))
    return chain


def interpreter(root: Path) -> str:
    headers = subprocess.run(["readelf", "-l", str(root / BINARY.lstrip("/"))], capture_output=True,
                             text=True, check=True).stdout
    return re.search(r"\[Requesting program interpreter: (\S+)\]", headers).group(1)


def ldd_in_image(root: Path) -> list:
    """The loader's --list of the binary, both run inside the image's tree (chroot)."""
    result = subprocess.run(["chroot", str(root), interpreter(root), "--list", BINARY],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "not found" not in result.stdout, result.stdout + result.stderr
    return sorted(set(re.findall(r"=> (/\S+) \(0x", result.stdout))
                  | set(re.findall(r"^\s*(/\S+) \(0x", result.stdout, re.MULTILINE)))


def loaded_by_a_run(image) -> list:
    """The files a run in the image loads (`sample`, as the pod's user, read-only, no caps):
    LD_DEBUG's "trying file=PATH" followed by "generating link map" is the file it loaded."""
    result = podman("run", "--rm", "--pull=never", "--network=none", "--read-only", "--user", "65532:65532",
                    "--cap-drop", "all", "--security-opt", "no-new-privileges", "-e", "LD_DEBUG=libs,files",
                    "--entrypoint", BINARY, image, "sample", "--source", "proc", "--count", "1",
                    "--log-format", "text", timeout=120)
    assert " proc cpu " in result.stdout, result.stdout
    loaded, tried = set(), None
    for line in result.stderr.splitlines():
        text = line.split(":", 1)[1].strip() if ":" in line else ""
        if text.startswith("trying file="):
            tried = text.removeprefix("trying file=")
        elif "generating link map" in text and tried:
            loaded.add(tried)
            tried = None
        elif text:
            tried = None
    assert loaded, f"no LD_DEBUG output: {result.stderr[-2000:]}"
    return sorted(loaded)


def records(root: Path) -> dict:
    """package -> (status fields, {path as dpkg lists it: md5})."""
    directory = root / STATUS_DIR.lstrip("/")
    assert directory.is_dir(), f"no {STATUS_DIR} in the image"
    found = {}
    for record in sorted(directory.iterdir()):
        if record.name.endswith(".md5sums"):
            continue
        fields = parse_stanza(record.read_text())
        # Conffiles (/etc/debian_version) are listed with their md5 in the stanza, not in md5sums.
        sums = {line.split()[0]: line.split()[1] for line in fields.get("Conffiles", "").splitlines()
                if len(line.split()) >= 2}
        sums_file = record.with_name(record.name + ".md5sums")
        if sums_file.exists():
            for line in sums_file.read_text().splitlines():
                md5, path = line.split(None, 1)
                sums["/" + path] = md5
        found[record.name] = (fields, sums)
    return found


def dpkg_aliases(path: str) -> list:
    """Merged /usr: a package may list /lib/x or /usr/lib/x for the same file."""
    if path.startswith(("/usr/lib/", "/usr/lib64/")):
        return [path, path.removeprefix("/usr")]
    if path.startswith(("/lib/", "/lib64/")):
        return [path, "/usr" + path]
    return [path]


@pytest.fixture(scope="module")
def loaded(root, image):
    objects = sorted({interpreter(root), *ldd_in_image(root), *loaded_by_a_run(image)})
    assert any("libproc2.so.0" in o for o in objects) and any("libcurl.so.4" in o for o in objects)
    return objects


def owners(root: Path, dpkg: dict, loaded: list) -> dict:
    """For each loaded object's final file, and the release's identity files: the package whose
    md5sums list it with its md5."""
    owned = {}
    for obj in [*loaded, *OS_IDENTITY]:
        final = resolve_chain(root, obj)[-1]
        md5 = hashlib.md5((root / final.lstrip("/")).read_bytes()).hexdigest()
        claims = [package for package, (_, sums) in dpkg.items()
                  if any(sums.get(alias) == md5 for alias in dpkg_aliases(final))]
        assert len(claims) == 1, (f"{obj} ({final}, md5 {md5}): claimed by {claims or 'no'} dpkg record "
                                  f"in {STATUS_DIR} (a missing record, or a file not as Debian ships it)")
        owned[final] = claims[0]
    return owned


def test_every_file_in_the_image_is_expected(root, loaded):
    dpkg = records(root)
    owned = owners(root, dpkg, loaded)
    expected = {BINARY, SBOM, CA_BUNDLE}
    for obj in [*loaded, *OS_IDENTITY]:
        expected.update(resolve_chain(root, obj))
    for package in set(owned.values()) | {CA_PACKAGE}:
        expected.add(f"{STATUS_DIR}/{package}")
        conffiles = {line.split()[0] for line in dpkg[package][0].get("Conffiles", "").splitlines() if line.strip()}
        if any(owner == package and final not in conffiles for final, owner in owned.items()):
            expected.add(f"{STATUS_DIR}/{package}.md5sums")
    for path in list(expected):
        for parent in PurePosixPath(path).parents:
            if str(parent) != "/":
                expected.add(str(parent))
    actual = entries(root)
    unexpected = sorted(set(actual) - expected)
    missing = sorted(expected - set(actual))
    assert not unexpected, f"files in the image that are not on the expected list: {unexpected}"
    assert not missing, f"expected in the image and not there: {missing}"
    print(f"image: {len(actual)} entries, {len(loaded)} loaded objects from {len(set(owned.values()))} "
          f"packages, all expected")


def test_every_dpkg_record_is_a_whole_installed_stanza_of_a_package_in_use(root, loaded):
    dpkg = records(root)
    owned = set(owners(root, dpkg, loaded).values())
    assert set(dpkg) == owned | {CA_PACKAGE}, f"records of packages no loaded file comes from: {set(dpkg) - owned}"
    for package, (fields, _) in dpkg.items():
        assert fields.get("Package") == package, (package, fields.get("Package"))
        assert fields.get("Status") == "install ok installed", (package, fields.get("Status"))
        assert fields.get("Version") and fields.get("Architecture") in ("amd64", "arm64", "all"), (package, fields)


def test_no_shell_no_package_manager_no_passwd(root):
    actual = entries(root)
    for path in ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc/passwd", "/tmp", "/var/lib/dpkg/status"):
        assert path not in actual, f"{path} is in the image"
    config = json.loads(podman("image", "inspect", image_name()).stdout)[0]["Config"]
    assert config["User"] == "65532:65532" and config["Entrypoint"] == [BINARY, "run"], config
    identity = (root / "usr/lib/os-release").read_text()
    assert "ID=debian" in identity and 'VERSION_ID="12"' in identity, identity


def test_files_are_not_writable_by_the_agent(root):
    for path, kind in entries(root).items():
        if kind == "symlink":
            continue
        status = (root / path.lstrip("/")).stat()
        assert status.st_uid == 0 and status.st_gid == 0 and not status.st_mode & 0o022, (path, oct(status.st_mode))


# --- The SBOM


@pytest.fixture(scope="module")
def sbom_path(root):
    path = root / SBOM.lstrip("/")
    assert path.is_file(), f"no {SBOM} in the image"
    return path


@pytest.fixture(scope="module")
def sbom(sbom_path):
    return json.loads(sbom_path.read_text())


def packages_by_name(sbom):
    return {p["name"]: p for p in sbom["packages"]}


def test_sbom_is_valid_spdx_2_3(sbom_path):
    spdx_tools = pytest.importorskip("spdx_tools", reason="scripts/install-manifest-test-deps.sh installs spdx-tools")
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
    document = parse_file(str(sbom_path))
    messages = validate_full_spdx_document(document, "SPDX-2.3")
    assert not messages, "\n".join(m.validation_message for m in messages)
    assert document.creation_info.spdx_version == "SPDX-2.3", spdx_tools


def test_sbom_beside_the_image_is_the_one_in_it(sbom_path):
    cache = Path(os.environ.get("IMAGE_CACHE") or REPO / ".build-image").resolve()
    beside = cache / (image_name().split("/")[-1].replace(":", "-") + ".spdx.json")
    assert beside.is_file(), f"no {beside} (scripts/image.sh copies it there)"
    assert beside.read_bytes() == sbom_path.read_bytes()


def test_sbom_names_every_debian_package_with_a_record(root, sbom):
    by_name = packages_by_name(sbom)
    dpkg = records(root)
    assert dpkg
    for package, (fields, _) in dpkg.items():
        assert package in by_name, f"the SBOM does not name {package}"
        assert by_name[package]["versionInfo"] == fields["Version"], (package, by_name[package]["versionInfo"])
        purls = [r["referenceLocator"] for r in by_name[package].get("externalRefs", [])]
        assert any(p.startswith(f"pkg:deb/debian/{package}@") for p in purls), purls


def package_resolved() -> dict:
    path = REPO / "Package.resolved"
    if not path.exists():
        subprocess.run(["swift", "package", "resolve"], cwd=REPO, check=True, timeout=600,
                       capture_output=True)
    return json.loads(path.read_text())


def test_sbom_names_every_swift_package_of_package_resolved(sbom):
    by_name = packages_by_name(sbom)
    pins = package_resolved()["pins"]
    assert pins
    for pin in pins:
        assert pin["identity"] in by_name, f"the SBOM does not name {pin['identity']}"
        assert by_name[pin["identity"]]["versionInfo"] == pin["state"]["version"], pin


def test_sbom_names_the_binary_with_its_version_and_relationships(image, sbom):
    version = podman("run", "--rm", "--pull=never", "--network=none", "--entrypoint", BINARY, image,
                     "--version", timeout=120).stdout.strip()
    by_name = packages_by_name(sbom)
    binary = by_name["autotaint"]
    assert binary["versionInfo"] == version
    relations = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in sbom["relationships"]}
    image_id = next(p["SPDXID"] for p in sbom["packages"] if p.get("primaryPackagePurpose") == "CONTAINER")
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", image_id) in relations
    assert (image_id, "CONTAINS", binary["SPDXID"]) in relations
    for package in sbom["packages"]:
        if package["SPDXID"] in (image_id, binary["SPDXID"]):
            continue
        assert any(r[0] == binary["SPDXID"] and r[2] == package["SPDXID"] for r in relations), \
            f"no relationship from the binary to {package['name']}"
