#!/usr/bin/env python3
"""Runs `autotaint run` for a while and reports its memory (from /proc/PID/smaps_rollup),
its CPU time, and how long it takes to exit on SIGTERM. (`make bench` measures the same
and more; this is the quick look at one configuration.)

usage: footprint.py BINARY SECONDS -- ARGS...   (prints one JSON object)
"""
import json
import sys
import time

from harness import Agent, cpu_seconds, smaps_rollup


def main() -> None:
    binary, seconds = sys.argv[1], float(sys.argv[2])
    agent = Agent(binary, *sys.argv[sys.argv.index("--") + 1:])
    try:
        time.sleep(seconds)
        if not agent.alive():
            sys.exit(f"agent exited early with {agent.process.returncode}")
        memory = smaps_rollup(agent.pid)
        cpu = cpu_seconds(agent.pid)
        code, exit_seconds = agent.terminate()
    finally:
        agent.kill()
    print(json.dumps({
        "seconds": seconds,
        "rss_kib": memory["Rss"],
        "anonymous_kib": memory["Anonymous"],
        "cpu_seconds": round(cpu, 3),
        "cpu_percent_of_core": round(100 * cpu / seconds, 4),
        "sigterm_exit_code": code,
        "sigterm_exit_ms": round(exit_seconds * 1000, 1),
    }))


if __name__ == "__main__":
    main()
