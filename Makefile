# The two commands of the README: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

RELEASE_FLAGS := -c release --static-swift-stdlib
BIN := .build/release/autotaint

.PHONY: deps build release run test unit e2e clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build $(RELEASE_FLAGS)

# Samples this machine and logs each decision and what it would write; no cluster needed.
run: release
	$(BIN) run --dry-run --config config/autotaint.yaml --log-format text

unit: deps
	swift test

e2e: release
	cd Tests/e2e && AUTOTAINT_BIN=$(CURDIR)/$(BIN) python3 -m pytest -q -p no:cacheprovider

# Unit tests first, then the end-to-end tests against the release binary; pytest's summary
# line closes the run.
test: unit e2e

clean:
	rm -rf .build
