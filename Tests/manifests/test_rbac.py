"""rbac.yaml grants exactly what docs/kubernetes-api.md lists and wires the admission
policies to the agent's service account."""
import pytest

from manifest_files import find, load_docs

AGENT_USER = "system:serviceaccount:autotaint:autotaint"
BINDINGS = [("ClusterRoleBinding", "autotaint", "ClusterRole"), ("RoleBinding", "autotaint-events", "Role"),
            ("RoleBinding", "autotaint-fleet", "Role")]
POLICIES = {"autotaint-own-node": 4, "autotaint-own-slots": 4, "autotaint-own-events": 5}   # name: number of validations


def rule_set(rules):
    """{(group, resource): {verbs}}, keyed (group, resource, name) for a rule with resourceNames;
    no wildcard anywhere."""
    granted = {}
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}"
        assert "nonResourceURLs" not in rule
        names = rule.get("resourceNames")
        assert names is None or (names and "*" not in names), "resourceNames: [] would mean every name"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for key in [(group, resource)] if names is None else [(group, resource, n) for n in names]:
                    granted.setdefault(key, set()).update(rule["verbs"])
    return granted


def test_cluster_role_is_nodes_only(rbac_docs):
    role = find(rbac_docs, "ClusterRole", "autotaint")
    assert rule_set(role["rules"]) == {
        ("", "nodes"): {"get", "list", "watch", "patch"},
        ("", "nodes/status"): {"patch"},
    }


def test_events_only_in_default(rbac_docs):
    role = find(rbac_docs, "Role", "autotaint-events")
    assert role["metadata"]["namespace"] == "default"
    assert rule_set(role["rules"]) == {
        ("", "events"): {"create", "patch"},
        ("events.k8s.io", "events"): {"create", "patch"},
    }


def test_fleet_role_in_the_agents_namespace(rbac_docs, agent_config):
    """Leases in its own namespace (all six verbs of the slot protocol), and get of its own
    DaemonSet by name: the one daemonset.yaml makes and fleet.daemonSet names."""
    role = find(rbac_docs, "Role", "autotaint-fleet")
    account = find(rbac_docs, "ServiceAccount", "autotaint")["metadata"]
    daemonset = find(load_docs("daemonset.yaml"), "DaemonSet")["metadata"]
    assert role["metadata"]["namespace"] == account["namespace"] == daemonset["namespace"]
    assert agent_config["fleet"]["daemonSet"] == daemonset["name"]
    assert rule_set(role["rules"]) == {
        ("coordination.k8s.io", "leases"): {"get", "list", "create", "update", "patch", "delete"},
        ("apps", "daemonsets", daemonset["name"]): {"get"},
    }


def test_no_cluster_wide_leases_or_daemonsets(rbac_docs):
    """Leases and the DaemonSet only through the namespaced Role, bound by a RoleBinding."""
    for role in (d for d in rbac_docs if d["kind"] in ("ClusterRole", "Role") and d["metadata"]["name"] != "autotaint-fleet"):
        assert not {key[1] for key in rule_set(role["rules"])} & {"leases", "daemonsets"}, role["metadata"]["name"]
    assert all(d["roleRef"]["name"] != "autotaint-fleet" for d in rbac_docs if d["kind"] == "ClusterRoleBinding")


def test_no_other_roles(rbac_docs):
    kinds = [d["kind"] for d in rbac_docs]
    assert kinds.count("ClusterRole") == 1 and kinds.count("Role") == 2
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rbac_docs if d["kind"].endswith("Binding")
                  and d["kind"].startswith(("Cluster", "Role"))) == sorted((kind, name) for kind, name, _ in BINDINGS)


@pytest.mark.parametrize("kind,name,role_kind", BINDINGS)
def test_bindings_name_the_agent_account(rbac_docs, kind, name, role_kind):
    account = find(rbac_docs, "ServiceAccount", "autotaint")["metadata"]
    assert f"system:serviceaccount:{account['namespace']}:{account['name']}" == AGENT_USER
    binding = find(rbac_docs, kind, name)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"],
                                    "namespace": account["namespace"]}]
    if role_kind == "Role":
        assert binding["metadata"]["namespace"] == find(rbac_docs, "Role", name)["metadata"]["namespace"]
    assert find(rbac_docs, "RoleBinding", "autotaint-events")["metadata"]["namespace"] == "default"


def test_policy_matches_node_updates_of_the_agent(rbac_docs):
    policy = find(rbac_docs, "ValidatingAdmissionPolicy", "autotaint-own-node")
    assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [{
        "apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"],
        "resources": ["nodes", "nodes/status"], "scope": "*",
    }]
    # Every Node, cluster-scoped: no selector narrows it (written out: the server's defaults).
    assert spec["matchConstraints"]["namespaceSelector"] == spec["matchConstraints"]["objectSelector"] == {}
    assert [c["expression"] for c in spec["matchConditions"]] == [
        f"request.userInfo.username == '{AGENT_USER}'"]


def test_slot_policy_matches_lease_writes_of_the_agent_in_its_namespace(rbac_docs):
    policy = find(rbac_docs, "ValidatingAdmissionPolicy", "autotaint-own-slots")
    account = find(rbac_docs, "ServiceAccount", "autotaint")["metadata"]
    assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [{
        "apiGroups": ["coordination.k8s.io"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE", "DELETE"],
        "resources": ["leases"], "scope": "*",
    }]
    # The label the API server sets on every Namespace: only the agent's namespace is matched.
    assert spec["matchConstraints"]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": account["namespace"]}}
    assert [c["expression"] for c in spec["matchConditions"]] == [
        f"request.userInfo.username == '{AGENT_USER}'"]


def test_event_policy_matches_event_writes_of_the_agent_in_every_namespace(rbac_docs):
    """Both Events APIs the autotaint-events Role grants, create and patch (UPDATE); no
    namespace selector: the namespace is one of the validations (default only)."""
    policy = find(rbac_docs, "ValidatingAdmissionPolicy", "autotaint-own-events")
    assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [
        {"apiGroups": [group], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["events"],
         "scope": "*"} for group in ("", "events.k8s.io")]
    assert spec["matchConstraints"]["namespaceSelector"] == spec["matchConstraints"]["objectSelector"] == {}
    assert [c["expression"] for c in spec["matchConditions"]] == [
        f"request.userInfo.username == '{AGENT_USER}'"]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_denial_is_forbidden(rbac_docs, name):
    validations = find(rbac_docs, "ValidatingAdmissionPolicy", name)["spec"]["validations"]
    assert len(validations) == POLICIES[name]
    for validation in validations:
        assert validation["reason"] == "Forbidden"
        assert validation.get("message") or validation.get("messageExpression")


def test_no_other_policies(rbac_docs):
    for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        assert sorted(d["metadata"]["name"] for d in rbac_docs if d["kind"] == kind) == sorted(POLICIES)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_binding_denies(rbac_docs, name):
    policy = find(rbac_docs, "ValidatingAdmissionPolicy", name)
    binding = find(rbac_docs, "ValidatingAdmissionPolicyBinding", name)
    assert binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert "paramRef" not in binding["spec"] and "paramKind" not in policy["spec"]
