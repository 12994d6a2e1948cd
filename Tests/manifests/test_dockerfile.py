"""The Dockerfile's stages (build, rootfs, sbom, and the final FROM scratch image), its runtime
package list, and its agreement with image-check and with the libraries the built binary links."""
import os
import re
import shutil
import subprocess

import pytest

import dockerfile_packages
from manifest_files import DOCKERFILE, REPO

RUNTIME_PACKAGES = ["ca-certificates", "libcurl4", "libmicrohttpd12", "libnuma1", "libproc2-0", "libyaml-0-2"]
# Not linked: libproc2 opens libnuma.so.1 with dlopen (scripts/image-rootfs.sh finds it so).
DLOPENED_PACKAGES = {"libnuma1"}
# Already in debian:bookworm-slim (apt itself depends on them).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


@pytest.fixture(scope="module")
def stages(dockerfile_text):
    return dockerfile_packages.stages(dockerfile_text)


def resolve_from(stage, text):
    """FROM ${SWIFT_IMAGE}: substitute the ARG default declared before the first FROM."""
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.MULTILINE))
    return re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], stage[1])


def test_stages(stages, dockerfile_text):
    assert [s[0] for s in stages] == ["build", "rootfs", "sbom", None]
    assert re.fullmatch(r"swift:6\.[0-9.]+-bookworm", resolve_from(stages[0], dockerfile_text))
    assert stages[1][1] == "debian:bookworm-slim" and stages[2][1] == "debian:bookworm-slim"
    assert stages[3][1] == "scratch"


def test_build_is_release_with_static_swift_stdlib(stages):
    runs = " ".join(line for line in stages[0][2] if line.startswith("RUN"))
    assert re.search(r"swift build -c release --static-swift-stdlib\b", runs)


def test_build_flags_are_the_makefiles_release_flags(stages):
    """The image's binary is linked like `make release`'s (the footprint depends on the flags)."""
    with open(os.path.join(REPO, "Makefile")) as handle:
        makefile = handle.read().replace("\\\n", " ")
    release = re.search(r"^RELEASE_FLAGS := (.*)$", makefile, re.MULTILINE).group(1).split()
    release = [flag.replace("$(CURDIR)", "/src") for flag in release]
    run = next(line for line in stages[0][2] if line.startswith("RUN") and "swift build" in line)
    flags = re.search(r'flags="([^"]*)"', run).group(1).split()
    assert ["-c", "release", "--static-swift-stdlib", *flags] == release
    assert "swift build -c release --static-swift-stdlib $flags --product autotaint" in run
    assert "swift build -c release --static-swift-stdlib $flags --show-bin-path" in run


def test_runtime_packages_are_exactly_the_shared_libraries(dockerfile_text):
    rootfs = [s for s in dockerfile_packages.stages(dockerfile_text) if s[0] == "rootfs"][0]
    packages = dockerfile_packages.apt_packages(rootfs[2])
    assert sorted(packages) == RUNTIME_PACKAGES
    assert not [p for p in packages if p.endswith("-dev")]


def test_build_stage_has_the_dev_package_of_each_runtime_library(stages):
    build = set(dockerfile_packages.apt_packages(stages[0][2]))
    assert {"libcurl4-openssl-dev", "libproc2-dev", "libyaml-dev", "libmicrohttpd-dev"} <= build


def test_rootfs_stage_assembles_the_root_with_the_script(stages):
    rootfs = stages[1][2]
    assert "COPY --from=build /out/autotaint /out/autotaint" in rootfs
    assert "COPY scripts/image-rootfs.sh /usr/local/sbin/image-rootfs.sh" in rootfs
    assert rootfs[-1] == "RUN image-rootfs.sh /out/autotaint /rootfs"
    assert "apt-get install" in " ".join(rootfs) and "--no-install-recommends" in " ".join(rootfs)
    assert any("rm -rf /var/lib/apt/lists/*" in l for l in rootfs)


def test_sbom_stage_runs_the_sbom_script_on_the_images_records(stages):
    sbom = " ".join(stages[2][2])
    assert "COPY --from=build /src/Package.resolved /out/version /out/swift-version /in/" in sbom
    assert "COPY --from=rootfs /rootfs/var/lib/dpkg/status.d/ /in/status.d/" in sbom
    assert "python3 /usr/local/bin/image_sbom.py" in sbom and "--status-dir /in/status.d" in sbom
    build = " ".join(stages[0][2])
    assert "/out/autotaint --version >/out/version" in build


def test_final_stage_is_scratch_with_only_the_root_and_the_sbom(stages):
    final = stages[3][2]
    assert final == [
        "COPY --from=rootfs /rootfs/ /",
        "COPY --from=sbom /sbom.spdx.json /usr/share/doc/autotaint/sbom.spdx.json",
        "USER 65532:65532",
        "EXPOSE 9469",
        'ENTRYPOINT ["/usr/local/bin/autotaint", "run"]',
    ], "no RUN (there is no shell), nothing but the assembled root and the SBOM"


def test_image_check_reads_the_list_from_the_dockerfile():
    with open(os.path.join(REPO, "Tests", "image-check", "image-check.sh")) as handle:
        script = handle.read()
    assert "dockerfile_packages.py" in script
    for package in RUNTIME_PACKAGES:
        assert package not in script, f"image-check repeats {package}: parse it from the Dockerfile"
    assert "--no-install-recommends" in script and "--userspec" in script and "remount,bind,ro" in script
    assert "image-rootfs.sh" in script, "image-check assembles the root as the rootfs stage does"


def test_parser_cli_prints_the_runtime_list():
    output = subprocess.run(["python3", os.path.join(REPO, "scripts", "dockerfile_packages.py"),
                             "--dockerfile", DOCKERFILE], capture_output=True, text=True, check=True).stdout
    assert output.split() == RUNTIME_PACKAGES


def test_parser_handles_continuations_comments_and_options():
    text = (
        "FROM a AS one\nRUN apt-get install -y b\n"
        "FROM debian:bookworm-slim\n"
        "# a comment\n"
        "RUN apt-get update \\\n"
        " && apt-get install -y -q --no-install-recommends \\\n"
        "# comment inside the continuation\n"
        "      pkg-a \\\n"
        "      pkg-b \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
        "RUN apt install -y pkg-c; echo done\n"
    )
    all_stages = dockerfile_packages.stages(text)
    assert [(s[0], s[1]) for s in all_stages] == [("one", "a"), (None, "debian:bookworm-slim")]
    assert dockerfile_packages.apt_packages(all_stages[-1][2]) == ["pkg-a", "pkg-b", "pkg-c"]


def binary_path():
    return os.environ.get("AUTOTAINT_BIN") or os.path.join(REPO, ".build", "release", "autotaint")


def test_every_linked_library_comes_from_the_runtime_packages_or_the_base():
    """The binary's direct NEEDED entries, mapped to Debian packages on this (bookworm) machine."""
    binary = binary_path()
    if not os.path.exists(binary):
        if os.environ.get("AUTOTAINT_BIN"):
            pytest.fail(f"AUTOTAINT_BIN={binary} does not exist")
        pytest.skip("no release binary (make release)")
    if not shutil.which("readelf") or not shutil.which("dpkg"):
        pytest.skip("needs readelf and dpkg")
    dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    assert "libproc2.so.0" in needed and "libcurl.so.4" in needed
    assert not [n for n in needed if "swift" in n.lower() or "Foundation" in n], "Swift libraries must be static"
    ldd_output = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    ldd = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd_output, re.MULTILINE))
    ldd.update({os.path.basename(p): p for p in re.findall(r"^\s*(/\S+) \(0x", ldd_output, re.MULTILINE)})
    allowed = set(RUNTIME_PACKAGES) | BASE_PACKAGES
    for library in needed:
        path = ldd.get(library)
        assert path and path != "not", f"{library} does not resolve on this machine"
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path).replace("/usr/lib/", "/lib/", 1)],
                               capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
        package = owner.stdout.split(":", 1)[0]
        assert package in allowed, f"{library} ({path}) is in {package}, not in the runtime stage"
