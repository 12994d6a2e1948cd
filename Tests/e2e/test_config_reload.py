"""Hot reload of a ConfigMap-style volume (kubelet swaps the `..data` symlink) and the
per-node threshold annotations, with the real agent against the fake API server."""
import os
import time

from agent_process import Agent
from node_view import own_taints
from waiting import wait_until

OURS = "autotaint.dev/memory-pressure"

# The memory signal, whose usage does not follow the load other processes put on this
# machine: high 0.1 / low 0 is always pressure and never recovers; high 99 / low 98 is
# never pressure here.
SIGNALS = "sampling: {{interval: 1s, source: proc}}\nserver: {{address: \"\"}}\nsignals:\n  cpu: {{enabled: false}}\n"
ALWAYS = SIGNALS + "  memory: {{enabled: true, highPercent: {high}, lowPercent: 0, for: {hold}, recoverFor: 2s, minHold: 1s}}\n"
NEVER = SIGNALS.format() + "  memory: {enabled: true, highPercent: 99, lowPercent: 98, for: 1s, recoverFor: 2s, minHold: 1s}\n"


class ConfigMapVolume:
    """A directory laid out as kubelet lays out a ConfigMap volume, updated the same way:
    the files go into a new timestamped directory, and `..data` is swapped atomically."""

    def __init__(self, root, text):
        self.root = root
        self.generation = 0
        self.update(text)
        os.symlink("..data/config.yaml", root / "config.yaml")

    @property
    def path(self):
        return str(self.root / "config.yaml")

    def update(self, text):
        self.generation += 1
        data = self.root / f"..2026_11_23_{self.generation:04d}"
        data.mkdir()
        (data / "config.yaml").write_text(text)
        os.symlink(data.name, self.root / "..data_tmp")
        os.replace(self.root / "..data_tmp", self.root / "..data")


def event_reasons(api):
    return [e["reason"] for e in api.events()]


def test_reload_applies_keeps_state_and_rejects_a_bad_file(tmp_path, fake_api):
    api = fake_api
    volume_dir = tmp_path / "volume"
    volume_dir.mkdir()
    volume = ConfigMapVolume(volume_dir, ALWAYS.format(high=0.1, hold="1s"))
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", volume.path) as agent:
        wait_until(lambda: own_taints(api, OURS), 20, "pressure with the first config")

        # Only thresholds change: the taint must stay (no remove and re-add).
        volume.update(ALWAYS.format(high=0.2, hold="2s"))
        agent.wait_for(lambda e: e["msg"] == "config reloaded", timeout=10)
        time.sleep(3)
        assert own_taints(api, OURS)
        assert "TaintRemoved" not in event_reasons(api)
        assert not [e for e in agent.lines() if e["msg"] == "transition" and e["to"] != "pressure"
                    and e.get("from") == "pressure"]

        # An invalid file is rejected; the last good config stays in force.
        volume.update("signals:\n  memory: {enabled: true, highPercent: 10, lowPercent: 50}\n")
        rejected = agent.wait_for(lambda e: e["msg"] == "config rejected; keeping the last good one", timeout=10)
        assert "lowPercent" in rejected["errors"]
        wait_until(lambda: "ConfigRejected" in event_reasons(api), 10, "ConfigRejected event")
        rejected_event = [e for e in api.events() if e["reason"] == "ConfigRejected"][0]
        assert rejected_event["type"] == "Warning" and "lowPercent" in rejected_event["message"]
        time.sleep(2)
        assert own_taints(api, OURS)

        # A valid file again: thresholds no load reaches, so the taint goes after recoverFor.
        volume.update(NEVER)
        wait_until(lambda: not own_taints(api, OURS), 20, "taint removed under the new thresholds")
        assert event_reasons(api).count("ConfigReloaded") == 2
        assert agent.process.poll() is None


def test_node_annotations_override_the_thresholds(tmp_path, fake_api):
    api = fake_api
    config = tmp_path / "config.yaml"
    config.write_text(NEVER)
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", str(config)) as agent:
        agent.wait_for(lambda e: e["msg"] == "reported condition", timeout=20)
        api.kubectl("annotate", "node", "node-1", "autotaint.dev/memory-high-percent=0.1",
                    "autotaint.dev/memory-low-percent=0")
        wait_until(lambda: own_taints(api, OURS), 20, "pressure under the annotation's thresholds")
        # The condition is written right after the taint, so it may come a moment later.
        memory_message = lambda: next(c for c in api.node("node-1")["status"]["conditions"]
                                      if c["type"] == "MemoryUsagePressure")["message"]
        wait_until(lambda: ">= 0.1%" in memory_message(), 5, "the condition under the annotation's thresholds")

        api.kubectl("annotate", "--overwrite", "node", "node-1", "autotaint.dev/memory-low-percent=oops")
        ignored = agent.wait_for(lambda e: e["msg"] == "node annotation ignored", timeout=10)
        assert "oops" in ignored["problem"]
        # The bad pair is ignored whole: back to the ConfigMap's 99/98, so the taint goes.
        wait_until(lambda: not own_taints(api, OURS), 20, "taint removed once the annotations are ignored")
