#!/usr/bin/env bash
# Regenerates link/autotaint.order, the list of functions the agent runs, which the release
# link puts first and together (lld --symbol-ordering-file; see the Makefile). Why: the kernel
# maps code in 64 KiB windows around each touched page, so hot code spread over 11 MB of
# .text kept 7-10 MiB of it resident; packed together, 4.5-5.5 MiB (the prebuilt Swift stdlib,
# Concurrency and FoundationEssentials archives keep much of their code in one section per
# object, which the linker cannot split).
#
# usage: bench/orderfile.sh BINARY   (a release build linked without the list, as `make
#   orderfile` does; runs it under callgrind for a dry run and a real run against the fake
#   API server)
# Needs valgrind. Rerun after a toolchain or dependency update, or when the bench shows the
# binary's resident code growing; a stale list only costs memory, never correctness.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "orderfile: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
binary=$(realpath "$1")
work=$(mktemp -d /tmp/autotaint-order.XXXXXX)
trap 'rm -rf "$work"' EXIT

# valgrind 3.19 cannot read the DWARF 5 this toolchain writes; the symbol table is enough.
strip --strip-debug -o "$work/agent" "$binary"
cat > "$work/agent-under-callgrind" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --callgrind-out-file=$work/callgrind.\$\$.out $work/agent "\$@"
EOF
chmod +x "$work/agent-under-callgrind"

for mode in real dry; do
  python3 bench/measure_rss.py "$work/agent-under-callgrind" "$mode" 45 --runs 1 >/dev/null
done
python3 bench/orderfile.py "$work/agent" "$work"/callgrind.*.out > link/autotaint.order
echo "wrote link/autotaint.order ($(wc -l < link/autotaint.order) functions)"
