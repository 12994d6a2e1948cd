"""Generated /proc/stat, /proc/pressure/cpu and /proc/meminfo for a node of any CPU count,
bind-mounted over /proc's in a private mount namespace (`unshare -m`) under the process
measured, so the agent and the floor read a 192-CPU node on a 2-CPU machine.

The files have the shape of a real kernel's (fs/proc/stat.c: the aggregate and one line per
CPU with ten counters, intr, ctxt, btime, processes, procs_running, procs_blocked, softirq;
kernel/sched/psi.c; fs/proc/meminfo.c) and a writer thread advances their counters once a
second. A bind mount pins the inode, so the writer rewrites each file in place: every
counter starts with as many digits as it will ever have in a bench, which keeps each file's
length and each number's place constant, so a reader never sees a shorter file or a shifted
line.
"""
import os
import shlex
import threading
import time
from pathlib import Path

USER_HZ = 100
# Each CPU's ticks a second, as user, system and idle: a node 10 % busy (no pressure).
SHARE = {"user": 7, "system": 3, "idle": 90}
START = 1_000_000_000  # ten digits; a bench adds at most a few 10^5 to any counter
# x86 sizes nr_irqs as the legacy and GSI interrupts plus 8 per CPU; this 2-CPU machine's
# intr line has 426 columns.
IRQ_COLUMNS_BESIDES_PER_CPU = 410
MEMINFO_KIB = [
    ("MemTotal", 792_000_000), ("MemFree", 500_000_000), ("MemAvailable", 700_000_000),
    ("Buffers", 1_000_000), ("Cached", 150_000_000), ("SwapCached", 0), ("Active", 200_000_000),
    ("Inactive", 50_000_000), ("Shmem", 2_000_000), ("Slab", 8_000_000), ("SwapTotal", 0),
    ("SwapFree", 0), ("Dirty", 1_000), ("Writeback", 0), ("AnonPages", 90_000_000),
    ("Mapped", 3_000_000), ("KernelStack", 100_000), ("PageTables", 500_000),
    ("CommitLimit", 396_000_000), ("Committed_AS", 120_000_000), ("VmallocTotal", 34_359_738_367),
    ("HugePages_Total", 0), ("HugePages_Free", 0), ("Hugepagesize", 2048),
]


def cpu_line(label: str, seconds: int, cpus: int) -> str:
    def ticks(kind: str) -> int:
        return cpus * (START + SHARE[kind] * seconds)
    # user nice system idle iowait irq softirq steal guest guest_nice
    fields = [ticks("user"), 0, ticks("system"), ticks("idle"), cpus * START, 0, cpus * START, 0, 0, 0]
    return f"{label} " + " ".join(str(f) for f in fields)


def stat_text(cpus: int, seconds: int) -> str:
    irqs = IRQ_COLUMNS_BESIDES_PER_CPU + 8 * cpus
    interrupts = START + 1000 * seconds
    lines = [cpu_line("cpu ", seconds, cpus)]
    lines += [cpu_line(f"cpu{i}", seconds, 1) for i in range(cpus)]
    lines += [
        f"intr {interrupts} {START} {START + seconds} " + " ".join("0" for _ in range(irqs - 2)),
        f"ctxt {START + 5000 * seconds}",
        "btime 1764900000",
        f"processes {START + seconds}",
        "procs_running 3",
        "procs_blocked 0",
        f"softirq {START + 10 * seconds} " + " ".join(str(START + seconds) for _ in range(10)),
    ]
    return "\n".join(lines) + "\n"


def pressure_text(seconds: int) -> str:
    return (f"some avg10=0.00 avg60=0.00 avg300=0.00 total={START + 1000 * seconds}\n"
            f"full avg10=0.00 avg60=0.00 avg300=0.00 total={START}\n")


def meminfo_text() -> str:
    return "".join(f"{name + ':':16}{value:>12} kB\n" if name != "HugePages_Total" and name != "HugePages_Free"
                   else f"{name + ':':16}{value:>12}\n" for name, value in MEMINFO_KIB)


class FakeProc:
    """The three files for `cpus` CPUs under `directory`, advanced once a second for at most
    `limit` seconds, and the command prefix that runs a process with them over /proc's."""

    FILES = {"stat": "/proc/stat", "pressure-cpu": "/proc/pressure/cpu", "meminfo": "/proc/meminfo"}

    def __init__(self, directory: Path, cpus: int, limit: float = 3600):
        self.directory, self.cpus, self.limit = directory, cpus, limit
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = {name: directory / name for name in self.FILES}
        self._begun = time.monotonic()
        self._write(0)
        (directory / "meminfo").write_text(meminfo_text())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _write(self, seconds: int) -> None:
        for name, text in (("stat", stat_text(self.cpus, seconds)), ("pressure-cpu", pressure_text(seconds))):
            data = text.encode()
            path = self.paths[name]
            if path.exists() and path.stat().st_size != len(data):
                raise RuntimeError(f"{path}: its length changed ({path.stat().st_size} → {len(data)} bytes)")
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.pwrite(descriptor, data, 0)
            finally:
                os.close(descriptor)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            elapsed = time.monotonic() - self._begun
            if elapsed > self.limit:
                return
            self._write(int(elapsed))

    def wrap(self, command: list[str]) -> list[str]:
        """`command` in a private mount namespace with the three files over /proc's (root)."""
        mounts = " && ".join(f"mount --bind {shlex.quote(str(self.paths[name]))} {target}"
                             for name, target in self.FILES.items())
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", f'{mounts} && exec "$@"', "sh", *command]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
