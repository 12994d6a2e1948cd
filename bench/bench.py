#!/usr/bin/env python3
"""`make bench`: what autotaint costs, measured against the targets of product.md.

usage: bench.py BINARY [--out bench/results.json] [--quick] [--only PART]...

Parts (each bounded in time; the whole run takes about 8 minutes on a quiet machine and
at most about 12 on a busy one), one after another: footprint, bignode, the latencies, fleet
and scale side by side, then callgrind:
  footprint  `autotaint run` with config/autotaint.yaml (interval 1s, TLS, watch, /metrics)
             against the fake API server for 120 s, from private copies of its binary and
             libraries (harness.private_files): RSS and anonymous memory from
             /proc/PID/smaps_rollup at the end, its page faults in the steady part, CPU over
             the steady part and over the whole
             run, CPU time per tick, thread wake-ups, the API requests of the steady part by
             verb, SIGTERM exit; beside it in the same window bench/floor.c (the floor) and
             the same agent and floor at the default interval, 5s.
  bignode    the same agent and floor, and the floor built on libproc2, at 1 s and 5 s
             over a generated 2-CPU and 192-CPU /proc/stat, /proc/pressure/cpu and
             /proc/meminfo (bench/bignode.py), 120 s: CPU per tick against the floor's, and
             that ratio at 192 CPUs against 2, for the agent and for libproc2 alone.
  scale      50 agents with distinct node names against one fake API server for 120 s:
             requests per second at the server by verb, per 5,000 nodes; their memory.
  latency    stress-ng on every CPU: from its start to our taint visible through the API
             (GET every 100 ms), and from its end to the taint gone; 3 repetitions.
  contention-latency  the same for the cpuContention signal, with two stress-ng loops per
             CPU (the stall crosses 40 % at once) and the cpu signal off.
  fleet      20 agents all in pressure, fleet guard at 30 % (bench/fleet.py): the guard's
             requests/s and bytes/s at the server, per holder and per waiting node, and
             their projection to 5,000 nodes against the budget (50 req/s, 1 MB/s).
  callgrind  instructions per sample+decide cycle, counted by valgrind's callgrind (stable on
             a busy machine): the difference between two runs that differ only in the number
             of ticks, for `autotaint sample` and for `autotaint run --dry-run`.

Prints a table (figure, target, pass/over) and writes the raw figures and the machine to
--out. Exits 0 when every figure was measured, over target or not; 1 when a part failed to
measure (its rows say `not measured` and why).
"""
import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from bignode import bignode, rows as bignode_rows
from fleet import fleet as fleet_part, rows as fleet_rows
from harness import (LIBPROC2_OPENS, NEVER_PRESSURE, REPO, WAKE_UP_APART, Agent, FakeAPI, MachineLoad, agent_environment,
                     condition, cpu_ns, cpu_seconds, file_mappings_outside, free_port, kill_all, own_taints,
                     page_faults, peak_rss_kib, private_files, smaps_rollup, start, thread_switches,
                     user_system_seconds, verb_counts, wakeups_per_second)

MIB = 1024  # smaps_rollup counts kB (KiB)

# NEVER_PRESSURE as a config file's text. (A transition still shows in the results: `transitions`.)
NEVER_PRESSURE_YAML = "signals:\n  cpu: {highPercent: 100, lowPercent: 99, for: 1h}\n"


def sleep_until(deadline: float, agents=()) -> None:
    """Sleeps until the monotonic `deadline`, failing as soon as one of `agents` has exited."""
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        for agent in agents:
            if not agent.alive():
                raise RuntimeError(f"agent {agent.pid} exited early with {agent.process.returncode}"
                                   + (f"; log {agent.log_path}" if agent.log_path else ""))


# -- footprint and steady-state API requests -------------------------------------------------

def build_floor(work: Path, libproc2: bool = False) -> Path:
    """bench/floor.c, compiled here: the least a usage sampler at the same interval costs;
    with `libproc2`, the least the design's reader costs (one procps_stat_select a tick)."""
    work.mkdir(parents=True, exist_ok=True)
    floor = work / ("floor-libproc2" if libproc2 else "floor")
    flags = ["-DLIBPROC2"] if libproc2 else []
    libraries = ["-lproc2"] if libproc2 else []
    subprocess.run(["cc", "-O2", "-Wall", *flags, "-o", str(floor), str(REPO / "bench" / "floor.c"), *libraries],
                   check=True, timeout=60)
    return floor


def footprint(binary: str, work: Path, seconds: float, steady_from: float) -> dict:
    fake = FakeAPI(work / "fakeapi", ["node-1", "node-2"])
    agent = floor = default_agent = default_floor = None
    floor_binary = build_floor(work)
    # The measured agent's files are its own, as on a node: the kernel reclaims none of the
    # start-up pages it gives back (MADV_PAGEOUT) while another process maps them, and the
    # 5 s agent and the scale run's 50 map the same binary and libraries meanwhile.
    own_files = work / "own-files"
    own_binary, own_environment = private_files(binary, own_files, LIBPROC2_OPENS)

    def start_agent(program: str, node: str, address: str, log_name: str, **overrides: str) -> Agent:
        return Agent(program, "--config", str(REPO / "config/autotaint.yaml"), "--kubeconfig", fake.kubeconfig,
                     "--node", node, log_path=work / log_name,
                     env=agent_environment(AUTOTAINT_SERVER_ADDRESS=address, **NEVER_PRESSURE, **overrides))

    def usage(pid: int) -> tuple:
        return cpu_ns(pid), thread_switches(pid)

    try:
        address = f"127.0.0.1:{free_port()}"
        started = time.monotonic()
        agent = start_agent(own_binary, "node-1", address, "agent.log", **own_environment)
        # The floor, at the agent's interval (config/autotaint.yaml: 1s), in the same window.
        floor = subprocess.Popen([str(floor_binary), "1", str(seconds + 30)], stdout=subprocess.PIPE, text=True)
        time.sleep(WAKE_UP_APART)  # every fifth tick of the 1 s floor would wake with the 5 s one's
        default_floor = subprocess.Popen([str(floor_binary), "5", str(seconds + 30)], stdout=subprocess.DEVNULL)
        # The same agent at the default interval, 5s, on a Node of its own: its CPU only.
        default_agent = start_agent(binary, "node-2", f"127.0.0.1:{free_port()}", "agent-5s.log",
                                    AUTOTAINT_SAMPLING_INTERVAL="5s")
        sleep_until(started + steady_from, [agent, default_agent])
        if shared := file_mappings_outside(agent.pid, own_files):
            raise RuntimeError(f"the measured agent maps libraries it shares with others: {shared}")
        steady_at, steady_wall = time.monotonic(), time.time()
        steady_ns, steady_split = cpu_ns(agent.pid), user_system_seconds(agent.pid)
        steady_faults = page_faults(agent.pid)
        steady_switches, floor_steady, default_steady = thread_switches(agent.pid), usage(floor.pid), usage(default_agent.pid)
        default_floor_steady = usage(default_floor.pid)
        sleep_until(started + seconds, [agent, default_agent])
        end_at, end_wall = time.monotonic(), time.time()
        end_ns, end_split = cpu_ns(agent.pid), user_system_seconds(agent.pid)
        end_faults = page_faults(agent.pid)
        end_switches, floor_end, default_end = thread_switches(agent.pid), usage(floor.pid), usage(default_agent.pid)
        default_floor_end = usage(default_floor.pid)
        floor.terminate()
        floor_output, _ = floor.communicate(timeout=10)
        memory, peak = smaps_rollup(agent.pid), peak_rss_kib(agent.pid)
        code, exit_seconds = agent.terminate()
        requests = fake.requests()
        log = agent.log_lines()
    finally:
        for started_agent in (agent, default_agent):
            if started_agent:
                started_agent.kill()
        for started_floor in (floor, default_floor):
            if started_floor and started_floor.poll() is None:
                started_floor.kill()
                started_floor.wait(timeout=10)
        fake.stop()
    window = end_at - steady_at
    wakeups = wakeups_per_second(steady_switches, end_switches, window)
    floor_wakeups = wakeups_per_second(floor_steady[1], floor_end[1], window)
    floor_cpu_s = (floor_end[0] - floor_steady[0]) / 1e9
    default_cpu_s = (default_end[0] - default_steady[0]) / 1e9
    default_wakeups = wakeups_per_second(default_steady[1], default_end[1], window)
    default_floor_cpu_s = (default_floor_end[0] - default_floor_steady[0]) / 1e9
    default_floor_wakeups = wakeups_per_second(default_floor_steady[1], default_floor_end[1], window)
    steady_cpu_s = (end_ns - steady_ns) / 1e9
    end_cpu = sum(end_split)
    ticks = window / 1.0  # interval 1s
    window_counts = verb_counts(requests, since=steady_wall, until=end_wall)
    return {
        "seconds": round(end_at - started, 1), "steady_window_seconds": round(window, 1),
        "config": "config/autotaint.yaml (interval 1s, source auto, /metrics on), server.address "
                  f"{address}, cpu highPercent 100 / lowPercent 99 / for 1h (no pressure)",
        # Its binary and libraries private copies (LD_LIBRARY_PATH), the loader the machine's.
        "rss_kib": memory["Rss"], "anonymous_kib": memory["Anonymous"], "pss_kib": memory.get("Pss"),
        "shared_clean_kib": memory.get("Shared_Clean"), "private_clean_kib": memory.get("Private_Clean"),
        "peak_rss_kib": peak,
        # After the start-up pages are given back, what the steady ticks fault in again.
        "page_faults_steady": {"minor": end_faults[0] - steady_faults[0], "major": end_faults[1] - steady_faults[1]},
        "cpu_seconds_total": round(end_cpu, 3),
        "cpu_percent_with_startup": round(100 * end_cpu / (end_at - started), 4),
        "cpu_seconds_steady": round(steady_cpu_s, 4),
        # user and kernel time apart (10 ms ticks): callgrind counts only the user part.
        "cpu_seconds_steady_user": round(end_split[0] - steady_split[0], 2),
        "cpu_seconds_steady_system": round(end_split[1] - steady_split[1], 2),
        "cpu_percent_steady": round(100 * steady_cpu_s / window, 4),
        "cpu_ms_per_tick_steady": round(1000 * steady_cpu_s / ticks, 4),
        "wakeups_per_second_steady": round(sum(wakeups.values()), 2),
        "wakeups_per_second_by_thread": wakeups,
        "floor_cpu_ms_per_tick_steady": round(1000 * floor_cpu_s / ticks, 4),
        "floor_wakeups_per_second_steady": round(sum(floor_wakeups.values()), 2),
        "floor_output": floor_output.strip(),
        "interval_5s_cpu_percent_steady": round(100 * default_cpu_s / window, 4),
        "interval_5s_cpu_ms_per_tick_steady": round(1000 * default_cpu_s / (window / 5), 4),
        "interval_5s_wakeups_per_second_steady": round(sum(default_wakeups.values()), 3),
        "interval_5s_wakeups_per_second_by_thread": default_wakeups,
        "floor_5s_cpu_ms_per_tick_steady": round(1000 * default_floor_cpu_s / (window / 5), 4),
        "floor_5s_wakeups_per_second_steady": round(sum(default_floor_wakeups.values()), 3),
        "sigterm_exit_code": code, "sigterm_exit_seconds": round(exit_seconds, 2),
        "requests_whole_run": verb_counts(requests),
        "requests_steady_window": window_counts,
        "requests_per_hour_steady": {k: round(v * 3600 / window, 1) for k, v in window_counts.items()},
        "transitions": [f"{e.get('from')}->{e.get('to')}" for e in log if e.get("msg") == "transition"],
    }


# -- instructions per cycle (callgrind) -------------------------------------------------------------

def callgrind_instructions(binary: str, args: list[str], out: Path, *, env: dict,
                           stop_after_ticks: int | None = None, timeout: float = 120) -> tuple[int, int]:
    """Runs BINARY ARGS under callgrind; returns (instructions executed, ticks logged). With
    `stop_after_ticks`, sends SIGTERM once that many `sample` log lines have appeared."""
    log_path = out.with_suffix(".log")
    agent = Agent(binary, *args[1:], command=args[0], log_path=log_path, env=env,
                  prefix=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    deadline = time.monotonic() + timeout
    try:
        if stop_after_ticks is not None:
            while sum(1 for e in agent.log_lines() if e.get("msg") == "sample") < stop_after_ticks:
                if not agent.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"callgrind run {args[:2]} did not reach {stop_after_ticks} ticks; see {log_path}")
                time.sleep(0.1)
            agent.terminate(timeout=max(1, deadline - time.monotonic()))
        else:
            agent.process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        agent.kill()
    ticks = sum(1 for e in agent.log_lines() if e.get("msg") == "sample")
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1]), ticks
    raise RuntimeError(f"no instruction total in {out}")


def callgrind(binary: str, work: Path, few: int, many: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    # Valgrind 3.19 gives up on the DWARF 5 debug info Swift writes; the same code without it
    # (symbols kept) runs the same instructions.
    stripped = work / "autotaint"
    subprocess.run(["strip", "--strip-debug", "-o", str(stripped), binary], check=True, timeout=60)
    binary = str(stripped)
    config = work / "config.yaml"
    config.write_text("sampling: {interval: 1s, source: proc}\n" + NEVER_PRESSURE_YAML)
    environment = agent_environment()
    figures = {"method": f"instructions(N={many}) - instructions(N={few}), divided by the ticks between"}

    # `sample --count N`: the sampler, the hysteresis and one printed line per tick.
    counted = {}
    for count in (few, many):
        counted[count], _ = callgrind_instructions(
            binary, ["sample", "--config", str(config), "--count", str(count)],
            work / f"sample-{count}.callgrind", env=environment)
    figures["sample_instructions"] = {str(k): v for k, v in counted.items()}
    figures["sample_instructions_per_cycle"] = round((counted[many] - counted[few]) / (many - few))

    # `run --dry-run` against the fake: the agent's own tick (sampler, hysteresis, metrics for
    # /metrics, the view sent to NodeSync and its comparison with the Node), plus the `sample`
    # log line a dry run writes at info level (a real run logs it at debug, i.e. not at all).
    fake = FakeAPI(work / "fakeapi", ["node-1"])
    try:
        env = dict(environment, AUTOTAINT_SERVER_ADDRESS=f"127.0.0.1:{free_port()}")
        runs = {}
        for count in (few, many):
            runs[count] = callgrind_instructions(
                binary, ["run", "--dry-run", "--config", str(config), "--kubeconfig", fake.kubeconfig,
                         "--node", "node-1"], work / f"run-{count}.callgrind", env=env, stop_after_ticks=count)
    finally:
        fake.stop()
    (few_ir, few_ticks), (many_ir, many_ticks) = runs[few], runs[many]
    figures["run_dry_instructions"] = {str(k): {"instructions": v[0], "ticks": v[1]} for k, v in runs.items()}
    figures["run_dry_instructions_per_tick"] = round((many_ir - few_ir) / max(1, many_ticks - few_ticks))
    return figures


# -- reaction latency ---------------------------------------------------------------------------

LATENCY_CONFIG = {"interval": 1.0, "for": 5.0, "recoverFor": 5.0, "minHold": 1.0, "high": 80, "low": 50}
# What each timed signal needs: its thresholds, the stress-ng loops that cross its highPercent
# at once, its taint and condition. `high` is also the machine's busy share above which a
# cycle counts as disturbed (not starting from a quiet machine).
LATENCY_SIGNALS = {
    "cpu": {"high": 80, "low": 50, "loops": os.cpu_count(), "taint": "autotaint.dev/cpu-pressure",
            "condition": "CPUPressure", "others": ""},
    "cpuContention": {"high": 40, "low": 20, "loops": 2 * (os.cpu_count() or 1), "taint": "autotaint.dev/cpu-contention",
                      "condition": "CPUContention", "others": "  cpu: {enabled: false}\n"},
}


def poll_until(predicate, timeout: float, period: float = 0.1):
    """Calls `predicate` every `period` s (a fixed cadence) until it is truthy; returns
    (the monotonic time of that call's start, value), or (None, None) after `timeout`."""
    deadline = time.monotonic() + timeout
    tick = time.monotonic()
    while tick < deadline:
        at = time.monotonic()
        value = predicate()
        if value:
            return at, value
        tick += period
        time.sleep(max(0.0, tick - time.monotonic()))
    return None, None


def latency(binary: str, work: Path, repetitions: int, budget: float = 80, signal_name: str = "cpu") -> dict:
    """`repetitions` load cycles of `signal_name`, but none begun after `budget` seconds (a
    busy machine makes cycles long: the agent leaves pressure only once usage is down to
    lowPercent). A cycle whose taint outlasts the 30 s wait has no leave figure; the next one
    waits for `normal`."""
    timed = LATENCY_SIGNALS[signal_name]
    c = {**LATENCY_CONFIG, "high": timed["high"], "low": timed["low"]}
    work.mkdir(parents=True, exist_ok=True)
    config = work / "config.yaml"
    config.write_text(f"sampling: {{interval: {c['interval']:g}s, source: proc}}\n"
                      f"signals:\n{timed['others']}  {signal_name}: {{enabled: true, highPercent: {c['high']}, "
                      f"lowPercent: {c['low']}, for: {c['for']:g}s, recoverFor: {c['recoverFor']:g}s, "
                      f"minHold: {c['minHold']:g}s}}\n"
                      "server: {address: \"\"}\n")
    own = lambda node: own_taints(node, timed["taint"])
    settled = lambda: state(agent, signal_name) == "normal"
    fake = FakeAPI(work / "fakeapi", ["node-1"])
    agent, load = None, None
    cycles = []
    try:
        agent = Agent(binary, "--config", str(config), "--kubeconfig", fake.kubeconfig, "--node", "node-1",
                      log_path=work / "agent.log")
        part_began = time.monotonic()
        for repetition in range(repetitions):
            if cycles and time.monotonic() - part_began > budget:
                break
            # Start from `normal` (the condition reported, no taint, the last transition logged
            # to normal), then 2 s of this machine's own load.
            settle = 30 if cycles else 60
            at, _ = poll_until(lambda: (n := fake.node("node-1")) and not own(n) and condition(n, timed["condition"])
                               and settled(), timeout=settle)
            if at is None and cycles:
                break  # what was timed stands
            if at is None:
                raise RuntimeError(f"the agent did not settle in `normal` within {settle} s "
                                   f"(it is {state(agent, signal_name)}): "
                                   "machine busy?")
            # 2 s and a random part of an interval: the settle poll returns just after a tick,
            # and the load must start at any point of the agent's interval, not always just after.
            before = MachineLoad()
            time.sleep(2 + random.uniform(0, c["interval"]))
            idle_load = before.stop()["machine_busy_percent"]
            # Already on the way up (the machine busy by itself): the cycle would not time a crossing.
            enter_disturbed = idle_load >= c["high"] or not settled()
            seen = len(transitions(agent, signal_name))
            began = time.monotonic()
            load = start(["stress-ng", "--cpu", str(timed["loops"]), "--timeout", "60s", "--quiet"],
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            tainted_at, _ = poll_until(lambda: own(fake.node("node-1")), timeout=30)
            end, end_wall = time.monotonic(), time.time()
            os.killpg(load.pid, signal.SIGTERM)
            load.wait(timeout=10)
            load = None
            if tainted_at is None:
                raise RuntimeError("no taint within 30 s of stress-ng's start")
            entering = transitions(agent, signal_name)[seen:]
            seen += len(entering)
            after = MachineLoad()
            cleared_at, _ = poll_until(lambda: not own(fake.node("node-1")), timeout=30)
            busy_after = after.stop()["machine_busy_percent"]
            leaving_timed = timed_transitions(agent, signal_name)[seen:]
            leaving = [move for move, _ in leaving_timed]
            # Usage at or below lowPercent from the second tick after the load at the latest
            # (the first may still hold some of it); later, the machine's own load held it up.
            down_at = next((at for move, at in leaving_timed if move == "pressure->pending-low"), None)
            held_up = down_at is None or down_at - end_wall > 2 * c["interval"] + 0.5
            # The way up or down interrupted (pending-high → normal, pending-low → pressure), or
            # usage held above lowPercent after the load: the machine's own load timed the cycle,
            # not the agent.
            cycles.append({"enter_seconds": round(tainted_at - began, 2),
                           "enter_disturbed": enter_disturbed or "pending-high->normal" in entering,
                           "leave_seconds": round(cleared_at - end, 2) if cleared_at else None,
                           "leave_disturbed": cleared_at is None or held_up or "pending-low->pressure" in leaving,
                           "transitions": entering + leaving,
                           "machine_busy_percent_before": idle_load, "machine_busy_percent_leaving": busy_after})
            if not agent.alive():
                raise RuntimeError(f"agent exited with {agent.process.returncode}")
    finally:
        if load is not None and load.poll() is None:
            os.killpg(load.pid, signal.SIGKILL)
            load.wait(timeout=10)
        if agent:
            agent.terminate(timeout=10)
            agent.kill()
        fake.stop()
    enters = [x["enter_seconds"] for x in cycles if not x["enter_disturbed"]]
    leaves = [x["leave_seconds"] for x in cycles if x["leave_seconds"] is not None and not x["leave_disturbed"]]
    figures = {
        "signal": signal_name, "config": c, "stress": f"stress-ng --cpu {timed['loops']}", "poll_seconds": 0.1,
        "cycles": cycles,
        "enter_target_seconds": c["for"] + c["interval"] + 1, "leave_target_seconds": c["recoverFor"] + c["interval"] + 1,
    }

    def summary(kind: str, timed: list[float], busy: str, why: str) -> None:
        if timed:
            figures[f"{kind}_median_seconds"] = round(statistics.median(timed), 2)
            figures[f"{kind}_max_seconds"] = max(timed)
            figures[f"{kind}_cycles"] = len(timed)
        else:
            figures[f"{kind}_error"] = f"{why} (machine {max(x[busy] for x in cycles):.0f} % busy)"
    summary("enter", enters, "machine_busy_percent_before",
            f"the machine was at highPercent ({c['high']} %) before the load: no crossing to time")
    summary("leave", leaves, "machine_busy_percent_leaving",
            f"the machine's own load kept usage above lowPercent ({c['low']} %) after the load: "
            "the agent rightly kept its taint")
    return figures


def transitions(agent: Agent, signal_name: str = "cpu") -> list[str]:
    """The signal's state changes the agent logged, as `from->to`."""
    return [move for move, _ in timed_transitions(agent, signal_name)]


def timed_transitions(agent: Agent, signal_name: str = "cpu") -> list[tuple[str, float]]:
    """The signal's state changes the agent logged: (`from->to`, Unix time)."""
    return [(f"{e['from']}->{e['to']}", datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp())
            for e in agent.log_lines() if e.get("msg") == "transition" and e.get("signal") == signal_name]


def state(agent: Agent, signal_name: str = "cpu") -> str:
    """The signal's hysteresis state after the last transition the agent logged."""
    moves = transitions(agent, signal_name)
    return moves[-1].split("->")[1] if moves else "normal"


# -- cost at scale -----------------------------------------------------------------------------------

def scale(binary: str, work: Path, agents_count: int, seconds: float, steady_from: float,
          heartbeat: float = 60) -> dict:
    """Requests at the server in the steady window [steady_from, steady_from + heartbeat): the
    agents started together, so a window of a whole heartbeat period holds one heartbeat of each
    (a longer one that is not a multiple of it would over- or under-count them)."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "config.yaml"
    config.write_text(f"sampling: {{interval: 1s, source: proc}}\nheartbeat: {heartbeat:g}s\nserver: {{address: \"\"}}\n"
                      + NEVER_PRESSURE_YAML)
    nodes = [f"bench-node-{i:03d}" for i in range(agents_count)]
    fake = FakeAPI(work / "fakeapi", nodes)
    agents = []
    try:
        fake_cpu_start = fake.cpu_seconds()
        started, started_wall = time.monotonic(), time.time()
        for node in nodes:
            agents.append(Agent(binary, "--config", str(config), "--kubeconfig", fake.kubeconfig, "--node", node,
                                log_path=work / f"{node}.log"))
        spawn_seconds = time.monotonic() - started
        sleep_until(started + steady_from, agents)
        steady_at, steady_wall, fake_cpu_steady = time.monotonic(), time.time(), fake.cpu_seconds()
        agents_cpu_steady = sum(cpu_seconds(a.pid) for a in agents)
        sleep_until(steady_at + heartbeat, agents)
        end_at, end_wall, fake_cpu_end = time.monotonic(), time.time(), fake.cpu_seconds()
        agents_cpu_end = sum(cpu_seconds(a.pid) for a in agents)
        sleep_until(started + seconds, agents)
        finished_at, finished_wall = time.monotonic(), time.time()
        memory = [smaps_rollup(a.pid) for a in agents]
        for agent in agents:
            agent.process.send_signal(signal.SIGTERM)
        for agent in agents:
            try:
                agent.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        requests = fake.requests()
    finally:
        for agent in agents:
            agent.kill()
        fake.stop()
    window = end_at - steady_at
    whole = finished_at - started
    steady_counts = verb_counts(requests, since=steady_wall, until=end_wall)
    whole_counts = verb_counts(requests, since=started_wall, until=finished_wall)
    startup_counts = verb_counts(requests, since=started_wall, until=steady_wall)
    per_node = 5000 / agents_count
    steady_rates = {k: v / window for k, v in steady_counts.items()}
    # The run's heartbeat is short so that heartbeats happen inside the window; the default is 5m.
    default_rates = {k: v * heartbeat / 300 if k == "PATCH node/status" else v for k, v in steady_rates.items()}
    durations = [r["duration"] for r in requests if r.get("duration") is not None
                 and r.get("params", {}).get("watch") not in ("true", "1")]
    return {
        "agents": agents_count, "heartbeat_seconds": heartbeat, "seconds": round(whole, 1), "steady_from_seconds": steady_from, "steady_window_seconds": round(window, 1),
        "spawn_seconds": round(spawn_seconds, 2),
        "config": f"interval 1s, source proc, heartbeat {heartbeat:g}s, no /metrics, no pressure (highPercent 100, for 1h)",
        "requests_whole_run": whole_counts,
        "requests_startup_per_agent": {k: round(v / agents_count, 2) for k, v in startup_counts.items()},
        "requests_per_second_whole_run": round(sum(whole_counts.values()) / whole, 3),
        "requests_steady_window": steady_counts,
        "requests_per_second_steady": round(sum(steady_counts.values()) / window, 3),
        "requests_per_second_steady_by_verb": {k: round(v, 4) for k, v in steady_rates.items()},
        "per_5000_nodes_per_second_steady": round(sum(steady_rates.values()) * per_node, 2),
        "per_5000_nodes_per_second_steady_by_verb": {k: round(v * per_node, 2) for k, v in steady_rates.items()},
        "per_5000_nodes_per_second_default_heartbeat": round(sum(default_rates.values()) * per_node, 2),
        "per_5000_nodes_per_second_whole_run": round(sum(whole_counts.values()) / whole * per_node, 2),
        "fake_server_cpu_percent_startup": round(100 * (fake_cpu_steady - fake_cpu_start) / (steady_at - started), 1),
        "fake_server_cpu_percent_steady": round(100 * (fake_cpu_end - fake_cpu_steady) / window, 1),
        "fake_server_request_seconds_max": round(max(durations), 3) if durations else None,
        "fake_server_request_seconds_median": round(statistics.median(durations), 4) if durations else None,
        "agents_cpu_percent_steady_total": round(100 * (agents_cpu_end - agents_cpu_steady) / window, 2),
        "agents_rss_kib_total": sum(m["Rss"] for m in memory),
        "agents_pss_kib_total": sum(m.get("Pss", 0) for m in memory),
        "agents_anonymous_kib_total": sum(m["Anonymous"] for m in memory),
    }


# -- the table ---------------------------------------------------------------------------------------

def verdict(value, limit) -> str:
    return "pass" if value <= limit else "OVER"


def rows(parts: dict) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, pass/OVER/info/not measured) for every figure."""
    out = []

    def failed(name, what):
        out.append((what, "—", "", f"not measured: {parts[name]['error']}"))

    f = parts.get("footprint", {})
    if "error" in f:
        failed("footprint", "footprint (120 s, interval 1s, fake API)")
    elif f:
        out += [
            (f"RSS after {f['seconds']:.0f} s (smaps_rollup)", f"{f['rss_kib'] / MIB:.1f} MiB", "≤ 20 MiB",
             verdict(f["rss_kib"], 20 * MIB)),
            ("  of it anonymous", f"{f['anonymous_kib'] / MIB:.2f} MiB", "≤ 4 MiB", verdict(f["anonymous_kib"], 4 * MIB)),
            ("  peak RSS (VmHWM)", f"{f['peak_rss_kib'] / MIB:.1f} MiB", "", "info"),
            ("  page faults in the steady window, minor / major",
             f"{f['page_faults_steady']['minor']} / {f['page_faults_steady']['major']}", "", "info"),
            (f"CPU, steady ({f['seconds'] - f['steady_window_seconds']:.0f}–{f['seconds']:.0f} s)",
             f"{f['cpu_percent_steady']:.3f} % of a core", "≤ 0.02 %", verdict(f["cpu_percent_steady"], 0.02)),
            (f"CPU, start-up included (0–{f['seconds']:.0f} s)", f"{f['cpu_percent_with_startup']:.3f} % of a core",
             "", "info"),
            ("CPU time per tick (steady, all threads)", f"{f['cpu_ms_per_tick_steady']:.3f} ms", "≤ 0.2 ms",
             verdict(f["cpu_ms_per_tick_steady"], 0.2)),
            ("thread wake-ups/s (steady, all threads)", f"{f['wakeups_per_second_steady']:.1f}", "≤ 3",
             verdict(f["wakeups_per_second_steady"], 3)),
        ]
        out += [(f"  {thread}", f"{rate:.2f}/s", "", "info")
                for thread, rate in f["wakeups_per_second_by_thread"].items() if rate > 0]
        out += floor_rows("1s", f["cpu_ms_per_tick_steady"], f["floor_cpu_ms_per_tick_steady"],
                          f["wakeups_per_second_steady"], f["floor_wakeups_per_second_steady"], ratio=3, wakeups_limit=1.5)
        out += [
            ("CPU at the default interval, 5s (steady, same window)",
             f"{f['interval_5s_cpu_percent_steady']:.4f} % of a core", "≤ 0.008 %",
             verdict(f["interval_5s_cpu_percent_steady"], 0.008)),
        ]
        out += floor_rows("5s", f["interval_5s_cpu_ms_per_tick_steady"], f["floor_5s_cpu_ms_per_tick_steady"],
                          f["interval_5s_wakeups_per_second_steady"], f["floor_5s_wakeups_per_second_steady"],
                          ratio=4, wakeups_limit=0.4)
        out += [
            ("SIGTERM to exit", f"{f['sigterm_exit_seconds']:.2f} s (exit {f['sigterm_exit_code']})", "≤ 5 s",
             verdict(f["sigterm_exit_seconds"], 5) if f["sigterm_exit_code"] == 0 else "OVER"),
        ]
        window = f["requests_steady_window"]
        writes = {k: v for k, v in window.items() if not k.startswith(("GET", "WATCH"))}
        heartbeats = writes.pop("PATCH node/status", 0)
        allowed = f["steady_window_seconds"] / 300 + 1  # one per heartbeat (5m), +1 for the phase
        per_hour = ", ".join(f"{k} {v:g}" for k, v in f["requests_per_hour_steady"].items()) or "none"
        judged = "pass" if not writes and heartbeats <= allowed else "OVER"
        if judged == "OVER" and f["transitions"]:  # the machine at 100 % for a whole tick
            judged = f"disturbed: {len(f['transitions'])} transitions"
        out.append((f"API requests/h, steady ({f['steady_window_seconds']:.0f} s window, ×{3600 / f['steady_window_seconds']:.0f})",
                    per_hour, "heartbeats only (12/h at 5m)", judged))
    b = parts.get("bignode", {})
    if "error" in b:
        failed("bignode", "2 and 192 CPUs (generated /proc)")
    elif b:
        out += bignode_rows(b)
    c = parts.get("callgrind", {})
    if "error" in c:
        failed("callgrind", "instructions per sample+decide (callgrind)")
    elif c:
        out += [
            ("instructions per cycle, `sample` (callgrind)", f"{c['sample_instructions_per_cycle'] / 1000:.0f} k", "", "info"),
            ("instructions per tick, `run --dry-run` (callgrind)", f"{c['run_dry_instructions_per_tick'] / 1000:.0f} k",
             "", "info"),
        ]
    for part, signal_name in (("latency", "cpu"), ("contention-latency", "cpuContention")):
        out += latency_rows(parts.get(part, {}), signal_name)
    s = parts.get("scale", {})
    if "error" in s:
        failed("scale", "50 agents against one API server")
    elif s:
        by_verb = ", ".join(f"{k} {v:g}" for k, v in s["per_5000_nodes_per_second_steady_by_verb"].items()) or "none"
        out += [
            (f"{s['agents']} agents: requests/s at the server, steady ({s['steady_window_seconds']:.0f} s)",
             f"{s['requests_per_second_steady']:.3f}/s", "", "info"),
            (f"  per 5,000 nodes, heartbeat {s['heartbeat_seconds']:g}s as run", f"{s['per_5000_nodes_per_second_steady']:.1f}/s ({by_verb})", "", "info"),
            ("  per 5,000 nodes, default heartbeat 5m", f"{s['per_5000_nodes_per_second_default_heartbeat']:.1f}/s",
             "heartbeats only", heartbeats_only(s)),
            (f"  start-up (first {s['steady_from_seconds']:g} s), per agent",
             ", ".join(f"{k} {v:g}" for k, v in s["requests_startup_per_agent"].items()), "", "info"),
            ("  fake API server CPU, start-up / steady", f"{s['fake_server_cpu_percent_startup']:.0f} % / "
             f"{s['fake_server_cpu_percent_steady']:.1f} % of a core", "", "info"),
            (f"  {s['agents']} agents' memory: RSS / PSS / anonymous",
             f"{s['agents_rss_kib_total'] / MIB:.0f} / {s['agents_pss_kib_total'] / MIB:.0f} / "
             f"{s['agents_anonymous_kib_total'] / MIB:.0f} MiB", "", "info"),
        ]
    fl = parts.get("fleet", {})
    if "error" in fl:
        failed("fleet", "fleet guard, 20 agents all in pressure")
    elif fl:
        out += fleet_rows(fl)
    return out


def floor_rows(interval: str, cpu_ms: float, floor_cpu_ms: float, wakeups: float, floor_wakeups: float, *,
               ratio: float, wakeups_limit: float) -> list[tuple[str, str, str, str]]:
    """The agent against the floor (bench/floor.c) at one interval, in the same window."""
    return [
        (f"  {interval}: agent / floor CPU per tick", f"{cpu_ms * 1000:.0f} / {floor_cpu_ms * 1000:.0f} µs"
         + (f" ({cpu_ms / floor_cpu_ms:.1f}×)" if floor_cpu_ms > 0 else ""), f"≤ {ratio:g}× the floor",
         verdict(cpu_ms / floor_cpu_ms, ratio) if floor_cpu_ms > 0 else "not measured: the floor too small"),
        (f"  {interval}: agent / floor wake-ups/s", f"{wakeups:.2f} / {floor_wakeups:.2f}", f"≤ {wakeups_limit:g}",
         verdict(wakeups, wakeups_limit)),
    ]


def latency_rows(lat: dict, signal_name: str) -> list[tuple[str, str, str, str]]:
    """The enter and leave rows of one signal's latency part (none when it did not run)."""
    if "error" in lat:
        return [(f"reaction latency, {signal_name} (stress-ng)", "—", "", f"not measured: {lat['error']}")]
    out = []
    for kind, what, rule in (("enter", "taint after load start", "for+interval+1s"),
                             ("leave", "taint gone after load end", "recoverFor+interval+1s")) if lat else ():
        what = f"{signal_name}: {what}"
        target = f"≤ {lat[kind + '_target_seconds']:g} s ({rule})"
        if kind + "_error" in lat:
            out.append((what, "—", target, f"not measured: {lat[kind + '_error']}"))
        else:
            out.append((f"{what} (median / max of {lat[kind + '_cycles']})",
                        f"{lat[kind + '_median_seconds']:.2f} / {lat[kind + '_max_seconds']:.2f} s", target,
                        verdict(lat[kind + "_max_seconds"], lat[kind + "_target_seconds"])))
    return out


def heartbeats_only(s: dict) -> str:
    """pass when the scale run's steady window held status PATCHes only, one per agent per
    heartbeat period at the most (+1 each for the phase)."""
    steady = s["requests_steady_window"]
    allowed = s["agents"] * (s["steady_window_seconds"] / s["heartbeat_seconds"] + 1)
    return "pass" if set(steady) <= {"PATCH node/status"} and steady.get("PATCH node/status", 0) <= allowed else "OVER"


def print_table(table: list[tuple[str, str, str, str]]) -> None:
    headers = ("figure", "measured", "target", "")
    widths = [max(len(r[i]) for r in [headers, *table]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print(line)
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def machine(binary: str) -> dict:
    def command(*args):
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=20, cwd=REPO).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), None)
    memory = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), None)
    return {
        "nproc": os.cpu_count(), "cpu_model": model, "memory_mib": memory // 1024 if memory else None,
        "kernel": platform.release(), "python": platform.python_version(),
        "binary": binary, "binary_bytes": os.path.getsize(binary),
        "binary_version": command(binary, "--version"),
        "git_commit": command("git", "rev-parse", "HEAD"),
        "git_dirty": bool(command("git", "status", "--porcelain", "--untracked-files=no")),
        "valgrind": command("valgrind", "--version"), "stress_ng": command("stress-ng", "--version"),
    }


# Parts in the same stage run at the same time, to keep the whole bench within its budget:
# the scale run and the fleet, which count requests. The footprint and bignode, which
# divide CPU time by a floor's, run alone: beside 50 agents waking every second (which keep
# the CPUs out of deep idle) the floor's wake-ups were cheaper (37-51 µs a tick, 58-66
# without). The latency (timed under stress-ng) and callgrind (a core's worth of valgrind) run alone too.
STAGES = [["footprint"], ["bignode"], ["latency"], ["contention-latency"], ["fleet", "scale"], ["callgrind"]]


def run_part(name: str, part, work: Path, parts: dict) -> None:
    print(f"bench: {name} …", file=sys.stderr, flush=True)
    began, load = time.monotonic(), MachineLoad()
    try:
        figures = part(work / name)
    except Exception as error:  # reported as `not measured`, and the exit code says so
        figures = {"error": f"{type(error).__name__}: {error}"}
    figures.update(load.stop(), wall_seconds=round(time.monotonic() - began, 1))
    parts[name] = figures
    print(f"bench: {name} done in {figures['wall_seconds']:.0f} s (machine {figures['machine_busy_percent']:.0f} % busy)",
          file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--out", default=str(REPO / "bench/results.json"))
    parser.add_argument("--quick", action="store_true", help="short runs, for developing the bench itself")
    parser.add_argument("--only", action="append",
                        choices=["footprint", "bignode", "callgrind", "latency", "contention-latency", "scale", "fleet"])
    args = parser.parse_args()
    for tool in ("valgrind", "stress-ng", "strip"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing (make bench installs it)")
    binary = str(Path(args.binary).resolve())
    quick = args.quick
    plan = {
        "footprint": lambda w: footprint(binary, w, seconds=30 if quick else 120, steady_from=10 if quick else 20),
        "callgrind": lambda w: callgrind(binary, w, few=2, many=5 if quick else 12),
        "latency": lambda w: latency(binary, w, repetitions=1 if quick else 3),
        "contention-latency": lambda w: latency(binary, w, repetitions=1 if quick else 3, signal_name="cpuContention"),
        "scale": lambda w: scale(binary, w, agents_count=5 if quick else 50, seconds=30 if quick else 120,
                                 steady_from=10 if quick else 30, heartbeat=60),
        "fleet": lambda w: fleet_part(binary, w, seconds=20 if quick else 60),
        "bignode": lambda w: bignode(binary, build_floor(w), build_floor(w, libproc2=True), w,
                                     seconds=30 if quick else 120,
                                     steady_from=10 if quick else 20),
    }
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # through the `finally` below
    work = Path(tempfile.mkdtemp(prefix="autotaint-bench."))
    began, began_wall = time.monotonic(), time.time()
    results = {"machine": machine(binary), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began_wall)),
               "quick": quick, "parts": {}}
    try:
        for stage in STAGES:
            stage = [name for name in stage if not args.only or name in args.only]
            threads = [threading.Thread(target=run_part, args=(name, plan[name], work, results["parts"]), daemon=True)
                       for name in stage]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        kill_all()  # nothing is left after a part; this is for an interrupted bench
        results["wall_seconds"] = round(time.monotonic() - began, 1)
        table = rows(results["parts"])
        results["table"] = [dict(zip(("figure", "measured", "target", "verdict"), r)) for r in table]
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
        shutil.rmtree(work, ignore_errors=True)
    m = results["machine"]
    print(f"\nautotaint {m['binary_version']} ({m['git_commit'][:12] if m['git_commit'] else '?'}"
          f"{', dirty' if m['git_dirty'] else ''}), binary {m['binary_bytes'] / 1e6:.1f} MB; "
          f"{m['nproc']} × {m['cpu_model']}, {m['memory_mib']} MiB, Linux {m['kernel']}")
    busy = ", ".join(f"{k} {v['machine_busy_percent']:.0f} %" for k, v in results["parts"].items())
    print(f"machine busy during the parts (all CPUs, the bench's own processes included): {busy}\n")
    print_table(table)
    print(f"\n{results['wall_seconds']:.0f} s; raw figures in {os.path.relpath(args.out)}")
    return 1 if any(r[3].startswith("not measured") for r in table) else 0


if __name__ == "__main__":
    sys.exit(main())
