"""Fixtures for running the built image (make image) with podman against Tests/e2e's fake API
server. The e2e fixtures and helpers are imported from there, not copied; podman always runs
through scripts/podman.sh (the project's own image store, runc, this machine's ulimits)."""
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
E2E = HERE.parents[1] / "Tests" / "e2e"
sys.path.insert(0, str(E2E))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts"))  # image_sbom's reading of dpkg records

from borrowed_fixtures import fake_api  # noqa: E402,F401
from podman_cli import BASE_IMAGE, podman  # noqa: E402

# Figures the run measured, printed at the end of the pytest output (the taint cycle's timings).
MEASURED = []


@pytest.fixture
def measured():
    """A list of lines for the summary at the end of the run."""
    return MEASURED


@pytest.fixture(scope="session")
def podman_runs_containers():
    """Skips, saying why, where podman cannot run a container (make image-test has then already
    said so too and built nothing)."""
    try:
        probe = podman("run", "--rm", "--pull=never", "--network=none", BASE_IMAGE, "true",
                       timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"podman cannot run a container here: {error}")
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run a container here (run `make image` for details): "
                    f"{probe.stderr.strip()[-300:]}")


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.section("image: measured")
        for line in MEASURED:
            terminalreporter.write_line(line)
