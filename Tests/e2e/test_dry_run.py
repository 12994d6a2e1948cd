"""`autotaint run --dry-run`, `sample`, `check-config` and exit codes, on this machine's
real /proc, with stress-ng as the load. No cluster is involved."""
import re
import shutil
import signal
import time

import pytest

from agent_process import REPO, Agent, clean_env, run, stress, timestamp

SAMPLE_CONFIG = REPO / "config/autotaint.yaml"

FAST_CONFIG = """\
sampling:
  interval: 1s
  source: proc
signals:
  cpu:
    highPercent: 50
    lowPercent: 30
    for: 5s
    recoverFor: 6s
    minHold: 2s
"""


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", result.stdout)


def test_check_config_prints_the_effective_config():
    result = run("check-config", str(SAMPLE_CONFIG))
    assert result.returncode == 0, result.stderr
    assert "highPercent: 80" in result.stdout
    assert "interval: 1s" in result.stdout


def test_check_config_names_file_line_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("signals:\n  cpu:\n    highPercent: 50\n    lowPercent: 70\n")
    result = run("check-config", str(bad))
    assert result.returncode == 1
    assert re.search(rf"^{re.escape(str(bad))}:4: signals\.cpu\.lowPercent: .*70.*50", result.stderr, re.M), \
        result.stderr


def test_check_config_on_an_unreadable_file_says_why(tmp_path):
    result = run("check-config", str(tmp_path / "missing.yaml"))
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path / 'missing.yaml'}: cannot read: No such file or directory\n"


def test_check_config_output_reads_back_to_itself(tmp_path):
    effective = tmp_path / "effective.yaml"
    effective.write_text(run("check-config", str(SAMPLE_CONFIG)).stdout)
    again = run("check-config", str(effective))
    assert again.returncode == 0, again.stderr
    assert again.stdout == effective.read_text()


def test_environment_override_reaches_the_effective_config():
    result = run("check-config", str(SAMPLE_CONFIG), env=clean_env(AUTOTAINT_SIGNALS_CPU_HIGHPERCENT="85"))
    assert result.returncode == 0, result.stderr
    assert "highPercent: 85" in result.stdout


@pytest.mark.parametrize("args", [["run", "--no-such-flag"], ["sample", "--count", "0"], ["frobnicate"]])
def test_usage_errors_exit_1(args):
    result = run(*args)
    assert result.returncode == 1, (result.stdout, result.stderr)


def test_run_with_an_invalid_config_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sampling:\n  intervall: 1s\n")
    result = run("run", "--dry-run", "--once", "--config", str(bad))
    assert result.returncode == 1
    assert f"{bad}:2:" in result.stderr


def test_sample_prints_one_line_per_sample(tmp_path):
    result = run("sample", "--count", "3", "--interval", "1s", "--source", "proc", timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        match = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ proc cpu (\d+\.\d)% (normal|pending-high)", line)
        assert match, line
        assert 0 <= float(match.group(1)) <= 100


def test_once_does_one_pass_and_exits_0(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(FAST_CONFIG)
    result = run("run", "--dry-run", "--once", "--node", "node-a", "--config", str(config), timeout=30)
    assert result.returncode == 0, result.stderr
    import json
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    samples = [e for e in entries if e["msg"] == "sample"]
    assert len(samples) == 1 and samples[0]["node"] == "node-a" and samples[0]["source"] == "proc"
    reports = [e for e in entries if e["msg"] == "would report condition"]
    assert [r["type"] for r in reports] == ["CPUPressure"]


@pytest.mark.skipif(shutil.which("stress-ng") is None, reason="stress-ng is installed by `make test`")
def test_dry_run_enters_and_leaves_pressure_under_stress(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(FAST_CONFIG)
    with Agent(tmp_path, "--dry-run", "--node", "stressed", "--config", str(config)) as agent:
        agent.wait_for(lambda e: e["msg"] == "sample", timeout=10)
        with stress(20) as load:
            stress_started = time.time()
            added = agent.wait_for(lambda e: e["msg"] == "would add taint", timeout=40)
            assert added["taint"] == "autotaint.dev/cpu-pressure=true:NoSchedule"
            entered = agent.wait_for(lambda e: e["msg"] == "transition" and e["to"] == "pressure", timeout=1)
            # Pressure needs `for` (5s) of samples >= 50%: never sooner.
            assert timestamp(entered) - stress_started >= 5 - 1
            report = agent.wait_for(lambda e: e["msg"] == "would report condition" and e["status"] == "True",
                                    timeout=1)
            assert re.fullmatch(r"CPU \d+\.\d% >= 50% for 5s \(proc\)", report["message"]), report["message"]
            load.wait(timeout=60)
        stress_ended = time.time()
        removed = agent.wait_for(lambda e: e["msg"] == "would remove taint", timeout=90)
        assert removed["taint"] == added["taint"]
        # Leaving needs recoverFor (6s) of samples <= 30% after the load is gone.
        assert timestamp(removed) - stress_ended >= 6 - 1
        agent.wait_for(lambda e: e["msg"] == "would report condition" and e["status"] == "False"
                       and timestamp(e) >= timestamp(removed) - 0.5, timeout=1)


def test_sigterm_exits_cleanly_and_reports_agent_stopped(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(FAST_CONFIG)
    with Agent(tmp_path, "--dry-run", "--config", str(config)) as agent:
        agent.wait_for(lambda e: e["msg"] == "sample", timeout=10)
        code, seconds = agent.terminate(signal.SIGTERM)
        assert code == 0
        assert seconds < 5  # product.md: cleanup within 5 s; measured in the benchmark
        stopped = [e for e in agent.lines() if e["msg"] == "would report condition" and e["reason"] == "AgentStopped"]
        assert [e["status"] for e in stopped] == ["Unknown"]


def test_sigint_exits_cleanly(tmp_path):
    with Agent(tmp_path, "--dry-run") as agent:
        agent.wait_for(lambda e: e["msg"] == "starting", timeout=10)
        code, _ = agent.terminate(signal.SIGINT)
        assert code == 0
