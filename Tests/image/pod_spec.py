"""daemonset.yaml's agent container turned into `podman run` flags, so that the image test runs
the container the way the DaemonSet does and breaks when the manifest changes in a way it does
not translate: every field of the securityContexts, env, volumeMounts and resources is either
translated or rejected with ManifestDrift, never ignored."""
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DAEMONSET = REPO / "daemonset.yaml"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class ManifestDrift(AssertionError):
    """daemonset.yaml says something the image test does not know how to reproduce."""


@dataclass
class AgentContainer:
    image: str
    args: list
    flags: list            # podman run flags: user, security, resources
    env: dict              # name -> value, node name filled in
    config_mount: str      # where the ConfigMap volume is mounted (read-only)
    stop_seconds: int      # terminationGracePeriodSeconds: podman stop's timeout
    config_yaml: str       # the ConfigMap's config.yaml


def documents(path=DAEMONSET):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def security_flags(pod_context: dict, container_context: dict) -> list:
    """podman flags for a pod-level and a container-level securityContext (the container's
    fields win, as in Kubernetes)."""
    context = {**pod_context, **container_context}
    known = {"runAsNonRoot", "runAsUser", "runAsGroup", "allowPrivilegeEscalation", "privileged",
             "readOnlyRootFilesystem", "capabilities", "seccompProfile"}
    unknown = set(context) - known
    if unknown:
        raise ManifestDrift(f"securityContext fields the image test does not translate: {sorted(unknown)}")
    flags = []
    user, group = context.get("runAsUser"), context.get("runAsGroup")
    if user is not None:
        flags += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if context.get("runAsNonRoot") and not user:
        raise ManifestDrift("runAsNonRoot without a numeric non-zero runAsUser")
    if context.get("readOnlyRootFilesystem"):
        # Kubernetes mounts no writable tmpfs of its own on a read-only root; podman would.
        flags += ["--read-only", "--read-only-tmpfs=false"]
    if context.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    if context.get("privileged"):
        flags += ["--privileged"]
    capabilities = context.get("capabilities") or {}
    if set(capabilities) - {"drop", "add"}:
        raise ManifestDrift(f"capabilities fields not translated: {sorted(set(capabilities) - {'drop', 'add'})}")
    for capability in capabilities.get("drop", []):
        flags += ["--cap-drop", capability]
    for capability in capabilities.get("add", []):
        flags += ["--cap-add", capability]
    seccomp = (context.get("seccompProfile") or {}).get("type")
    if seccomp == "Unconfined":
        flags += ["--security-opt", "seccomp=unconfined"]
    elif seccomp not in (None, "RuntimeDefault"):   # RuntimeDefault: podman's default profile
        raise ManifestDrift(f"seccompProfile type {seccomp} not translated")
    return flags


def resource_flags(resources: dict) -> list:
    """The limits as podman's cgroup limits (requests only matter to the scheduler)."""
    limits = resources.get("limits") or {}
    if set(limits) - {"cpu", "memory"}:
        raise ManifestDrift(f"resource limits not translated: {sorted(set(limits) - {'cpu', 'memory'})}")
    flags = []
    if "memory" in limits:
        match = re.fullmatch(r"(\d+)(Mi|Gi)", str(limits["memory"]))
        if not match:
            raise ManifestDrift(f"memory limit {limits['memory']!r} not in Mi or Gi")
        mebibytes = int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)
        flags += ["--memory", f"{mebibytes}m"]
    if "cpu" in limits:
        cpu = str(limits["cpu"])
        cores = int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
        flags += ["--cpus", f"{cores:g}"]
    return flags


def environment(entries: list, node_name: str, namespace: str, labels: dict) -> dict:
    """The env the kubelet would give the container: literal values and the downward API's
    node name, pod namespace (the pod's namespace is the DaemonSet's) and pod labels (a
    missing label is an empty string, as kubelet gives it)."""
    fields = {"spec.nodeName": node_name, "metadata.namespace": namespace}
    env = {}
    for entry in entries:
        field = (entry.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        label = re.fullmatch(r"metadata\.labels\['([^']+)'\]", field or "")
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif field in fields:
            env[entry["name"]] = fields[field]
        elif label:
            env[entry["name"]] = labels.get(label[1], "")
        else:
            raise ManifestDrift(f"env {entry['name']} has a source the image test does not reproduce: {entry}")
    return env


def agent_container(node_name: str, path=DAEMONSET, pod_labels: dict | None = None) -> AgentContainer:
    """The container of the pod made for `node_name` with `pod_labels` (the DaemonSet
    controller's, e.g. pod-template-generation)."""
    docs = documents(path)
    daemonset = next(d for d in docs if d["kind"] == "DaemonSet")
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    pod = daemonset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    if pod.get("automountServiceAccountToken") is False:
        raise ManifestDrift("the agent needs its service account token mounted")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    (mount,) = container.get("volumeMounts", [])
    if not mount.get("readOnly") or "subPath" in mount:
        raise ManifestDrift(f"the config mount is expected read-only and a whole directory: {mount}")
    if (volumes[mount["name"]].get("configMap") or {}).get("name") != config_map["metadata"]["name"]:
        raise ManifestDrift(f"volume {mount['name']} is not the ConfigMap {config_map['metadata']['name']}")
    return AgentContainer(
        image=container["image"],
        args=list(container.get("args", [])),
        flags=security_flags(pod.get("securityContext") or {}, container.get("securityContext") or {})
        + resource_flags(container.get("resources") or {}),
        env=environment(container.get("env", []), node_name, daemonset["metadata"]["namespace"], pod_labels or {}),
        config_mount=mount["mountPath"],
        stop_seconds=int(pod.get("terminationGracePeriodSeconds", 30)),
        config_yaml=config_map["data"]["config.yaml"],
    )
