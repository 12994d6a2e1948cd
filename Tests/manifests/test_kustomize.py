"""The root kustomization and the Components under deploy/components/, rendered by the real
kustomize inside kubectl: `kubectl apply -k .` gives the objects of `kubectl apply -f rbac.yaml
-f daemonset.yaml`, and a user's own kustomization outside the repository, with the root as its
resource, adds each component and renders objects that validate and that the agent accepts."""
import os
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from manifest_files import REPO, check_config, find, load_docs

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
COMPONENTS = os.path.join(REPO, "deploy", "components")

# What each component must set, as the agent's environment overrides, and what the agent then
# prints for it in its effective config (check-config).
EXPECTED = {
    "report-only": ({"AUTOTAINT_SIGNALS_CPU_ENFORCE": "false", "AUTOTAINT_SIGNALS_MEMORY_ENFORCE": "false",
                     "AUTOTAINT_SIGNALS_CPUCONTENTION_ENFORCE": "false"},
                    lambda config: [s["enforce"] for s in config["signals"].values()] == [False, False, False]),
    "prometheus": ({"AUTOTAINT_SAMPLING_SOURCE": "auto",
                    "AUTOTAINT_PROMETHEUS_URL": "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
                    "AUTOTAINT_PROMETHEUS_QUERY": '100 * (1 - avg(rate(node_cpu_seconds_total{job="node-exporter",'
                                                  'mode="idle",node=~"$node"}[1m])))'},
                   lambda config: config["prometheus"]["url"].startswith("http://kube-prometheus-stack-prometheus.")
                   and 'node=~"$node"' in config["prometheus"]["query"] and config["sampling"]["source"] == "auto"),
    "memory": ({"AUTOTAINT_SIGNALS_MEMORY_ENABLED": "true"},
               lambda config: config["signals"]["memory"]["enabled"] is True),
    "cpu-contention": ({"AUTOTAINT_SIGNALS_CPUCONTENTION_ENABLED": "true"},
                       lambda config: config["signals"]["cpuContention"]["enabled"] is True),
}


def kustomize(directory):
    rendered = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def keyed(docs):
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d for d in docs}


def user_kustomization(tmp_path, components, extra=None):
    """A user's own kustomization in a new directory outside the checkout, with the
    repository's root as its resource: kustomize takes only relative paths there."""
    site = tmp_path / "site"
    site.mkdir()
    assert not str(site).startswith(REPO + os.sep)
    root = os.path.relpath(REPO, site)
    spec = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": [root],
            "components": [os.path.join(root, "deploy", "components", c) for c in components], **(extra or {})}
    (site / "kustomization.yaml").write_text(yaml.safe_dump(spec))
    return site


def container(docs):
    return find(docs, "DaemonSet", "autotaint")["spec"]["template"]["spec"]["containers"][0]


def component_env(docs):
    return {e["name"]: e["value"] for e in container(docs).get("env", []) if "value" in e}


def effective_config(binary, docs, tmp_path):
    """What the agent makes of the rendered ConfigMap with the rendered DaemonSet's
    environment overrides."""
    config = tmp_path / "config.yaml"
    config.write_text(find(docs, "ConfigMap", "autotaint")["data"]["config.yaml"])
    checked = check_config(binary, str(config), component_env(docs))
    assert checked.returncode == 0, checked.stderr
    return yaml.safe_load(checked.stdout)


def test_apply_k_gives_the_objects_of_the_two_files():
    plain = keyed(load_docs("rbac.yaml") + load_docs("daemonset.yaml"))
    rendered = keyed(kustomize(REPO))
    assert rendered.keys() == plain.keys()
    for key, doc in plain.items():
        assert rendered[key] == doc, key


def test_every_component_directory_is_tested():
    """Each environment component here; pools, which replaces the DaemonSet, in test_pools.py."""
    assert sorted(os.listdir(COMPONENTS)) == sorted([*EXPECTED, "pools"])


@pytest.mark.parametrize("component", sorted(EXPECTED))
def test_a_component_from_outside_the_repository(component, tmp_path, binary):
    docs = kustomize(user_kustomization(tmp_path, [component]))
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    environment, holds = EXPECTED[component]
    assert component_env(docs) == environment
    assert holds(effective_config(binary, docs, tmp_path))
    # Only the DaemonSet's environment changes: every other object is the root's.
    base = keyed(kustomize(REPO))
    assert {k: v for k, v in keyed(docs).items() if k[0] != "DaemonSet"} == {k: v for k, v in base.items()
                                                                            if k[0] != "DaemonSet"}


def test_all_components_together_and_the_image_set_by_the_user(tmp_path, binary):
    images = {"images": [{"name": "autotaint", "newName": "registry.example.com/autotaint", "newTag": "1.2.3"}]}
    docs = kustomize(user_kustomization(tmp_path, sorted(EXPECTED), images))
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    assert component_env(docs) == {k: v for environment, _ in EXPECTED.values() for k, v in environment.items()}
    config = effective_config(binary, docs, tmp_path)
    assert all(holds(config) for _, holds in EXPECTED.values())
    assert container(docs)["image"] == "registry.example.com/autotaint:1.2.3"
    # The downward-API NODE_NAME and POD_NAMESPACE stay.
    for name in ("NODE_NAME", "POD_NAMESPACE"):
        assert any(e["name"] == name and "valueFrom" in e for e in container(docs)["env"]), name


def test_the_root_image_entry_names_the_daemonsets_image():
    """`kustomize edit set image autotaint=…` rewrites the images entry; it only takes effect
    if that entry's name is the image the DaemonSet names."""
    root = yaml.safe_load(open(os.path.join(REPO, "kustomization.yaml")))
    plain_image = container(load_docs("daemonset.yaml"))["image"]
    assert [entry["name"] for entry in root["images"]] == [plain_image.split(":")[0]]
    assert container(kustomize(REPO))["image"] == plain_image


def test_an_overlay_inside_the_repository_is_refused(tmp_path):
    """Why the variants are Components: kustomize refuses an overlay inside the repository
    that refers to the root (the root contains the overlay's directory)."""
    overlay = os.path.join(REPO, "deploy", ".overlay-probe")
    os.makedirs(overlay)
    try:
        with open(os.path.join(overlay, "kustomization.yaml"), "w") as handle:
            yaml.safe_dump({"resources": ["../.."]}, handle)
        rendered = subprocess.run([KUBECTL, "kustomize", overlay], capture_output=True, text=True, timeout=60)
        assert rendered.returncode != 0
        assert "cycle detected" in rendered.stderr, rendered.stderr
    finally:
        shutil.rmtree(overlay)
