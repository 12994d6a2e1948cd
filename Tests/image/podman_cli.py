"""podman as the image tests call it: always through scripts/podman.sh (the project's own image
store, runc, this machine's ulimits), with a time limit."""
import subprocess
from pathlib import Path

PODMAN = str(Path(__file__).resolve().parents[2] / "scripts" / "podman.sh")
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"


def podman(*args, timeout=60, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([PODMAN, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result
