"""The cpuContention signal (PSI `some` of /proc/pressure/cpu) with the real agent against the
fake API server and real load from stress-ng on this machine:

(a) two busy loops per core: every task waits, and the contention taint follows the stall;
(b) one loop per core: the node is busy but nothing waits, so `cpu` taints and
    `cpuContention` does not;
(c) a cgroup capped at 10 % of one CPU running a loop per core: CFS throttling shows as a
    high stall on an idle node, and the throttling gate keeps the taint off;
(d) a kernel without PSI (here: /proc/pressure hidden in a mount namespace): the signal is
    Unknown with why and how to fix it, and `cpu` goes on.

Every load is bounded (stress-ng --timeout, killed at the end); the cgroup is removed even
when a test fails. The figures each case measured are printed (`pytest -s` shows them).
"""
import os
import subprocess
import time
from pathlib import Path

import pytest

from agent_process import Agent, binary, clean_env
from node_view import condition, own_taints
from waiting import wait_until

CONTENTION = "autotaint.dev/cpu-contention"
CPU = "autotaint.dev/cpu-pressure"
NPROC = os.cpu_count() or 1
INTERVAL = 1.0
HOLD = 3.0  # the contention signal's `for`


def config(tmp_path, *, cpu_enabled):
    path = tmp_path / "config.yaml"
    path.write_text(f"""\
sampling: {{interval: {INTERVAL:g}s, source: proc}}
server: {{address: ""}}
signals:
  cpu: {{enabled: {str(cpu_enabled).lower()}, highPercent: 90, lowPercent: 50, for: 2s, recoverFor: 2s, minHold: 0s}}
  cpuContention: {{enabled: true, highPercent: 40, lowPercent: 20, minUsagePercent: 50, for: {HOLD:g}s, recoverFor: 2s, minHold: 0s}}
""")
    return str(path)


def stall_total():
    """The `some` total of /proc/pressure/cpu (µs) and the monotonic time of the read (s)."""
    text = Path("/proc/pressure/cpu").read_text()
    some = next(line for line in text.splitlines() if line.startswith("some "))
    return int(some.rsplit("total=", 1)[1]), time.monotonic()


def cpu_ticks():
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def measure(seconds):
    """The node's stall share and CPU usage over the next `seconds`, in percent, as read
    naively from /proc (no gate)."""
    stall0, at0 = stall_total()
    busy0, all0 = cpu_ticks()
    time.sleep(seconds)
    stall1, at1 = stall_total()
    busy1, all1 = cpu_ticks()
    return 100 * (stall1 - stall0) / ((at1 - at0) * 1e6), 100 * (busy1 - busy0) / max(1, all1 - all0)


class StallWatch:
    """Polls /proc/pressure/cpu every 100 ms; `crossed(percent)` is the first time the stall
    over the preceding second reached `percent`."""

    def __init__(self):
        self.readings = []

    def poll(self):
        self.readings.append(stall_total())

    def crossed(self, percent):
        for index, (total, at) in enumerate(self.readings):
            earlier = [r for r in self.readings[:index] if at - r[1] >= 1.0]
            if earlier and 100 * (total - earlier[-1][0]) / ((at - earlier[-1][1]) * 1e6) >= percent:
                return at
        return None


def stress(loops, seconds, preexec_fn=None):
    return subprocess.Popen(["stress-ng", "--cpu", str(loops), "--timeout", f"{seconds}s", "--quiet"],
                            preexec_fn=preexec_fn)


def stop(process):
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def wait_for_quiet(seconds=30):
    """Starts from a quiet machine: stall below 10 % over a second, within `seconds`."""
    wait_until(lambda: measure(1.0)[0] < 10, seconds, "a machine quiet enough to start from", poll=0)


def test_a_two_loops_per_core_bring_the_contention_taint_in_time(tmp_path, fake_api):
    api = fake_api
    wait_for_quiet()
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1",
               "--config", config(tmp_path, cpu_enabled=False)) as agent:
        wait_until(lambda: condition(api, "CPUContention"), 15, "the first CPUContention condition")
        watch = StallWatch()
        load = stress(2 * NPROC, 30)
        try:
            deadline = time.monotonic() + 20
            tainted_at = None
            while time.monotonic() < deadline and tainted_at is None:
                watch.poll()
                if own_taints(api, CONTENTION):
                    tainted_at = time.monotonic()
                time.sleep(0.1)
            assert tainted_at is not None, "no contention taint within 20 s of two loops per core"
            stall, usage = measure(2.0)
        finally:
            stop(load)
        crossed = watch.crossed(40)
        assert crossed is not None and crossed <= tainted_at
        reaction = tainted_at - crossed
        print(f"\n(a) stress-ng --cpu {2 * NPROC}: stall {stall:.1f} %, usage {usage:.1f} %; "
              f"taint {reaction:.2f} s after the stall crossed 40 % (bound {HOLD + INTERVAL + 1:g} s)")
        assert reaction <= HOLD + INTERVAL + 1
        assert stall >= 40 and usage >= 90
        message = condition(api, "CPUContention")["message"]
        assert condition(api, "CPUContention")["status"] == "True" and "CPU stall" in message, message
        wait_until(lambda: not own_taints(api, CONTENTION), 20, "the contention taint gone after the load")
        assert agent.terminate()[0] == 0


def test_b_one_loop_per_core_is_busy_not_contended(tmp_path, fake_api):
    api = fake_api
    wait_for_quiet()
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1",
               "--config", config(tmp_path, cpu_enabled=True)) as agent:
        wait_until(lambda: condition(api, "CPUContention"), 15, "the first CPUContention condition")
        load = stress(NPROC, 30)
        try:
            wait_until(lambda: own_taints(api, CPU), 15, "the cpu taint under one loop per core")
            stall, usage = measure(3.0)
            contention = [own_taints(api, CONTENTION) for _ in range(30) if not time.sleep(0.1)]
        finally:
            stop(load)
        print(f"\n(b) stress-ng --cpu {NPROC}: stall {stall:.1f} %, usage {usage:.1f} %")
        assert usage >= 90, usage
        assert not any(contention), "cpuContention tainted a node that was busy but not contended"
        assert not [e for e in agent.lines() if e.get("msg") == "transition" and e.get("signal") == "cpuContention"
                    and e.get("to") == "pressure"]
        assert agent.terminate()[0] == 0


class ThrottledCgroup:
    """A CPU cgroup this test makes, capped at `percent` of one CPU: cgroup v2 `cpu.max`
    where the cpu controller is on the unified hierarchy, else v1 `cpu.cfs_quota_us`."""

    PERIOD_US = 100_000

    def __init__(self, name, percent):
        quota = self.PERIOD_US * percent // 100
        unified = Path("/sys/fs/cgroup/cgroup.controllers")
        if unified.exists() and "cpu" in unified.read_text().split():
            self.path = Path("/sys/fs/cgroup") / name
            self.path.mkdir()
            (self.path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
            self.version = 2
        else:
            self.path = Path("/sys/fs/cgroup/cpu") / name
            self.path.mkdir()
            (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
            self.version = 1

    def join(self):
        """For preexec_fn: the child enters the cgroup before it execs."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self):
        deadline = time.monotonic() + 10
        while self.path.exists():
            try:
                self.path.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@pytest.fixture
def throttled_cgroup():
    if os.geteuid() != 0:
        pytest.skip("making a cgroup needs root")
    group = ThrottledCgroup(f"autotaint-e2e-{os.getpid()}", percent=10)
    try:
        yield group
    finally:
        group.remove()


def test_c_cfs_throttling_is_not_contention(tmp_path, fake_api, throttled_cgroup):
    api = fake_api
    wait_for_quiet()
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1",
               "--config", config(tmp_path, cpu_enabled=False)) as agent:
        wait_until(lambda: condition(api, "CPUContention"), 15, "the first CPUContention condition")
        load = stress(NPROC, 40, preexec_fn=throttled_cgroup.join)
        try:
            time.sleep(1)
            stall, usage = measure(3.0)
            print(f"\n(c) stress-ng --cpu {NPROC} in a cgroup (v{throttled_cgroup.version}) capped at 10 % of a CPU: "
                  f"naive stall {stall:.1f} %, usage {usage:.1f} %")
            assert stall > 50, f"the trap is not real here: naive stall {stall:.1f} %"
            assert usage < 50, usage
            named = wait_until(lambda: "CFS throttling, not contention" in condition(api, "CPUContention")["message"],
                               10, "the condition to name throttling")
            assert named
            seen = [own_taints(api, CONTENTION) for _ in range(int((HOLD + 4) / 0.2)) if not time.sleep(0.2)]
        finally:
            stop(load)
        reported = condition(api, "CPUContention")
        print(f"    condition: {reported['status']} {reported['reason']}: {reported['message']}")
        assert not any(seen), "the contention taint came from CFS throttling"
        assert reported["status"] == "False"
        assert agent.terminate()[0] == 0


def test_d_without_psi_the_signal_is_unknown_and_cpu_goes_on(tmp_path, fake_api):
    if os.geteuid() != 0:
        pytest.skip("hiding /proc/pressure needs a mount namespace (root)")
    api = fake_api
    # /proc/pressure hidden under an empty tmpfs in the agent's own mount namespace: what a
    # kernel without CONFIG_PSI, or booted with psi=0, shows.
    script = 'mount -t tmpfs none /proc/pressure && exec "$@"'
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", binary(), "run",
               "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", config(tmp_path, cpu_enabled=True)]
    log = tmp_path / "agent.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=clean_env())
    try:
        reported = wait_until(lambda: (condition(api, "CPUContention") or {}).get("status") == "Unknown"
                              and condition(api, "CPUContention"), 15, "CPUContention Unknown")
        print(f"\n(d) no PSI: {reported['reason']}: {reported['message']}")
        assert reported["reason"] == "CPUContentionUnknown"
        assert "no_psi" in reported["message"] and "CONFIG_PSI" in reported["message"] and "psi=1" in reported["message"]
        wait_until(lambda: (condition(api, "CPUPressure") or {}).get("status") == "False", 10, "CPUPressure still reported")
        assert process.poll() is None, log.read_text()
        checked = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                                  binary(), "check-config", config(tmp_path, cpu_enabled=True)],
                                 capture_output=True, text=True, timeout=30, env=clean_env())
        assert checked.returncode == 0, checked.stderr
        assert "warning: signals.cpuContention:" in checked.stderr and "psi=1" in checked.stderr
    finally:
        process.terminate()
        process.wait(timeout=10)
