"""Runs the real autotaint binary for end-to-end tests and reads its JSON log lines."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def binary() -> str:
    """The release binary `make e2e` built (or $AUTOTAINT_BIN)."""
    path = os.environ.get("AUTOTAINT_BIN", str(REPO / ".build/release/autotaint"))
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no autotaint binary at {path}: run `make release` first")
    return path


def clean_env(**extra: str) -> dict:
    """This process's environment without AUTOTAINT_* or NODE_NAME, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTAINT_") and k != "NODE_NAME"}
    env.update(extra)
    return env


def run(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else clean_env())


class Agent:
    """`autotaint run ...` in the background, its stderr (JSON lines) in a file."""

    def __init__(self, tmp_path: Path, *args: str, env: dict | None = None):
        self.log_path = tmp_path / "agent.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary(), "run", *args], stdout=subprocess.DEVNULL, stderr=self._log,
                                        env=env if env is not None else clean_env())

    def lines(self) -> list[dict]:
        entries = []
        for raw in self.log_path.read_text().splitlines():
            entries.append(json.loads(raw))  # every line must be one JSON object
        return entries

    def wait_for(self, predicate, timeout: float, poll: float = 0.2) -> dict:
        """The first log entry matching `predicate`, waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.lines():
                if predicate(entry):
                    return entry
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching log line within {timeout}s; log:\n{self.log_path.read_text()}")
            if self.process.poll() is not None:
                raise AssertionError(f"agent exited with {self.process.returncode}; log:\n{self.log_path.read_text()}")
            time.sleep(poll)

    def terminate(self, sig=signal.SIGTERM, timeout: float = 10) -> tuple[int, float]:
        """Sends `sig` and returns (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def timestamp(entry: dict) -> float:
    """Seconds since the epoch of a log entry's `time` (RFC 3339, UTC, with fraction)."""
    from datetime import datetime
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()


class stress:
    """stress-ng on every CPU this process may run on (as `nproc` counts them) for `seconds`,
    killed at the end of the `with` block at the latest."""

    def __init__(self, seconds):
        cpus = len(os.sched_getaffinity(0))
        self.process = subprocess.Popen(["stress-ng", "--cpu", str(cpus), "--timeout", f"{seconds}s", "--quiet"])

    def wait(self, timeout):
        self.process.wait(timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
