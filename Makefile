# The two commands of the README: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

# Release link (the Dockerfile's build uses the same flags), each for the agent's resident memory
# (product.md "Performance targets"; figures in README "Measurements so far"):
# - lld, with relative relocations packed (DT_RELR, glibc >= 2.36): 1 MB less of .rela.dyn
#   that the loader reads at every start;
# - --no-export-dynamic undoes the -export-dynamic of the static stdlib's link flags: nothing
#   looks our public symbols up at run time, and the loader skips 600 KB of symbol tables;
# - functions in their own sections, ordered by link/autotaint.order (bench/orderfile.sh):
#   the code the agent runs sits together instead of spread over 11 MB, and the kernel maps
#   code in 64 KiB windows around each touched page. An outdated list only costs memory.
RELEASE_FLAGS := -c release --static-swift-stdlib \
	-Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld \
	-Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
	-Xlinker --symbol-ordering-file=$(CURDIR)/link/autotaint.order -Xlinker --no-warn-symbol-ordering
BIN := .build/release/autotaint

.PHONY: deps build release orderfile run run-offline test unit e2e e2e-deps manifest-deps manifests image-check clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build $(RELEASE_FLAGS)

# Rewrites link/autotaint.order from callgrind runs of a release binary linked without it
# (needs valgrind), then links with the new list.
# SwiftPM does not see the list as a link input, hence the rm -f before each link.
ORDER_FLAGS := -Xlinker --symbol-ordering-file=$(CURDIR)/link/autotaint.order -Xlinker --no-warn-symbol-ordering
orderfile: deps
	rm -f $(BIN)
	swift build $(subst $(ORDER_FLAGS),,$(RELEASE_FLAGS))
	bench/orderfile.sh $(BIN)
	rm -f $(BIN)
	swift build $(RELEASE_FLAGS)

# A local demo cluster (the fake API server on 127.0.0.1) with this machine as its Node,
# and the agent on this machine's /proc; prints the kubectl command to watch the Node.
run: release
	scripts/demo.sh $(BIN)

# The agent without any cluster: samples this machine and logs what it would write.
run-offline: release
	$(BIN) run --dry-run --config config/autotaint.yaml --log-format text

unit: deps
	swift test

# Prometheus, node exporter and stress-ng for the end-to-end tests.
e2e-deps:
	@sh Tests/e2e/install-prometheus-deps.sh

e2e: release e2e-deps
	cd Tests/e2e && AUTOTAINT_BIN=$(CURDIR)/$(BIN) python3 -m pytest -q -p no:cacheprovider

manifest-deps:
	@scripts/install-manifest-test-deps.sh

# Manifests, Dockerfile and admission policy; the ConfigMap and linked-library checks use
# the release binary.
manifests: manifest-deps release
	AUTOTAINT_BIN=$(CURDIR)/$(BIN) python3 -m pytest -q -p no:cacheprovider Tests/manifests

# The Dockerfile's runtime stage, proven without a Docker engine (debootstrap + chroot; root).
image-check: manifest-deps release
	deploy-tests/image-check.sh $(BIN)

# Unit tests, the image check and manifests, then the end-to-end tests against the release
# binary, whose pytest summary line closes the run.
test: unit image-check manifests e2e

clean:
	rm -rf .build
