# syntax=docker/dockerfile:1
# autotaint image: build with the official Swift image, run on debian bookworm-slim with only
# the shared libraries the binary links. `make image-check` proves the runtime stage complete
# without a Docker engine: it installs the runtime stage's package list (read from this file)
# into a debootstrapped bookworm root and runs the binary there.
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
 && /out/autotaint --version

FROM debian:bookworm-slim AS runtime
# Runtime stage package list: exactly what `ldd autotaint` needs beyond the base image
# (libc6, libstdc++6, libgcc-s1 are already there), plus the CA bundle for HTTPS to an
# external Prometheus. make image-check parses this RUN line; keep it one apt-get install.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      ca-certificates \
      libcurl4 \
      libmicrohttpd12 \
      libproc2-0 \
      libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/autotaint /usr/local/bin/autotaint
# Numeric, so runAsNonRoot can verify it without an /etc/passwd entry; the DaemonSet runs
# with the same IDs. Nothing in the image is writable by it (readOnlyRootFilesystem).
USER 65532:65532
EXPOSE 9469
ENTRYPOINT ["/usr/local/bin/autotaint", "run"]
