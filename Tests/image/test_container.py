"""The image `make image` built, run by podman the way daemonset.yaml runs it (its user, security
and resource settings, args, env and read-only config mount, translated by pod_spec), with a
service account's token and CA against the fake API server on 127.0.0.1, under real load from
stress-ng. What it must do is seen through kubectl, the operator's client."""
import json
import os
import shutil
import time
from dataclasses import dataclass

import pytest
import yaml

import pod_spec
from agent_process import stress
from podman_cli import podman
from prometheus_stack import free_port, http_get
from waiting import wait_until

NODE = "node-1"
# The ConfigMap's config with what a test needs changed: one-second ticks and holds (the
# shortest the binary accepts), thresholds that stress-ng on every CPU crosses and an idle
# machine stays under, and the server on a free port of 127.0.0.1 (the container shares the
# host's network).
HIGH_PERCENT, LOW_PERCENT = 85, 50
LOAD_SECONDS = 60          # stress-ng's own bound; each phase ends it sooner
PHASE_TIMEOUT = 40         # taint on / off: for + recoverFor + minHold are 1 s each


def agent_config(config_yaml: str, port: int) -> str:
    config = yaml.safe_load(config_yaml)
    config["sampling"]["interval"] = "1s"
    config["signals"]["cpu"].update({"highPercent": HIGH_PERCENT, "lowPercent": LOW_PERCENT,
                                     "for": "1s", "recoverFor": "1s", "minHold": "1s"})
    config["server"]["address"] = f"127.0.0.1:{port}"
    return yaml.safe_dump(config)


def readable_directory(path, files: dict):
    """A directory the container's non-root user can read, as kubelet's volumes are
    (pytest's own temporary directories are 0700)."""
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    for name, content in files.items():
        (path / name).write_text(content)
        (path / name).chmod(0o644)
    return path


@dataclass
class RunningAgent:
    name: str
    port: int
    spec: pod_spec.AgentContainer
    taint_key: str
    taint_effect: str
    condition_type: str

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self):
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def pid(self) -> int:
        return int(podman("inspect", "--format", "{{.State.Pid}}", self.name).stdout)


class Pods:
    """Starts the agent's container as kubelet starts the pod the DaemonSet controller makes
    for NODE: its env from the downward API (the pod's generation labels included), the
    ConfigMap and service account mounted read-only; one container at a time."""

    def __init__(self, tmp_path, fake_api, image):
        self.fake_api, self.image = fake_api, image
        self.port = free_port()
        spec = pod_spec.agent_container(NODE)
        self.namespace = spec.env["POD_NAMESPACE"]
        config_text = agent_config(spec.config_yaml, self.port)
        self.cpu = yaml.safe_load(config_text)["signals"]["cpu"]
        self.config_dir = readable_directory(tmp_path / "config", {"config.yaml": config_text})
        self.service_account = readable_directory(tmp_path / "serviceaccount", {
            "token": open(fake_api.token_file).read(),
            "ca.crt": open(fake_api.ca).read(),
            "namespace": "autotaint",
        })
        # The fleet guard reads its DaemonSet in the pod's namespace (POD_NAMESPACE from the
        # downward API); N = 1 Node here, so K = 1 and the one node may hold a hard taint.
        fake_api.add_namespace(self.namespace)
        fake_api.set_daemonset(namespace=self.namespace)
        self.started: list[RunningAgent] = []

    def start(self) -> RunningAgent:
        pod = self.fake_api.schedule_pod(NODE, namespace=self.namespace)
        spec = pod_spec.agent_container(NODE, pod_labels=pod["metadata"]["labels"])
        env = {**spec.env, "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.fake_api.port)}
        name = f"autotaint-image-test-{os.getpid()}-{len(self.started)}"
        podman("rm", "-f", "-t", "0", name, check=False)
        run = ["run", "--detach", "--name", name, "--pull=never", "--network", "host", *spec.flags,
               "-v", f"{self.config_dir}:{spec.config_mount}:ro",
               "-v", f"{self.service_account}:{pod_spec.SERVICE_ACCOUNT_DIR}:ro"]
        for key, value in env.items():
            run += ["-e", f"{key}={value}"]
        podman(*run, self.image, *spec.args, timeout=120)
        running = RunningAgent(name, self.port, spec, self.cpu["taint"]["key"], self.cpu["taint"]["effect"],
                               self.cpu["condition"])
        self.started.append(running)
        return running

    def remove_all(self):
        for running in self.started:
            print(f"--- podman logs {running.name}\n{running.logs()}")
            podman("rm", "-f", "-t", "0", running.name, check=False, timeout=120)


@pytest.fixture
def pods(tmp_path, fake_api, podman_runs_containers):
    image = os.environ.get("AUTOTAINT_IMAGE", pod_spec.agent_container(NODE).image)
    if podman("image", "exists", image, check=False).returncode != 0:
        pytest.fail(f"no image {image} in the project's podman store: run `make image`")
    started = Pods(tmp_path, fake_api, image)
    try:
        yield started
    finally:
        started.remove_all()


@pytest.fixture
def agent(pods):
    return pods.start()


def node(api) -> dict:
    return json.loads(api.kubectl("get", "node", NODE, "-o", "json"))


def own_taint(api, key) -> dict | None:
    return next((t for t in node(api)["spec"].get("taints") or [] if t["key"] == key), None)


def has_taint(api, key) -> bool:
    return own_taint(api, key) is not None


def condition(api, kind) -> dict | None:
    return next((c for c in node(api)["status"].get("conditions", []) if c["type"] == kind), None)


def condition_status(api, kind):
    found = condition(api, kind)
    return found and found["status"]


def process_status(pid) -> dict:
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def root_mount_options(pid) -> list:
    for line in open(f"/proc/{pid}/mountinfo"):
        fields = line.split()
        if fields[4] == "/":
            return fields[5].split(",")
    raise AssertionError(f"no root mount in /proc/{pid}/mountinfo")


def memory_cgroup(pid) -> tuple[int, int]:
    """(limit, peak usage) in bytes of the process's memory cgroup, v1 or v2."""
    for line in open(f"/proc/{pid}/cgroup"):
        _, controllers, path = line.rstrip("\n").split(":", 2)
        if "memory" in controllers.split(","):
            directory = f"/sys/fs/cgroup/memory{path}"
            return (int(open(f"{directory}/memory.limit_in_bytes").read()),
                    int(open(f"{directory}/memory.max_usage_in_bytes").read()))
        if controllers == "" and os.path.exists(f"/sys/fs/cgroup{path}/memory.max"):
            directory = f"/sys/fs/cgroup{path}"
            return int(open(f"{directory}/memory.max").read()), int(open(f"{directory}/memory.peak").read())
    raise AssertionError(f"no memory cgroup for {pid}")


def test_image_runs_as_the_daemonset_does(agent, fake_api, measured):
    assert shutil.which("stress-ng"), "stress-ng is installed by make deps"
    logs = agent.logs

    wait_until(lambda: http_get(agent.url("/readyz"))[0] == 200, 30, f"/readyz 200; logs:\n{logs()}")
    assert http_get(agent.url("/healthz"))[0] == 200
    status, body = http_get(agent.url("/metrics"))
    assert status == 200 and b"autotaint_signal_state" in body, body[:500]

    # What the pod's securityContext promises, read off the agent's process, not podman's config.
    process = process_status(agent.pid())
    assert process["Uid"] == ["65532"] * 4 and process["Gid"] == ["65532"] * 4, process["Uid"]
    assert process["CapEff"] == ["0000000000000000"] and process["CapBnd"] == ["0000000000000000"]
    assert process["NoNewPrivs"] == ["1"]
    assert "ro" in root_mount_options(agent.pid())
    memory_limit, _ = memory_cgroup(agent.pid())
    assert f"{memory_limit // 2**20}m" in agent.spec.flags, (memory_limit, agent.spec.flags)

    try:
        wait_until(lambda: condition_status(fake_api, agent.condition_type) == "False", 30,
                   f"{agent.condition_type} False before any load")
    except AssertionError:
        raise AssertionError(f"no {agent.condition_type}=False without load: is the machine busy "
                             f"(CPU above {LOW_PERCENT} %)? logs:\n{logs()}")
    assert not has_taint(fake_api, agent.taint_key)

    with stress(LOAD_SECONDS):
        load_started = time.monotonic()
        wait_until(lambda: has_taint(fake_api, agent.taint_key), PHASE_TIMEOUT,
                   f"taint {agent.taint_key} under load; logs:\n{logs()}")
        tainted_after = time.monotonic() - load_started
        # The ConfigMap's hard effect, not the fleet guard's PreferNoSchedule: the one slot of
        # a one-node fleet is held, in the namespace the manifest gives the pod.
        wait_until(lambda: (own_taint(fake_api, agent.taint_key) or {}).get("effect") == agent.taint_effect, PHASE_TIMEOUT,
                   f"taint {agent.taint_key} with effect {agent.taint_effect}; logs:\n{logs()}")
        slot = fake_api.lease("autotaint-slot-0", namespace=agent.spec.env["POD_NAMESPACE"])
        assert slot and slot["spec"]["holderIdentity"] == NODE, slot
    load_stopped = time.monotonic()
    described = fake_api.kubectl("describe", "node", NODE)
    assert agent.condition_type in described and "TaintAdded" in described, described
    wait_until(lambda: not has_taint(fake_api, agent.taint_key), PHASE_TIMEOUT,
               f"taint {agent.taint_key} gone after the load; logs:\n{logs()}")
    untainted_after = time.monotonic() - load_stopped
    assert condition_status(fake_api, agent.condition_type) == "False"
    measured.append(f"container taint cycle (interval/for/recoverFor/minHold 1s, kubectl polled every 0.2 s): "
                    f"load start -> taint seen {tainted_after:.1f} s, load end -> taint gone {untainted_after:.1f} s")

    # Stopped while in pressure: the taint must go with it (shutdown.removeTaints).
    with stress(LOAD_SECONDS):
        wait_until(lambda: has_taint(fake_api, agent.taint_key), PHASE_TIMEOUT,
                   f"taint {agent.taint_key} under the second load; logs:\n{logs()}")
        _, memory_peak = memory_cgroup(agent.pid())
        stop_started = time.monotonic()
        podman("stop", "--time", str(agent.spec.stop_seconds), agent.name, timeout=agent.spec.stop_seconds + 30)
        stop_seconds = time.monotonic() - stop_started
    exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", agent.name).stdout.strip()
    assert exit_code == "0", f"exit code {exit_code} after podman stop; logs:\n{logs()}"
    assert not has_taint(fake_api, agent.taint_key), f"taint left after podman stop; logs:\n{logs()}"
    stopped = condition(fake_api, agent.condition_type)
    assert stopped["status"] == "Unknown" and stopped["reason"] == "AgentStopped", stopped
    measured.append(f"container podman stop (SIGTERM) in pressure -> exited 0, taint removed, in {stop_seconds:.1f} s")
    measured.append(f"container memory cgroup: peak {memory_peak / 2**20:.1f} MiB of its "
                    f"{memory_limit / 2**20:.0f} MiB limit (pages the build left in the page cache are charged elsewhere)")


def test_a_rolling_update_of_the_image_hands_over_without_a_flap(pods, fake_api, measured):
    """The DaemonSet's template changes (generation 1 → 2) while the node is in pressure:
    podman stop (SIGTERM) of the old container, then the new pod's container. The taint is
    never absent (the fake's taint history), no TaintRemoved/TaintAdded, the slot keeps its
    holder, and the old agent's conditions say AgentRestarting until the new one reports."""
    old = pods.start()
    logs = old.logs
    wait_until(lambda: http_get(old.url("/readyz"))[0] == 200, 30, f"/readyz 200; logs:\n{logs()}")
    with stress(LOAD_SECONDS):
        wait_until(lambda: (own_taint(fake_api, old.taint_key) or {}).get("effect") == old.taint_effect, PHASE_TIMEOUT,
                   f"taint {old.taint_key} with effect {old.taint_effect}; logs:\n{logs()}")
        fake_api.set_daemonset(namespace=pods.namespace, image="autotaint:0.2.0")
        assert fake_api.daemonset(namespace=pods.namespace)["metadata"]["generation"] == 2
        since = time.time()
        before = {e["metadata"]["uid"] for e in fake_api.events()}
        slot = fake_api.lease("autotaint-slot-0", namespace=pods.namespace)
        stop_started = time.monotonic()
        podman("stop", "--time", str(old.spec.stop_seconds), old.name, timeout=old.spec.stop_seconds + 30)
        stop_seconds = time.monotonic() - stop_started
        exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", old.name).stdout.strip()
        assert exit_code == "0", f"exit code {exit_code} after podman stop; logs:\n{logs()}"
        handed = condition(fake_api, old.condition_type)
        assert (handed["status"], handed["reason"]) == ("True", "AgentRestarting"), handed
        new = pods.start()
        wait_until(lambda: http_get(new.url("/readyz"))[0] == 200, 30, f"new /readyz 200; logs:\n{new.logs()}")
        wait_until(lambda: condition(fake_api, new.condition_type)["reason"] != "AgentRestarting", PHASE_TIMEOUT,
                   f"the new agent reporting its condition; logs:\n{new.logs()}")
        until = time.time()
    history = [e for e in fake_api.taint_history() if e["node"] == NODE and e["time"] >= since]
    reasons = [e["reason"] for e in fake_api.events() if e["metadata"]["uid"] not in before]
    holder_changes = [e for e in fake_api.lease_history() if e["time"] >= since and e["name"] == "autotaint-slot-0"]
    assert history == [], history  # no write of the Node's taints at all: never absent
    assert own_taint(fake_api, old.taint_key)["effect"] == old.taint_effect
    assert not {"TaintRemoved", "TaintAdded"} & set(reasons), reasons
    assert holder_changes == [] and fake_api.lease("autotaint-slot-0", namespace=pods.namespace)["spec"][
        "holderIdentity"] == slot["spec"]["holderIdentity"] == NODE
    assert condition(fake_api, new.condition_type)["status"] == "True"
    measured.append(f"container rolling update in pressure: old exited 0 in {stop_seconds:.1f} s, taint absent 0 s, "
                    f"new agent reporting {until - since:.1f} s after the old one's SIGTERM, events {reasons}")
