#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (sanitized: fuzzer + address) and runs each for
# SECONDS, one after another, from its seeds in Fuzz/corpus/<target>. Fails if any
# target crashes, trips a precondition or a sanitizer, runs out of memory or hangs on
# one input. Working corpora, crash inputs and logs go to .fuzz/ (not in git).
#   usage: scripts/fuzz.sh SECONDS [TARGET...]   (targets: config duration counters prometheus kube)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config duration counters prometheus kube)

scratch=.build-fuzz
work=.fuzz
# -enable-testing: the Kubernetes target reads KubeClient's internal decoders.
echo "fuzz: building the targets (release, -sanitize=fuzzer,address) in $scratch" >&2
build_started=$SECONDS
nice -n 10 swift build --package-path Fuzz --scratch-path "$scratch" -c release \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld \
  2>&1 | { grep -v "Cannot export local symbol" || true; }
echo "fuzz: built in $((SECONDS - build_started)) s" >&2
bin=$(swift build --package-path Fuzz --scratch-path "$scratch" -c release --show-bin-path)

# A trap goes straight to libFuzzer's handler (Swift's backtracer would trip ASan).
export SWIFT_BACKTRACE=enable=no
# LeakSanitizer reports Swift's lazily built globals (ConfigSchema.root) as leaked: it
# cannot follow Swift's references to them. Growth still fails the run (-rss_limit_mb).
export ASAN_OPTIONS=detect_leaks=0
failed=()
for target in "${targets[@]}"; do
  name=Fuzz${target^}
  [ -x "$bin/$name" ] || { echo "fuzz: no target $target ($bin/$name)" >&2; exit 2; }
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target" "$work/logs"
  log=$work/logs/$target.log
  echo "fuzz: $target for ${seconds}s (log: $log)" >&2
  # New inputs go to the working corpus (first directory); the seeds stay as committed.
  # -timeout: one input taking 10 s counts as a hang; -rss_limit_mb: as a leak or blow-up.
  if "$bin/$name" "$work/corpus/$target" "Fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/$target/" >"$log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|Done)" "$log" | sed "s/^/fuzz: $target: /" >&2 || true
  else
    echo "fuzz: $target FAILED; the input is in $work/artifacts/$target/, the report:" >&2
    grep -E -A25 "^fuzz finding|^==[0-9]+==|Fatal error|ERROR: libFuzzer|SUMMARY" "$log" | head -60 >&2 || tail -40 "$log" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings in ${targets[*]} (${seconds}s each)" >&2
