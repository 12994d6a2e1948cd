#!/usr/bin/env python3
"""Runs `autotaint run` for a while and reports its memory (from /proc/PID/smaps_rollup),
its CPU time, and how long it takes to exit on SIGTERM.

usage: footprint.py BINARY SECONDS -- ARGS...   (prints one JSON object)
"""
import json
import os
import signal
import subprocess
import sys
import time


def smaps_rollup(pid: int) -> dict:
    figures = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                figures[parts[0].rstrip(":")] = int(parts[1])
    return figures


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def main() -> None:
    binary, seconds = sys.argv[1], float(sys.argv[2])
    args = sys.argv[sys.argv.index("--") + 1:]
    agent = subprocess.Popen([binary, "run", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(seconds)
        if agent.poll() is not None:
            sys.exit(f"agent exited early with {agent.returncode}")
        memory = smaps_rollup(agent.pid)
        cpu = cpu_seconds(agent.pid)
        started = time.monotonic()
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=30)
        exit_seconds = time.monotonic() - started
    finally:
        if agent.poll() is None:
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
