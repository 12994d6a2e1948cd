# The two commands of the README: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

# Release link (the Dockerfile's build uses the same flags), each for the agent's resident memory
# (product.md "Performance targets"; figures in docs/performance.md):
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
# Seconds each fuzz target runs for in `make fuzz`.
FUZZ_SECONDS ?= 60
BIN := .build/release/autotaint

.PHONY: deps build release orderfile run run-offline test unit tsan fuzz fuzz-ci e2e e2e-deps manifest-deps manifests image-check image image-test monitoring bench bench-scale bench-deps clean

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
orderfile: deps bench-deps
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

# The unit tests again under ThreadSanitizer, in their own scratch path (other flags, so
# they would rebuild .build each time). halt_on_error: the first data race ends the run
# with an error; the grep catches a report that somehow did not (e.g. a child process).
TSAN_SCRATCH := .build-tsan
TSAN_LOG := $(TSAN_SCRATCH)/tsan-test.log

tsan: deps
	swift build --build-tests --sanitize=thread --scratch-path $(TSAN_SCRATCH)
	set -o pipefail; TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  swift test --skip-build --sanitize=thread --scratch-path $(TSAN_SCRATCH) 2>&1 | tee $(TSAN_LOG)
	@! grep -q 'ThreadSanitizer' $(TSAN_LOG) || { echo "tsan: ThreadSanitizer reported a problem, see $(TSAN_LOG)" >&2; exit 1; }

# libFuzzer targets (Fuzz/): config, duration, /proc counters, Prometheus response,
# Kubernetes JSON; each runs FUZZ_SECONDS, and any crash fails. Findings: .fuzz/artifacts/.
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The same, 30 s each, as part of `make test`.
fuzz-ci: deps
	scripts/fuzz.sh 30

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
	Tests/image-check/image-check.sh $(BIN)

# The Dockerfile, unmodified, built with podman into the project's own image store
# (.build-image/podman): no registry is reachable here, so the base images are made from a
# debootstrapped bookworm root and the build stage mounts this machine's Swift toolchain
# (scripts/image.sh says how). About 4 min from nothing, seconds when nothing changed.
IMAGE ?= autotaint:0.1.0
image:
	scripts/image.sh $(IMAGE)

# That image run as daemonset.yaml runs it, against the fake API server, under stress-ng
# (Tests/image). Where podman cannot run containers, both steps say why and skip.
image-test: deps manifest-deps
	scripts/image.sh --skip-if-unsupported $(IMAGE)
	AUTOTAINT_IMAGE=$(IMAGE) python3 -m pytest -q -p no:cacheprovider -rs Tests/image

# deploy/monitoring: promtool check and unit tests of the PrometheusRule, the dashboard's
# queries and the alerts in a real Prometheus scraping the real agent (about 3 min).
monitoring: manifest-deps e2e-deps release
	AUTOTAINT_BIN=$(CURDIR)/$(BIN) python3 -m pytest -q -p no:cacheprovider Tests/monitoring

# Unit tests (plain, then under ThreadSanitizer: about 2.5 min more, its build included),
# fuzzing (30 s per target, about 3 min with its build), the image check and manifests, the
# image built and run in a container (about 4.5 min from nothing, 20 s when cached), the
# monitoring rules, dashboard and alerts,
# then the end-to-end tests against the release binary, whose pytest summary line closes
# the run.
test: unit tsan fuzz-ci image-check manifests image-test monitoring e2e

bench-deps:
	@scripts/ensure-packages.sh --apt valgrind binutils stress-ng

# What the agent costs against product.md's targets (memory, CPU, callgrind instructions per
# cycle, reaction latency under stress-ng, API requests, 50 agents at one server): ~8 min,
# prints a table and writes bench/results.json; then bench-scale. Not part of `make test`.
bench: release bench-deps
	python3 bench/bench.py $(BIN)
	$(MAKE) bench-scale

# N = 50, 100, 200 real agents at one fake API server through a start-up storm, 10 min of
# steady state, two API server restarts and a cluster-wide spike, twice (bench/storms.py):
# ~50 min, prints one table per scenario, writes bench/storms.json, then the onset model
# (bench/onset_model.py) next to the spikes and at 5,000 nodes. The onset alone, ~20 min:
# python3 bench/storms.py $(BIN) --scenarios spike,spike_again
bench-scale: release
	python3 bench/storms.py $(BIN)

clean:
	rm -rf .build $(TSAN_SCRATCH) .build-fuzz .fuzz
