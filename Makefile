# The two commands of the README: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

RELEASE_FLAGS := -c release --static-swift-stdlib
BIN := .build/release/autotaint

.PHONY: deps build release run run-offline test unit e2e e2e-deps manifest-deps manifests image-check bench bench-deps clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

release: deps
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

bench-deps:
	@scripts/ensure-packages.sh --apt valgrind binutils stress-ng

# What the agent costs against product.md's targets (memory, CPU, callgrind instructions per
# cycle, reaction latency under stress-ng, API requests, 50 agents at one server): ~7 min,
# prints a table and writes bench/results.json. Not part of `make test`.
bench: release bench-deps
	python3 bench/bench.py $(BIN)

clean:
	rm -rf .build
