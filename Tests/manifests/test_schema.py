"""Every manifest validates against the Kubernetes OpenAPI schemas (kubernetes-validate, strict:
unknown fields are errors) of 1.30, the oldest release the deployment supports, and of every
later release the package knows."""
import copy

import kubernetes_validate
import pytest

from manifest_files import load_docs

SUPPORTED = ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35", kubernetes_validate.latest_version()]
FILES = ["daemonset.yaml", "rbac.yaml"]


@pytest.mark.parametrize("version", SUPPORTED)
@pytest.mark.parametrize("name", FILES)
def test_manifests_validate_strictly(name, version):
    docs = load_docs(name)
    assert docs, f"{name} has no documents"
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_file_kinds():
    assert [d["kind"] for d in load_docs("daemonset.yaml")] == ["ConfigMap", "DaemonSet"]
    assert [d["kind"] for d in load_docs("rbac.yaml")] == [
        "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
        "Role", "RoleBinding",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    ]


def test_validator_rejects_an_unknown_field(daemonset):
    """The validation above can fail: a misspelt field is an error in strict mode."""
    broken = copy.deepcopy(daemonset)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30", strict=True)


def test_validator_rejects_a_wrong_type(daemonset):
    broken = copy.deepcopy(daemonset)
    broken["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "thirty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30", strict=True)


def test_admission_policy_v1_needs_1_30(rbac_docs):
    """admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy is GA in 1.30: 1.29's schemas
    do not have it, which is why 1.30 is the floor."""
    policies = [d for d in rbac_docs if d["kind"] == "ValidatingAdmissionPolicy"]
    assert len(policies) == 3
    for policy in policies:
        with pytest.raises((kubernetes_validate.SchemaNotFoundError, kubernetes_validate.ValidationError)):
            kubernetes_validate.validate(policy, "1.29", strict=True)
