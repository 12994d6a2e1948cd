"""deploy/components/pools, rendered by the real kustomize from a kustomization outside the
repository: the base's DaemonSet and ConfigMap become one of each per node pool
(autotaint-general, autotaint-gpu), with disjoint pod selectors and node affinities that give
every node exactly one agent, each mounting its own ConfigMap, which names it in
fleet.daemonSet and which the agent accepts; the Role autotaint-fleet lists both, nothing else
of the base changes, and the slot Leases of both pools are admitted by rbac.yaml's policy.
The examples in the component's header (usage, another pool label, a third pool) are rendered
as written there."""
import os
import re

import kubernetes_validate
import pytest
import yaml

from manifest_files import REPO, check_config, find
from test_admission_cel import SLOT_NAME_RULE, admit_lease, allowed, denied_by, engine  # noqa: F401 (fixture)
from test_kustomize import keyed, kustomize, user_kustomization
from test_server_defaults import missing_defaults

POOLS = os.path.join(REPO, "deploy", "components", "pools")
NAMES = ["autotaint-general", "autotaint-gpu"]
POOL_LABEL = "node.kubernetes.io/pool"
FLEET_LABEL = "autotaint.dev/fleet"
# Nodes as the scheduler sees their labels: unlabelled, each pool's value, another value, an
# empty one, and another label only.
NODES = [{}, {POOL_LABEL: "gpu"}, {POOL_LABEL: "general"}, {POOL_LABEL: "batch"}, {POOL_LABEL: ""},
         {"kubernetes.io/hostname": "node-1"}]
# What differs between a pool's DaemonSet and the base's, by path; everything else is the base's.
POOL_FIELDS = [("spec", "selector", "matchLabels", FLEET_LABEL), ("spec", "template", "metadata", "labels", FLEET_LABEL),
               ("spec", "template", "spec", "affinity"), ("spec", "template", "spec", "volumes")]


@pytest.fixture(scope="module")
def base():
    return kustomize(REPO)


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    return kustomize(user_kustomization(tmp_path_factory.mktemp("pools"), ["pools"]))


def daemonsets(docs):
    return sorted((d for d in docs if d["kind"] == "DaemonSet"), key=lambda d: d["metadata"]["name"])


def pod_spec(daemonset):
    return daemonset["spec"]["template"]["spec"]


def without(doc, paths):
    """A copy of `doc` without the fields at `paths` (tuples of keys)."""
    doc = yaml.safe_load(yaml.safe_dump(doc))
    for path in paths:
        parent = doc
        for key in path[:-1]:
            parent = parent.get(key, {})
        parent.pop(path[-1], None)
    return doc


def expression_holds(expression, labels):
    key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise AssertionError(f"operator {operator} not modelled here")


def runs_on(daemonset, labels):
    """Whether the DaemonSet's pods may run on a node with these labels: its nodeSelector and
    its required node affinity (any term, every expression of it), as the scheduler reads them."""
    spec = pod_spec(daemonset)
    if any(labels.get(k) != v for k, v in spec.get("nodeSelector", {}).items()):
        return False
    required = spec.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    assert all(set(term) == {"matchExpressions"} for term in required["nodeSelectorTerms"])
    return any(all(expression_holds(e, labels) for e in term["matchExpressions"])
               for term in required["nodeSelectorTerms"])


def agents_per_node(docs, nodes=NODES):
    return [[d["metadata"]["name"] for d in daemonsets(docs) if runs_on(d, labels)] for labels in nodes]


def effective(binary, text, tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    checked = check_config(binary, str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return yaml.safe_load(checked.stdout)


def header_examples():
    """The YAML examples of the component's header comment, in order: each a run of lines
    starting with "#   "."""
    with open(os.path.join(POOLS, "kustomization.yaml")) as handle:
        header = handle.read().split("\napiVersion:")[0]
    return [yaml.safe_load(re.sub(r"(?m)^#   ", "", block))
            for block in re.findall(r"(?m)(?:^#   .*\n)+", header + "\n")]


def site(tmp_path, kustomization, files=None):
    """A kustomization of a user's own, outside the checkout, with the repository as
    ../autotaint would be (the header's examples are written so)."""
    directory = tmp_path / "site"
    directory.mkdir()
    root = os.path.relpath(REPO, directory)
    text = yaml.safe_dump(kustomization).replace("../autotaint", root)
    (directory / "kustomization.yaml").write_text(text)
    for name, content in (files or {}).items():
        (directory / name).write_text(content)
    return kustomize(directory)


# --- the objects ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.30", kubernetes_validate.latest_version()])
def test_every_object_validates(docs, version):
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_no_server_default_is_left_out(docs):
    assert missing_defaults(docs) == []


def test_one_daemonset_and_configmap_per_pool_instead_of_the_bases(docs):
    assert [d["metadata"]["name"] for d in daemonsets(docs)] == NAMES
    assert sorted(d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap") == NAMES
    for daemonset in daemonsets(docs):
        metadata = daemonset["metadata"]
        assert metadata["namespace"] == "autotaint"
        assert metadata["labels"] == {"app.kubernetes.io/name": "autotaint", FLEET_LABEL: metadata["name"]}


def test_selectors_are_disjoint(docs):
    """Each DaemonSet's selector picks its own pods and no other pool's (the API server refuses
    a selector that does not match its template; overlapping ones would fight over pods)."""
    for daemonset in daemonsets(docs):
        name = daemonset["metadata"]["name"]
        assert set(daemonset["spec"]["selector"]) == {"matchLabels"}
        selector = daemonset["spec"]["selector"]["matchLabels"]
        assert selector == {"app.kubernetes.io/name": "autotaint", FLEET_LABEL: name}
        for other in daemonsets(docs):
            pod_labels = other["spec"]["template"]["metadata"]["labels"]
            selects = all(pod_labels.get(k) == v for k, v in selector.items())
            assert selects == (other is daemonset), (name, other["metadata"]["name"])


def test_every_node_runs_exactly_one_agent(docs):
    assert agents_per_node(docs) == [["autotaint-general"], ["autotaint-gpu"], ["autotaint-general"],
                                     ["autotaint-general"], ["autotaint-general"], ["autotaint-general"]]


def test_each_daemonset_mounts_its_own_configmap_which_names_it(docs):
    for daemonset in daemonsets(docs):
        name = daemonset["metadata"]["name"]
        volumes = {v["name"]: v for v in pod_spec(daemonset)["volumes"]}
        assert volumes == {"config": {"name": "config", "configMap": {"name": name}}}
        mounts = pod_spec(daemonset)["containers"][0]["volumeMounts"]
        assert mounts == [{"name": "config", "mountPath": "/etc/autotaint", "readOnly": True}]
        config = yaml.safe_load(find(docs, "ConfigMap", name)["data"]["config.yaml"])
        assert config["fleet"]["daemonSet"] == name


def test_each_pools_config_is_valid_and_the_bases_but_for_its_fleet(docs, base, binary, tmp_path):
    """What the agent makes of each pool's ConfigMap: the base ConfigMap's config (the product
    defaults) with its own fleet.daemonSet, and for gpu the small pool's cap."""
    expected = effective(binary, find(base, "ConfigMap", "autotaint")["data"]["config.yaml"], tmp_path, "base")
    for name in NAMES:
        config = effective(binary, find(docs, "ConfigMap", name)["data"]["config.yaml"], tmp_path, name)
        fleet = dict(expected["fleet"], daemonSet=name, **({"maxTainted": 1} if name == "autotaint-gpu" else {}))
        assert config == dict(expected, fleet=fleet), name


def test_the_role_lists_every_pools_daemonset(docs, base):
    role, base_role = find(docs, "Role", "autotaint-fleet"), find(base, "Role", "autotaint-fleet")
    daemonset_rules = [r for r in role["rules"] if r["resources"] == ["daemonsets"]]
    assert len(daemonset_rules) == 1 and daemonset_rules[0]["resourceNames"] == NAMES
    assert without(role, [("rules",)]) == without(base_role, [("rules",)])
    assert [without(r, [("resourceNames",)]) for r in role["rules"]] == \
        [without(r, [("resourceNames",)]) for r in base_role["rules"]]


def test_nothing_else_of_the_base_changes(docs, base):
    """The ServiceAccount, the RBAC, the policies are the base's; each DaemonSet is the base's
    but for its name, labels, selector, node affinity and config volume."""
    changed = {"DaemonSet", "ConfigMap"}
    assert {k: v for k, v in keyed(docs).items() if k[0] not in changed and k[2] != "autotaint-fleet"} == \
        {k: v for k, v in keyed(base).items() if k[0] not in changed and k[2] != "autotaint-fleet"}
    base_daemonset = find(base, "DaemonSet", "autotaint")
    for daemonset in daemonsets(docs):
        assert without(daemonset, POOL_FIELDS + [("metadata",)]) == without(base_daemonset, POOL_FIELDS + [("metadata",)])
        assert "affinity" not in pod_spec(base_daemonset)
        assert pod_spec(daemonset)["serviceAccountName"] == "autotaint"


def test_the_pools_slot_leases_are_admitted(engine, docs):
    """rbac.yaml's autotaint-own-slots admits each pool's slots, labelled with its fleet, and
    refuses them under the other pool's fleet or unlabelled (which is fleet autotaint)."""
    for name in NAMES:
        other = next(n for n in NAMES if n != name)
        for index in (0, 1, 9, 1499):
            slot = f"{name}-slot-{index}"
            allowed(admit_lease(engine, "CREATE", slot, None, "node-1", new_fleet=name))
            allowed(admit_lease(engine, "UPDATE", slot, "", "node-1", old_fleet=name, new_fleet=name))
            denied_by(admit_lease(engine, "CREATE", slot, None, "node-1", new_fleet=other), SLOT_NAME_RULE)
            denied_by(admit_lease(engine, "CREATE", slot, None, "node-1", new_fleet="(no fleet label)"),
                      SLOT_NAME_RULE)


# --- with other components and the user's own kustomization ---------------------------------

def test_components_listed_before_pools_apply_to_every_pool(tmp_path, base):
    docs = kustomize(user_kustomization(tmp_path, ["report-only", "memory", "pools"]))
    for daemonset in daemonsets(docs):
        env = {e["name"]: e.get("value") for e in pod_spec(daemonset)["containers"][0]["env"]}
        assert env["AUTOTAINT_SIGNALS_CPU_ENFORCE"] == "false" and env["AUTOTAINT_SIGNALS_MEMORY_ENABLED"] == "true"
        assert {"NODE_NAME", "POD_NAMESPACE"} <= set(env)


def test_a_component_listed_after_pools_changes_nothing(tmp_path, docs):
    """Why the header says to list pools last: kustomize finds no DaemonSet autotaint for the
    later component's patch, and says nothing."""
    after = kustomize(user_kustomization(tmp_path, ["pools", "report-only"]))
    assert keyed(after) == keyed(docs)


def test_the_users_image_reaches_every_pool(tmp_path):
    images = {"images": [{"name": "autotaint", "newName": "registry.example.com/autotaint", "newTag": "1.2.3"}]}
    docs = kustomize(user_kustomization(tmp_path, ["pools"], images))
    assert [pod_spec(d)["containers"][0]["image"] for d in daemonsets(docs)] == \
        ["registry.example.com/autotaint:1.2.3"] * 2


def test_the_headers_examples_are_three():
    assert [sorted(example) for example in header_examples()] == [["components", "resources"], ["patches"],
                                                                   ["components", "patches", "resources"]]


def test_the_headers_usage_example(tmp_path):
    usage = header_examples()[0]
    assert usage["components"][-1] == "../autotaint/deploy/components/pools"
    other = tmp_path / "other"
    other.mkdir()
    assert keyed(site(tmp_path, usage)) == keyed(kustomize(user_kustomization(other, ["report-only", "pools"])))


def test_the_headers_other_pool_label_example(tmp_path, docs):
    """Both pools follow the platform's label (here GKE's, with the pool named gpu-pool)."""
    example = {"resources": ["../autotaint"], "components": ["../autotaint/deploy/components/pools"],
               **header_examples()[1]}
    relabelled = site(tmp_path, example)
    key = "cloud.google.com/gke-nodepool"
    nodes = [{}, {key: "gpu-pool"}, {key: "default-pool"}, {POOL_LABEL: "gpu"}]
    assert agents_per_node(relabelled, nodes) == [["autotaint-general"], ["autotaint-gpu"], ["autotaint-general"],
                                                  ["autotaint-general"]]
    assert {k: v for k, v in keyed(relabelled).items() if k[0] != "DaemonSet"} == \
        {k: v for k, v in keyed(docs).items() if k[0] != "DaemonSet"}


def test_the_headers_third_pool_example(tmp_path, binary):
    """batch.yaml written as the header says: the gpu pool's DaemonSet and ConfigMap with batch
    for gpu. Three DaemonSets, each node still runs one agent, the Role lists the three."""
    with open(os.path.join(POOLS, "pools.yaml")) as handle:
        gpu = [d for d in yaml.safe_load_all(handle) if d and d["metadata"]["name"] == "autotaint-gpu"]
    batch = yaml.safe_dump_all(gpu).replace("gpu", "batch").replace("maxTainted: 1", "maxTainted: 2")
    docs = site(tmp_path, header_examples()[2], {"batch.yaml": batch})
    names = NAMES[:1] + ["autotaint-batch"] + NAMES[1:]
    assert sorted(d["metadata"]["name"] for d in daemonsets(docs)) == sorted(names)
    assert agents_per_node(docs) == [["autotaint-general"], ["autotaint-gpu"], ["autotaint-general"],
                                     ["autotaint-batch"], ["autotaint-general"], ["autotaint-general"]]
    assert [r for r in find(docs, "Role", "autotaint-fleet")["rules"]
            if r["resources"] == ["daemonsets"]][0]["resourceNames"] == NAMES + ["autotaint-batch"]
    batch_daemonset = find(docs, "DaemonSet", "autotaint-batch")
    assert without(batch_daemonset, POOL_FIELDS + [("metadata",)]) == \
        without(find(docs, "DaemonSet", "autotaint-gpu"), POOL_FIELDS + [("metadata",)])
    assert pod_spec(batch_daemonset)["volumes"][0]["configMap"]["name"] == "autotaint-batch"
    config = effective(binary, find(docs, "ConfigMap", "autotaint-batch")["data"]["config.yaml"], tmp_path, "batch")
    assert config["fleet"]["daemonSet"] == "autotaint-batch" and config["fleet"]["maxTainted"] == 2
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
