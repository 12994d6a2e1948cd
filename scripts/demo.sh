#!/usr/bin/env bash
# `make run`: a local demo cluster (the test fake API server on 127.0.0.1) with this
# machine as its one Node, and the agent running against it on this machine's /proc.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-.build/release/autotaint}
node=$(hostname)
state=$(mktemp -d /tmp/autotaint-demo.XXXXXX)

(cd Tests/e2e && exec python3 -m fakeapi --port 0 --admin-port -1 --state-dir "$state" --node "$node") \
  >"$state/fakeapi.log" 2>&1 &
fake=$!
trap 'kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null || true' EXIT

for _ in $(seq 100); do
  [ -s "$state/server.json" ] && break
  kill -0 "$fake" 2>/dev/null || { cat "$state/fakeapi.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$state/server.json" ] || { echo "demo: the fake API server did not start" >&2; exit 1; }

cat <<TEXT
Demo cluster: $(grep -o '"url": *"[^"]*"' "$state/server.json" | cut -d'"' -f4), node "$node".
Watch what the agent does to the node from another terminal:
  kubectl --kubeconfig $state/kubeconfig describe node $node
  watch -n1 kubectl --kubeconfig $state/kubeconfig get node $node -o jsonpath='{.spec.taints}'
Load the machine to see the taint come (config/autotaint.yaml: 80% for 30s):
  stress-ng --cpu $(nproc) --timeout 60s
Ctrl-C stops the agent (it removes its taint) and the demo cluster.
TEXT

"$binary" run --config config/autotaint.yaml --kubeconfig "$state/kubeconfig" --node "$node" --log-format text &
agent=$!
trap 'kill -TERM "$agent" 2>/dev/null; wait "$agent" 2>/dev/null; kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null || true' EXIT INT TERM
wait "$agent"
