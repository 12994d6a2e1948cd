# syntax=docker/dockerfile:1
# autotaint image: build with the official Swift image; the final image holds only the stripped
# binary, the shared objects it loads, the CA bundle, the release's os-release and debian_version
# (for scanners) and the dpkg records of the Debian packages those come from (no shell, no
# package manager), with an SPDX 2.3 SBOM. docs/image.md says what is in it and how to scan it. `make image-check` proves the rootfs stage complete without
# a Docker engine: it installs that stage's package list (read from this file) into a
# debootstrapped bookworm root, assembles the root filesystem there with the same script and
# runs the binary in it.
#
#   docker build -t autotaint:0.1.0 .

# Same Swift release as the toolchain the project is built and tested with.
ARG SWIFT_IMAGE=swift:6.3.1-bookworm

FROM ${SWIFT_IMAGE} AS build
# The -dev packages of the C libraries the targets wrap (Package.swift's systemLibrary targets).
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libcurl4-openssl-dev libproc2-dev libyaml-dev libmicrohttpd-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so editing sources does not refetch them. SwiftPM also wants every
# declared test target's directory present, hence Tests/.
COPY Package.swift ./
RUN swift package resolve
COPY Sources/ Sources/
COPY Tests/ Tests/
COPY link/ link/
# Swift's runtime and stdlib are linked in (no Swift libraries in the runtime image); the
# symbol table is stripped (about half the file), the code is untouched. The flags after
# --static-swift-stdlib are the Makefile's RELEASE_FLAGS (see there why): lld with packed
# relocations, no exported symbols, the agent's code packed by link/autotaint.order.
RUN flags="-Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld \
      -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
      -Xlinker --symbol-ordering-file=/src/link/autotaint.order -Xlinker --no-warn-symbol-ordering" \
 && swift build -c release --static-swift-stdlib $flags --product autotaint \
 && install -D -m 0755 "$(swift build -c release --static-swift-stdlib $flags --show-bin-path)/autotaint" /out/autotaint \
 && strip /out/autotaint \
 && /out/autotaint --version >/out/version \
 && swift --version 2>/dev/null | head -1 >/out/swift-version

FROM debian:bookworm-slim AS rootfs
# The runtime packages: what `ldd autotaint` needs beyond the base image (libc6, libstdc++6,
# libgcc-s1 are already there), libnuma1 (libproc2 opens it with dlopen when it is there), and
# the CA bundle for HTTPS to an external Prometheus. They are installed here only to be copied
# from: scripts/image-rootfs.sh puts in /rootfs the binary, exactly the shared objects a run of
# it loads, the CA bundle, and the dpkg record of each package they come from.
# make image-check parses this RUN line; keep it one apt-get install.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      ca-certificates \
      libcurl4 \
      libmicrohttpd12 \
      libnuma1 \
      libproc2-0 \
      libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/autotaint /out/autotaint
COPY scripts/image-rootfs.sh /usr/local/sbin/image-rootfs.sh
RUN image-rootfs.sh /out/autotaint /rootfs

FROM debian:bookworm-slim AS sbom
# The SPDX 2.3 SBOM of the final image (scripts/image_sbom.py, Python's standard library only):
# the binary, the Swift packages of Package.resolved, the Swift runtime linked in, and the
# Debian packages of the dpkg records in /rootfs.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/Package.resolved /out/version /out/swift-version /in/
COPY --from=rootfs /rootfs/var/lib/dpkg/status.d/ /in/status.d/
COPY scripts/image_sbom.py /usr/local/bin/image_sbom.py
RUN python3 /usr/local/bin/image_sbom.py --version-file /in/version --swift-version-file /in/swift-version \
      --package-resolved /in/Package.resolved --status-dir /in/status.d --output /sbom.spdx.json

FROM scratch
COPY --from=rootfs /rootfs/ /
COPY --from=sbom /sbom.spdx.json /usr/share/doc/autotaint/sbom.spdx.json
# Numeric, so runAsNonRoot can verify it without an /etc/passwd entry (there is none); the
# DaemonSet runs with the same IDs. Nothing in the image is writable by it (readOnlyRootFilesystem).
USER 65532:65532
EXPOSE 9469
ENTRYPOINT ["/usr/local/bin/autotaint", "run"]
