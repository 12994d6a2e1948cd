"""No field the API server would default is left out of the manifests, so that what is applied
is what the server stores and GitOps tools (and `kubectl apply`, which answered `configured` for
both admission policies on every run before `scope: "*"` was written out) show no drift.

The table is the API server's defaulting for the kinds in rbac.yaml and daemonset.yaml whose
defaults land inside a list that a three-way diff compares whole or that the issue asked for:
  - admissionregistration.k8s.io/v1, from k8s.io/kubernetes
    pkg/apis/admissionregistration/v1/defaults.go (SetDefaults_ValidatingAdmissionPolicySpec:
    failurePolicy Fail; SetDefaults_MatchResources: matchPolicy Equivalent, namespaceSelector {},
    objectSelector {}; SetDefaults_Rule: scope "*") as zz_generated.defaults.go applies them:
    to the policy's spec and its matchConstraints, resourceRules and excludeResourceRules; to a
    binding's matchResources (and its rules) only when the binding has one (no default adds one,
    and a binding's paramRef has no v1 default);
  - rbac.authorization.k8s.io/v1, from pkg/apis/rbac/v1/defaults.go: roleRef.apiGroup of a
    (Cluster)RoleBinding, and subjects[].apiGroup of a User or Group subject
    (rbac.authorization.k8s.io; a ServiceAccount subject's default is "", which is no field).
The objects of daemonset.yaml (ConfigMap, DaemonSet) get their defaults (revisionHistoryLimit,
dnsPolicy, terminationMessagePath, ...) only in maps and in lists merged by key (containers,
env, ports, volumes), which a three-way diff leaves alone; its atomic lists (tolerations, args,
capabilities.drop) have no defaulted field. So the DaemonSet is not in the table.

Rendered twice: the two files as `kubectl apply -f` sends them, and `kubectl kustomize .`.
"""
import copy

import pytest

from manifest_files import REPO, load_docs
from test_kustomize import kustomize

MATCH_RESOURCES = {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {}}
RULE = {"scope": "*"}
# kind: [(path to a map or to a list of maps, or None for the object itself; the fields the
# server fills in when absent, with their defaults)]. A path ending in [] is a list, each of
# whose entries gets the fields. A parent that is absent gets nothing (nothing is defaulted
# into a map the manifest does not have, except where the path says so).
DEFAULTED = {
    "ValidatingAdmissionPolicy": [
        ("spec", {"failurePolicy": "Fail"}),
        ("spec.matchConstraints", MATCH_RESOURCES),
        ("spec.matchConstraints.resourceRules[]", RULE),
        ("spec.matchConstraints.excludeResourceRules[]", RULE),
    ],
    "ValidatingAdmissionPolicyBinding": [
        ("spec.matchResources", MATCH_RESOURCES),
        ("spec.matchResources.resourceRules[]", RULE),
        ("spec.matchResources.excludeResourceRules[]", RULE),
    ],
    "RoleBinding": [("roleRef", {"apiGroup": "rbac.authorization.k8s.io"})],
    "ClusterRoleBinding": [("roleRef", {"apiGroup": "rbac.authorization.k8s.io"})],
}
SUBJECT_KINDS_WITH_A_GROUP = ("User", "Group")


def parents(doc, path):
    """The maps at `path` ("a.b" or "a.b[]"), with their locations; none if a parent is absent."""
    found = [(doc, doc["kind"] + " " + doc["metadata"]["name"])]
    for step in path.split("."):
        is_list = step.endswith("[]")
        key = step[:-2] if is_list else step
        following = []
        for value, where in found:
            if isinstance(value, dict) and key in value:
                child = value[key]
                if is_list:
                    following += [(entry, f"{where}.{key}[{i}]") for i, entry in enumerate(child or [])]
                else:
                    following.append((child, f"{where}.{key}"))
        found = following
    return found


def missing_defaults(docs):
    """Every field the server would default that a document leaves out, as 'Kind name.path.field'."""
    missing = []
    for doc in docs:
        for path, fields in DEFAULTED.get(doc["kind"], []):
            for value, where in parents(doc, path):
                missing += [f"{where}.{field} (default {default!r})" for field, default in fields.items()
                            if not isinstance(value, dict) or field not in value]
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for i, subject in enumerate(doc.get("subjects") or []):
                if subject.get("kind") in SUBJECT_KINDS_WITH_A_GROUP and "apiGroup" not in subject:
                    missing.append(f"{doc['kind']} {doc['metadata']['name']}.subjects[{i}].apiGroup")
    return missing


def plain_files():
    return load_docs("rbac.yaml") + load_docs("daemonset.yaml")


RENDERS = {"rbac.yaml + daemonset.yaml": plain_files, "kubectl kustomize .": lambda: kustomize(REPO)}


@pytest.mark.parametrize("render", sorted(RENDERS))
def test_no_server_default_is_left_out(render):
    docs = RENDERS[render]()
    # Not vacuous: the admission policies and their bindings are there to be checked.
    kinds = [d["kind"] for d in docs]
    assert kinds.count("ValidatingAdmissionPolicy") >= 2 and kinds.count("ValidatingAdmissionPolicyBinding") >= 2
    assert missing_defaults(docs) == []


def test_written_defaults_are_the_servers():
    """Where the manifests write a defaulted field of an admission policy, it is the default:
    writing it out changes nothing on the server (only the policies' namespaceSelectors, which
    are their point, and no other field, differ from it)."""
    for doc in plain_files():
        if doc["kind"] != "ValidatingAdmissionPolicy":
            continue
        spec = doc["spec"]
        assert spec["failurePolicy"] == "Fail"
        constraints = spec["matchConstraints"]
        assert constraints["matchPolicy"] == "Equivalent" and constraints["objectSelector"] == {}
        assert all(rule["scope"] == "*" for rule in constraints["resourceRules"])


@pytest.mark.parametrize("drop", ["spec.failurePolicy", "spec.matchConstraints.matchPolicy",
                                  "spec.matchConstraints.namespaceSelector", "spec.matchConstraints.objectSelector",
                                  "spec.matchConstraints.resourceRules.0.scope"])
def test_a_left_out_default_is_found(drop):
    docs = copy.deepcopy(plain_files())
    policy = next(d for d in docs if d["kind"] == "ValidatingAdmissionPolicy")
    *path, field = drop.split(".")
    parent = policy
    for step in path:
        parent = parent[int(step)] if step.isdigit() else parent[step]
    del parent[field]
    missing = missing_defaults(docs)
    assert len(missing) == 1 and missing[0].startswith(f"ValidatingAdmissionPolicy {policy['metadata']['name']}.")
    assert field in missing[0]


def test_a_binding_with_match_resources_needs_their_defaults():
    binding = {"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "b"},
               "spec": {"policyName": "p", "validationActions": ["Deny"],
                        "matchResources": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                              "operations": ["UPDATE"], "resources": ["nodes"]}]}}}
    assert sorted(missing_defaults([binding])) == sorted([
        "ValidatingAdmissionPolicyBinding b.spec.matchResources.matchPolicy (default 'Equivalent')",
        "ValidatingAdmissionPolicyBinding b.spec.matchResources.namespaceSelector (default {})",
        "ValidatingAdmissionPolicyBinding b.spec.matchResources.objectSelector (default {})",
        "ValidatingAdmissionPolicyBinding b.spec.matchResources.resourceRules[0].scope (default '*')",
    ])
    del binding["spec"]["matchResources"]
    assert missing_defaults([binding]) == []


def test_rbac_subject_and_role_ref_groups():
    binding = {"kind": "ClusterRoleBinding", "metadata": {"name": "c"}, "roleRef": {"kind": "ClusterRole", "name": "x"},
               "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]}
    assert missing_defaults([binding]) == [
        "ClusterRoleBinding c.roleRef.apiGroup (default 'rbac.authorization.k8s.io')",
        "ClusterRoleBinding c.subjects[0].apiGroup"]
