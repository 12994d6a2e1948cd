#!/usr/bin/env python3
"""Runs `autotaint run` against the fake API server for a while and counts the requests
it sent, by verb (a watch counted as WATCH).

usage: api_cost.py BINARY SECONDS [--high PERCENT]   (prints one JSON object)
"""
import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "Tests/e2e"


def start_fake_api(state: Path):
    """The fake API server (HTTPS on 127.0.0.1, Node node-1) with its state in STATE; returns
    the process and its server.json (kubeconfig, admin_url)."""
    server = subprocess.Popen([sys.executable, "-m", "fakeapi", "--port", "0", "--admin-port", "0",
                               "--state-dir", str(state), "--node", "node-1"], cwd=E2E,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if (state / "server.json").exists() and (state / "server.json").stat().st_size:
            break
        time.sleep(0.1)
    return server, json.loads((state / "server.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--high", type=int, default=99, help="CPU highPercent (99: no pressure)")
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="autotaint-api-cost."))
    server, info = start_fake_api(state)
    agent = None
    try:
        config = state / "config.yaml"
        config.write_text(f"sampling: {{interval: 1s, source: proc}}\n"
                          f"signals:\n  cpu: {{highPercent: {args.high}, lowPercent: 30}}\n"
                          f"server: {{address: \"\"}}\n")
        agent = subprocess.Popen([args.binary, "run", "--kubeconfig", info["kubeconfig"], "--node", "node-1",
                                  "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(args.seconds)
        with urllib.request.urlopen(info["admin_url"] + "/requests", timeout=10) as response:
            requests = json.load(response)
        counts = collections.Counter()
        for r in requests:
            watch = r.get("params", {}).get("watch") in ("true", "1")
            path = r["path"].replace("/api/v1/", "")
            counts[f"{'WATCH' if watch else r['method']} {path}"] += 1
        print(json.dumps({"seconds": args.seconds, "requests": dict(sorted(counts.items()))}))
    finally:
        if agent and agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=10)
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
