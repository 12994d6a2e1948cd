"""pod_spec: daemonset.yaml's container as podman flags, and a manifest it cannot translate
rejected rather than run differently."""
import pytest

import pod_spec


def test_the_daemonset_container_becomes_the_flags_the_image_test_runs_it_with():
    spec = pod_spec.agent_container("node-1", pod_labels={"pod-template-generation": "3"})
    flags = " ".join(spec.flags)
    for expected in ("--user 65532:65532", "--read-only --read-only-tmpfs=false", "--cap-drop ALL",
                     "--security-opt no-new-privileges", "--memory 48m", "--cpus 0.1"):
        assert expected in flags, (expected, flags)
    assert "--privileged" not in flags and "seccomp=unconfined" not in flags
    assert spec.env == {"NODE_NAME": "node-1", "POD_NAMESPACE": "autotaint", "POD_TEMPLATE_GENERATION": "3"}
    assert spec.args == ["--config=/etc/autotaint/config.yaml"]
    assert spec.config_mount == "/etc/autotaint"
    assert spec.image == "autotaint:0.1.0" and spec.stop_seconds == 30


@pytest.mark.parametrize("context, message", [
    ({"procMount": "Unmasked"}, "procMount"),
    ({"capabilities": {"drop": ["ALL"], "keep": ["X"]}}, "keep"),
    ({"seccompProfile": {"type": "Localhost", "localhostProfile": "x.json"}}, "Localhost"),
    ({"runAsNonRoot": True}, "runAsNonRoot"),
])
def test_a_security_context_it_cannot_reproduce_is_drift(context, message):
    with pytest.raises(pod_spec.ManifestDrift, match=message):
        pod_spec.security_flags({}, context)


def test_the_container_security_context_wins_over_the_pod_s():
    flags = pod_spec.security_flags({"runAsUser": 1000, "allowPrivilegeEscalation": False},
                                    {"runAsUser": 65532, "allowPrivilegeEscalation": True})
    assert flags == ["--user", "65532"]


def test_env_from_anything_but_the_node_name_namespace_and_labels_is_drift():
    label = {"fieldRef": {"fieldPath": "metadata.labels['pod-template-generation']"}}
    assert pod_spec.environment([{"name": "A", "value": "1"},
                                 {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                                 {"name": "S", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                 {"name": "G", "valueFrom": label}],
                                "node-7", "ns", {"pod-template-generation": "2"}) \
        == {"A": "1", "N": "node-7", "S": "ns", "G": "2"}
    assert pod_spec.environment([{"name": "G", "valueFrom": label}], "n", "ns", {}) == {"G": ""}
    with pytest.raises(pod_spec.ManifestDrift, match="TOKEN"):
        pod_spec.environment([{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}], "n", "ns", {})
    with pytest.raises(pod_spec.ManifestDrift, match="IP"):
        pod_spec.environment([{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}], "n", "ns", {})


@pytest.mark.parametrize("limits, flags", [
    ({"memory": "48Mi", "cpu": "100m"}, ["--memory", "48m", "--cpus", "0.1"]),
    ({"memory": "1Gi", "cpu": "2"}, ["--memory", "1024m", "--cpus", "2"]),
])
def test_limits_become_cgroup_limits(limits, flags):
    assert pod_spec.resource_flags({"requests": {"cpu": "10m"}, "limits": limits}) == flags


def test_a_limit_it_cannot_reproduce_is_drift():
    with pytest.raises(pod_spec.ManifestDrift, match="ephemeral-storage"):
        pod_spec.resource_flags({"limits": {"ephemeral-storage": "1Gi"}})
    with pytest.raises(pod_spec.ManifestDrift, match="48M"):
        pod_spec.resource_flags({"limits": {"memory": "48M"}})
