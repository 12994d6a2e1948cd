#!/usr/bin/env python3
"""Footprint of `autotaint run` after a settle time, broken down by mapping.

usage: measure_rss.py BINARY {dry,real} SECONDS [--runs N] [--env K=V ...] [--detail]

dry:  `run --dry-run` with config/autotaint.yaml, server bound to 127.0.0.1:<free port>.
real: against the fake API server (HTTPS, watch), /metrics scraped every 5 s.
Prints one JSON line per run: Rss, Anonymous, Rss of the binary's text, threads, CPU %.
"""
import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import FakeAPI, cpu_seconds, drop_page_cache, free_port, smaps_rollup as rollup

ROOT = Path(__file__).resolve().parents[1]


def by_mapping(pid):
    """Rss (kB) per (path, perms); anonymous regions grouped as [anon]/[heap]/[stack]."""
    res = collections.Counter()
    key = None
    for line in open(f"/proc/{pid}/smaps"):
        p = line.split()
        if not p:
            continue
        if "-" in p[0] and len(p) >= 5 and not p[0].endswith(":"):
            name = p[5] if len(p) > 5 else "[anon]"
            key = (os.path.basename(name), p[1])
        elif p[0] == "Rss:":
            res[key] += int(p[1])
    return res


def dump_exe_pages(pid, path):
    """Appends the file offsets of the executable's resident pages, one per line."""
    exe = os.readlink(f"/proc/{pid}/exe")
    with open(f"/proc/{pid}/pagemap", "rb") as pm, open(path, "a") as out:
        for line in open(f"/proc/{pid}/maps"):
            p = line.split()
            if len(p) >= 6 and p[5] == exe:
                lo, hi = (int(x, 16) for x in p[0].split("-"))
                off = int(p[2], 16)
                pm.seek(lo // 4096 * 8)
                data = pm.read((hi - lo) // 4096 * 8)
                for k in range((hi - lo) // 4096):
                    if int.from_bytes(data[k * 8:k * 8 + 8], "little") >> 63:
                        out.write(f"{off + k * 4096:#x}\n")


def one_run(binary, mode, seconds, env, detail, dump=None, drop_cache=False):
    state = Path(tempfile.mkdtemp(prefix="autotaint-rss."))
    port = free_port()
    server = None
    agent = None
    try:
        if mode == "dry":
            text = (ROOT / "config/autotaint.yaml").read_text().replace('address: ":9469"', f'address: "127.0.0.1:{port}"')
            cfg = state / "config.yaml"
            cfg.write_text(text)
            args = [binary, "run", "--dry-run", "--config", str(cfg), "--node", "node-1"]
        else:
            server = FakeAPI(state / "fakeapi", ["node-1"])
            cfg = state / "config.yaml"
            cfg.write_text("sampling: {interval: 1s, source: proc}\n"
                           "signals:\n  cpu: {highPercent: 99, lowPercent: 30}\n"
                           f"server: {{address: \"127.0.0.1:{port}\"}}\n")
            args = [binary, "run", "--kubeconfig", server.kubeconfig, "--node", "node-1", "--config", str(cfg)]
        if drop_cache:
            drop_page_cache(binary)
        agent = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=dict(os.environ, **env))
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            time.sleep(5)
            if agent.poll() is not None:
                sys.exit(f"agent exited early with {agent.returncode}")
            if mode == "real":
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
                except OSError as e:
                    print("scrape failed:", e, file=sys.stderr)
        if dump:
            dump_exe_pages(agent.pid, dump)
        r = rollup(agent.pid)
        maps = by_mapping(agent.pid)
        cpu = cpu_seconds(agent.pid)
        threads = len(os.listdir(f"/proc/{agent.pid}/task"))
        exe = os.path.basename(binary)
        result = {
            "mode": mode, "rss_kib": r["Rss"], "anon_kib": r["Anonymous"],
            "text_kib": maps.get((exe, "r-xp"), 0),
            "exe_total_kib": sum(v for (n, _), v in maps.items() if n == exe),
            "threads": threads, "cpu_pct": round(100 * cpu / (time.monotonic() - start), 3),
            "binary_bytes": os.path.getsize(binary),
        }
        if detail:
            libs = collections.Counter()
            for (n, perm), v in maps.items():
                libs[n] += v
            result["by_file"] = dict(libs.most_common())
        return result
    finally:
        if agent and agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=15)
            except subprocess.TimeoutExpired:
                agent.kill()
        if server:
            server.stop()
        shutil.rmtree(state, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("mode", choices=["dry", "real"])
    ap.add_argument("seconds", type=float)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--detail", action="store_true")
    ap.add_argument("--drop-cache", action="store_true",
                    help="drop the binary's page cache before each run (needs no other user of the file)")
    ap.add_argument("--dump-pages", help="append the executable's resident page offsets to this file")
    a = ap.parse_args()
    env = dict(e.split("=", 1) for e in a.env)
    for _ in range(a.runs):
        print(json.dumps(one_run(os.path.abspath(a.binary), a.mode, a.seconds, env, a.detail, a.dump_pages, a.drop_cache)), flush=True)


if __name__ == "__main__":
    main()
