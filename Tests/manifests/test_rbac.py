"""rbac.yaml grants exactly what docs/kubernetes-api.md lists and wires the admission
policy to the agent's service account."""
from manifest_files import find

AGENT_USER = "system:serviceaccount:autotaint:autotaint"


def rule_set(rules):
    """{(group, resource): {verbs}} with no wildcard anywhere."""
    granted = {}
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}"
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
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


def test_no_other_roles(rbac_docs):
    kinds = [d["kind"] for d in rbac_docs]
    assert kinds.count("ClusterRole") == 1 and kinds.count("Role") == 1


def test_bindings_name_the_agent_account(rbac_docs):
    account = find(rbac_docs, "ServiceAccount", "autotaint")["metadata"]
    assert f"system:serviceaccount:{account['namespace']}:{account['name']}" == AGENT_USER
    for kind, role_kind, role_name in (("ClusterRoleBinding", "ClusterRole", "autotaint"),
                                       ("RoleBinding", "Role", "autotaint-events")):
        binding = find(rbac_docs, kind)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"],
                                        "namespace": account["namespace"]}]
    assert find(rbac_docs, "RoleBinding")["metadata"]["namespace"] == "default"


def test_policy_matches_node_updates_of_the_agent(rbac_docs):
    policy = find(rbac_docs, "ValidatingAdmissionPolicy")
    assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [{
        "apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"],
        "resources": ["nodes", "nodes/status"],
    }]
    assert [c["expression"] for c in spec["matchConditions"]] == [
        f"request.userInfo.username == '{AGENT_USER}'"]


def test_every_denial_is_forbidden(rbac_docs):
    validations = find(rbac_docs, "ValidatingAdmissionPolicy")["spec"]["validations"]
    assert len(validations) == 4
    for validation in validations:
        assert validation["reason"] == "Forbidden"
        assert validation.get("message") or validation.get("messageExpression")


def test_binding_denies(rbac_docs):
    policy = find(rbac_docs, "ValidatingAdmissionPolicy")
    binding = find(rbac_docs, "ValidatingAdmissionPolicyBinding")
    assert binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert "paramRef" not in binding["spec"] and "paramKind" not in policy["spec"]
