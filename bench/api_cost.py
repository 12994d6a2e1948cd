#!/usr/bin/env python3
"""Runs `autotaint run` against the fake API server for a while and counts the requests
it sent, by verb (a watch counted as WATCH). (`make bench` measures the same and more.)

usage: api_cost.py BINARY SECONDS [--high PERCENT]   (prints one JSON object)
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from harness import Agent, FakeAPI, verb_counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--high", type=int, default=99, help="CPU highPercent (99: no pressure)")
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="autotaint-api-cost."))
    server = FakeAPI(state, ["node-1"])
    agent = None
    try:
        config = state / "config.yaml"
        config.write_text(f"sampling: {{interval: 1s, source: proc}}\n"
                          f"signals:\n  cpu: {{highPercent: {args.high}, lowPercent: 30}}\n"
                          f"server: {{address: \"\"}}\n")
        agent = Agent(args.binary, "--kubeconfig", server.kubeconfig, "--node", "node-1", "--config", str(config))
        time.sleep(args.seconds)
        print(json.dumps({"seconds": args.seconds, "requests": verb_counts(server.requests())}))
    finally:
        if agent:
            agent.terminate(timeout=10)
            agent.kill()
        server.stop()


if __name__ == "__main__":
    main()
