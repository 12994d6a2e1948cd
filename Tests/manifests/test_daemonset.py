"""The DaemonSet's security, scheduling, sizing and wiring settings (daemonset.yaml)."""
import re

import pytest

from manifest_files import find

# Measured (release, static Swift stdlib, a real run against an API server, interval 1s,
# 60 s): RSS 27.3 MiB, of which 3.5 MiB anonymous; CPU 0.18 % of a core with start-up.
MEASURED_RSS_MIB = 27.3
MEASURED_CPU_MILLICORES = 1.8
MIB = 1024 * 1024


def quantity(text):
    """Kubernetes quantity -> float (bytes or cores)."""
    units = {"Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB, "m": 0.001, "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "": 1}
    match = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|m|k|M|G|)", str(text))
    assert match, f"unparsed quantity {text!r}"
    return float(match.group(1)) * units[match.group(2)]


def tolerates(tolerations, taint):
    """Kubernetes' Toleration.ToleratesTaint."""
    for toleration in tolerations:
        if toleration.get("effect") and toleration["effect"] != taint["effect"]:
            continue
        operator = toleration.get("operator", "Equal")
        if operator == "Exists":
            if not toleration.get("key") or toleration["key"] == taint["key"]:
                return True
        elif toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


# --- security -----------------------------------------------------------------------------

def test_pod_runs_as_numeric_non_root_user_with_runtime_default_seccomp(pod_spec):
    context = pod_spec["securityContext"]
    assert context["runAsNonRoot"] is True
    assert isinstance(context["runAsUser"], int) and context["runAsUser"] > 0
    assert isinstance(context["runAsGroup"], int) and context["runAsGroup"] > 0
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_container_security_context(container):
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context.get("privileged", False) is False
    assert context["runAsNonRoot"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_user_matches_the_image(pod_spec, container, dockerfile_text):
    user_lines = [line.split(None, 1)[1].strip() for line in dockerfile_text.splitlines() if line.startswith("USER ")]
    assert user_lines, "the Dockerfile sets no USER"
    uid, gid = (int(part) for part in user_lines[-1].split(":"))
    for context in (pod_spec["securityContext"], container["securityContext"]):
        assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid)


def test_no_host_access(pod_spec, container):
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        assert pod_spec.get(field, False) is False, field
    assert all("hostPath" not in volume for volume in pod_spec["volumes"]), \
        "no host path: /proc/stat and /proc/meminfo are node-wide in the container's own procfs"
    assert "ports" not in container or all("hostPort" not in port for port in container["ports"])


def test_namespace_enforces_restricted_pod_security(rbac_docs):
    labels = find(rbac_docs, "Namespace", "autotaint")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --- scheduling ---------------------------------------------------------------------------

def test_priority_class(pod_spec):
    assert pod_spec["priorityClassName"] == "system-node-critical"


@pytest.mark.parametrize("effect", ["NoSchedule", "PreferNoSchedule", "NoExecute"])
def test_tolerates_its_own_taints_with_any_effect(pod_spec, own_taint_keys, effect):
    assert own_taint_keys == ["autotaint.dev/cpu-contention", "autotaint.dev/cpu-pressure", "autotaint.dev/memory-pressure"]
    for key in own_taint_keys:
        assert tolerates(pod_spec["tolerations"], {"key": key, "value": "true", "effect": effect}), key


@pytest.mark.parametrize("taint", [
    {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
])
def test_tolerates_other_noschedule_taints(pod_spec, taint):
    assert tolerates(pod_spec["tolerations"], taint)


def test_respects_foreign_noexecute_taints(pod_spec):
    assert not tolerates(pod_spec["tolerations"], {"key": "example.com/drain", "effect": "NoExecute"})


def test_rolling_update_with_max_unavailable(daemonset):
    strategy = daemonset["spec"]["updateStrategy"]
    assert strategy["type"] == "RollingUpdate"
    max_unavailable = strategy["rollingUpdate"]["maxUnavailable"]
    assert max_unavailable not in (0, "0%", "0")
    if isinstance(max_unavailable, str):
        assert re.fullmatch(r"[0-9]+%", max_unavailable) and int(max_unavailable[:-1]) <= 25


def test_grace_period_covers_the_5s_shutdown_cleanup(pod_spec):
    assert pod_spec["terminationGracePeriodSeconds"] >= 15


# --- sizing -------------------------------------------------------------------------------

def test_requests_are_the_measured_target(container):
    requests = container["resources"]["requests"]
    assert quantity(requests["cpu"]) == pytest.approx(0.010)
    assert quantity(requests["memory"]) == 28 * MIB
    assert quantity(requests["cpu"]) * 1000 >= 5 * MEASURED_CPU_MILLICORES
    assert quantity(requests["memory"]) >= MEASURED_RSS_MIB * MIB


def test_memory_limit_leaves_headroom_over_rss(container):
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    # File pages of the binary and its libraries are charged to the cgroup too: the limit
    # must sit well above the whole RSS, not only the anonymous part.
    assert quantity(limits["memory"]) >= 1.5 * MEASURED_RSS_MIB * MIB
    assert quantity(limits["memory"]) >= quantity(requests["memory"])
    assert quantity(limits["memory"]) <= 64 * MIB, "a DaemonSet's limit should still catch a leak early"
    assert quantity(limits["cpu"]) >= quantity(requests["cpu"])


# --- wiring -------------------------------------------------------------------------------

def test_node_name_from_downward_api(container):
    env = {item["name"]: item for item in container["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


def test_pod_namespace_from_downward_api(container):
    """The fleet guard's Leases and DaemonSet are in the pod's own namespace."""
    env = {item["name"]: item for item in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["POD_TEMPLATE_GENERATION"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.labels['pod-template-generation']"}}
    assert [item["name"] for item in container["env"]] == ["NODE_NAME", "POD_NAMESPACE", "POD_TEMPLATE_GENERATION"]


def test_config_map_mounted_as_a_directory(pod_spec, container, daemonset_docs):
    volumes = {v["name"]: v for v in pod_spec["volumes"]}
    mounts = [m for m in container["volumeMounts"] if "configMap" in volumes[m["name"]]]
    assert len(mounts) == 1
    mount = mounts[0]
    assert "subPath" not in mount and "subPathExpr" not in mount, "subPath mounts never see ConfigMap updates"
    assert mount["readOnly"] is True
    config_map = find(daemonset_docs, "ConfigMap", volumes[mount["name"]]["configMap"]["name"])
    assert config_map["metadata"]["namespace"] == "autotaint"
    assert "items" not in volumes[mount["name"]]["configMap"]
    config_arguments = [a for a in container["args"] if a.startswith("--config")]
    assert config_arguments == ["--config=" + mount["mountPath"].rstrip("/") + "/config.yaml"]
    assert "config.yaml" in config_map["data"]


def test_image_entrypoint_runs_the_agent(container, dockerfile_text):
    entrypoint = [l for l in dockerfile_text.splitlines() if l.startswith("ENTRYPOINT")][-1]
    assert entrypoint.endswith('"run"]')
    assert "command" not in container, "the image's ENTRYPOINT (autotaint run) is used"
    assert "run" not in container["args"]


def test_probes_hit_the_agent_server(container, agent_config):
    port = int(agent_config["server"]["address"].rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    liveness, readiness = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
    assert liveness["path"] == "/healthz"
    assert readiness["path"] == "/readyz"
    for probe in (liveness, readiness):
        assert ports.get(probe["port"], probe["port"]) == port == 9469
    assert "startupProbe" not in container


def test_service_account_is_the_one_rbac_binds(pod_spec, rbac_docs):
    account = find(rbac_docs, "ServiceAccount")
    assert pod_spec["serviceAccountName"] == account["metadata"]["name"]
    assert account["metadata"]["namespace"] == "autotaint"
    assert pod_spec.get("automountServiceAccountToken", True) is True


def test_daemonset_objects_live_in_the_namespace_rbac_yaml_makes(daemonset_docs, rbac_docs):
    namespace = find(rbac_docs, "Namespace")["metadata"]["name"]
    assert [d["metadata"]["namespace"] for d in daemonset_docs] == [namespace] * len(daemonset_docs)
