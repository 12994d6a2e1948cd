"""The ValidatingAdmissionPolicies of rbac.yaml, evaluated on example admission requests:
autotaint-own-node on Node updates, autotaint-own-slots on the fleet guard's Lease writes.

The expressions are read from rbac.yaml (never copied here) and evaluated the way the API server
does: matchConditions first (all true, or the policy does not apply), then the variables in
order (each sees the ones before it as `variables.NAME`), then every validation; a validation
that is false or fails to evaluate denies (failurePolicy: Fail) with its reason and message.
Each case runs on two independent CEL implementations from PyPI: cel-python (pure Python) and
common-expression-language (bindings to the Rust implementation).
"""
import copy

import pytest

from manifest_files import find, load_docs

AGENT = "system:serviceaccount:autotaint:autotaint"
NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name"
CPU_TAINT = {"key": "autotaint.dev/cpu-pressure", "value": "true", "effect": "NoSchedule"}
MEMORY_TAINT = {"key": "autotaint.dev/memory-pressure", "value": "true", "effect": "NoSchedule"}
FOREIGN_TAINTS = [
    {"key": "dedicated", "value": "batch", "effect": "NoSchedule"},
    {"key": "example.com/maintenance", "value": "", "effect": "PreferNoSchedule"},
]
NODE_RULE, TAINT_RULE, CONDITION_RULE, OTHER_FIELDS_RULE = range(4)


# --- two CEL engines ----------------------------------------------------------------------

class CelPython:
    name = "cel-python"

    def __init__(self):
        import celpy
        self.celpy = celpy
        self.environment = celpy.Environment()

    def activation(self, values):
        return {name: self.celpy.json_to_cel(value) if name != "variables" else value
                for name, value in values.items()}

    def evaluate(self, expression, values):
        program = self.environment.program(self.environment.compile(expression))
        activation = self.activation(values)
        activation["variables"] = self.celpy.celtypes.MapType(
            {self.celpy.celtypes.StringType(k): v for k, v in values.get("variables", {}).items()})
        result = program.evaluate(activation)
        if isinstance(result, self.celpy.CELEvalError):
            raise RuntimeError(str(result))
        return result

    @staticmethod
    def native(value):
        return value


class RustCel:
    name = "common-expression-language"

    def __init__(self):
        import cel
        self.cel = cel

    def evaluate(self, expression, values):
        return self.cel.evaluate(expression, values)

    @staticmethod
    def native(value):
        return value


@pytest.fixture(scope="module", params=[CelPython, RustCel], ids=lambda engine: engine.name)
def engine(request):
    return request.param()


# --- the policy, as the API server runs it --------------------------------------------------

NODE_POLICY = find(load_docs("rbac.yaml"), "ValidatingAdmissionPolicy", "autotaint-own-node")["spec"]
LEASE_POLICY = find(load_docs("rbac.yaml"), "ValidatingAdmissionPolicy", "autotaint-own-slots")["spec"]


class Decision:
    def __init__(self, applies, denials, errors):
        self.applies = applies
        self.denials = denials      # [(index, reason, message)]
        self.errors = errors        # [(where, text)]: evaluation errors (they deny too)

    @property
    def allowed(self):
        return not self.denials

    def __repr__(self):
        return f"Decision(applies={self.applies}, denials={self.denials}, errors={self.errors})"


def admit(engine, request, new, old, policy=NODE_POLICY):
    """`new` is None for a DELETE, `old` None for a CREATE (as the API server passes them)."""
    values = {"request": request, "object": new, "oldObject": old}
    for condition in policy["matchConditions"]:
        if not engine.evaluate(condition["expression"], values):
            return Decision(False, [], [])
    variables, errors = {}, []
    for variable in policy.get("variables", []):
        try:
            variables[variable["name"]] = engine.evaluate(variable["expression"], {**values, "variables": variables})
        except Exception as error:  # a variable that fails makes every validation using it fail
            errors.append((variable["name"], str(error)))
    values["variables"] = variables
    denials = []
    for index, validation in enumerate(policy["validations"]):
        try:
            passed = bool(engine.evaluate(validation["expression"], values))
        except Exception as error:
            errors.append((f"validation {index}", str(error)))
            passed = False
        if not passed:
            message = validation.get("message")
            if "messageExpression" in validation:
                message = str(engine.evaluate(validation["messageExpression"], values))
            denials.append((index, validation.get("reason", "Invalid"), message))
    return Decision(True, denials, errors)


# --- example objects and requests -----------------------------------------------------------

def node(name="node-1", taints=None, conditions=None):
    result = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name, "resourceVersion": "1042",
            "labels": {"kubernetes.io/hostname": name, "node-role.kubernetes.io/worker": ""},
            "annotations": {"autotaint.dev/cpu-high-percent": "90"},
        },
        "spec": {"podCIDR": "10.244.1.0/24"},
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "7800m", "memory": "31Gi", "pods": "110"},
            "conditions": conditions if conditions is not None else kubelet_conditions(),
        },
    }
    if taints is not None:
        result["spec"]["taints"] = taints
    return result


def kubelet_conditions():
    return [
        {"type": kind, "status": "False", "reason": f"KubeletHas{kind}", "message": "ok",
         "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
          "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]


def own_condition(kind="CPUPressure", status="True"):
    return {"type": kind, "status": status, "reason": "CPUUsageHigh", "message": "CPU 93.4% >= 80% for 30s (proc)",
            "lastHeartbeatTime": "2026-01-01T00:05:00Z", "lastTransitionTime": "2026-01-01T00:05:00Z"}


def user_info(user=AGENT, token_node="node-1", extra=None):
    result = {"username": user, "uid": "5b0d", "groups": ["system:serviceaccounts", "system:authenticated"]}
    if extra is None and token_node is not None:
        extra = {NODE_NAME_EXTRA: [token_node], "authentication.kubernetes.io/pod-name": ["autotaint-x7k2p"]}
    if extra is not None:
        result["extra"] = extra
    return result


def request(name="node-1", sub_resource="", user=AGENT, token_node="node-1", extra=None):
    result = {"operation": "UPDATE", "name": name, "userInfo": user_info(user, token_node, extra),
              "resource": {"group": "", "version": "v1", "resource": "nodes"}}
    if sub_resource:
        result["subResource"] = sub_resource
    return result


def with_taints(old, taints):
    new = copy.deepcopy(old)
    if taints is None:
        new["spec"].pop("taints", None)
    else:
        new["spec"]["taints"] = taints
    return new


def with_conditions(old, conditions):
    new = copy.deepcopy(old)
    new["status"]["conditions"] = conditions
    return new


def denied_by(decision, *rules):
    assert decision.applies
    assert sorted(index for index, _, _ in decision.denials) == sorted(rules), decision
    assert all(reason == "Forbidden" for _, reason, _ in decision.denials), decision
    assert all(message for _, _, message in decision.denials), decision
    # A denial comes from an expression that is false, not from one that failed.
    assert not decision.errors, decision


def allowed(decision):
    assert decision.applies and decision.allowed and not decision.errors, decision


# --- the policy's own parameters agree with the ConfigMap ------------------------------------

def test_own_keys_and_types_are_the_configmaps(engine, own_taint_keys, own_condition_types):
    variables = {v["name"]: v["expression"] for v in NODE_POLICY["variables"]}
    assert sorted(engine.evaluate(variables["ownTaintKeys"], {})) == own_taint_keys
    assert sorted(engine.evaluate(variables["ownConditionTypes"], {})) == own_condition_types


# --- taints on the main resource ------------------------------------------------------------

def test_own_node_adds_own_taint_keeping_foreign_ones_in_order(engine):
    old = node(taints=FOREIGN_TAINTS)
    allowed(admit(engine, request(), with_taints(old, FOREIGN_TAINTS + [CPU_TAINT]), old))


def test_own_node_adds_own_taint_to_untainted_node(engine):
    old = node()
    allowed(admit(engine, request(), with_taints(old, [CPU_TAINT]), old))


def test_own_node_removes_its_last_taint(engine):
    old = node(taints=[CPU_TAINT])
    allowed(admit(engine, request(), with_taints(old, None), old))


def test_own_node_removes_own_taint_between_foreign_ones(engine):
    old = node(taints=[FOREIGN_TAINTS[0], CPU_TAINT, FOREIGN_TAINTS[1]])
    allowed(admit(engine, request(), with_taints(old, FOREIGN_TAINTS), old))


def test_own_node_adds_memory_taint_and_changes_cpu_effect(engine):
    old = node(taints=FOREIGN_TAINTS + [CPU_TAINT])
    new_taints = FOREIGN_TAINTS + [dict(CPU_TAINT, effect="PreferNoSchedule"), MEMORY_TAINT]
    allowed(admit(engine, request(), with_taints(old, new_taints), old))


def test_other_node_is_forbidden(engine):
    old = node(name="node-2", taints=FOREIGN_TAINTS)
    decision = admit(engine, request(name="node-2", token_node="node-1"),
                     with_taints(old, FOREIGN_TAINTS + [CPU_TAINT]), old)
    denied_by(decision, NODE_RULE)
    assert "node-1" in decision.denials[0][2] and "node-2" in decision.denials[0][2]


def test_node_name_is_compared_whole(engine):
    """node-1's agent may not touch node-10 (the seed script's regex bug, here impossible)."""
    old = node(name="node-10")
    denied_by(admit(engine, request(name="node-10", token_node="node-1"), with_taints(old, [CPU_TAINT]), old),
              NODE_RULE)


def test_token_without_node_name_is_forbidden(engine):
    old = node()
    decision = admit(engine, request(token_node=None), with_taints(old, [CPU_TAINT]), old)
    denied_by(decision, NODE_RULE)
    assert "names no node" in decision.denials[0][2]


def test_token_extra_without_node_name_key_is_forbidden(engine):
    old = node()
    extra = {"authentication.kubernetes.io/pod-name": ["autotaint-x7k2p"]}
    denied_by(admit(engine, request(extra=extra), with_taints(old, [CPU_TAINT]), old), NODE_RULE)


def test_token_with_two_node_names_is_forbidden(engine):
    old = node()
    extra = {NODE_NAME_EXTRA: ["node-1", "node-2"]}
    denied_by(admit(engine, request(extra=extra), with_taints(old, [CPU_TAINT]), old), NODE_RULE)


def test_removing_a_foreign_taint_is_forbidden(engine):
    old = node(taints=FOREIGN_TAINTS + [CPU_TAINT])
    denied_by(admit(engine, request(), with_taints(old, [FOREIGN_TAINTS[1], CPU_TAINT]), old), TAINT_RULE)


def test_adding_a_foreign_taint_is_forbidden(engine):
    old = node(taints=[CPU_TAINT])
    unschedulable = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    denied_by(admit(engine, request(), with_taints(old, [CPU_TAINT, unschedulable]), old), TAINT_RULE)


def test_changing_a_foreign_taint_is_forbidden(engine):
    old = node(taints=FOREIGN_TAINTS)
    changed = [dict(FOREIGN_TAINTS[0], effect="NoExecute"), FOREIGN_TAINTS[1]]
    denied_by(admit(engine, request(), with_taints(old, changed), old), TAINT_RULE)


def test_reordering_foreign_taints_is_forbidden(engine):
    old = node(taints=FOREIGN_TAINTS)
    denied_by(admit(engine, request(), with_taints(old, list(reversed(FOREIGN_TAINTS))), old), TAINT_RULE)


def test_foreign_taint_on_other_node_breaks_both_rules(engine):
    old = node(name="node-2", taints=FOREIGN_TAINTS)
    denied_by(admit(engine, request(name="node-2"), with_taints(old, []), old), NODE_RULE, TAINT_RULE)


# --- conditions on /status ------------------------------------------------------------------

def test_own_condition_on_own_node(engine):
    old = node()
    new = with_conditions(old, kubelet_conditions() + [own_condition()])
    allowed(admit(engine, request(sub_resource="status"), new, old))


def test_own_conditions_updated_and_memory_added(engine):
    old = node(conditions=kubelet_conditions() + [own_condition()])
    new = with_conditions(old, kubelet_conditions() + [own_condition(status="Unknown"),
                                                        own_condition("MemoryUsagePressure", "False")])
    allowed(admit(engine, request(sub_resource="status"), new, old))


def test_own_condition_on_other_node_is_forbidden(engine):
    old = node(name="node-2")
    new = with_conditions(old, kubelet_conditions() + [own_condition()])
    denied_by(admit(engine, request(name="node-2", sub_resource="status"), new, old), NODE_RULE)


def test_changing_kubelets_ready_is_forbidden(engine):
    old = node()
    conditions = kubelet_conditions()
    conditions[-1] = dict(conditions[-1], status="False", reason="AutotaintSaysSo")
    denied_by(admit(engine, request(sub_resource="status"), with_conditions(old, conditions), old), CONDITION_RULE)


def test_removing_a_kubelet_condition_is_forbidden(engine):
    old = node()
    conditions = [c for c in kubelet_conditions() if c["type"] != "MemoryPressure"] + [own_condition()]
    denied_by(admit(engine, request(sub_resource="status"), with_conditions(old, conditions), old), CONDITION_RULE)


def test_writing_a_kubelet_condition_type_is_forbidden(engine):
    old = node(conditions=[c for c in kubelet_conditions() if c["type"] != "DiskPressure"])
    new = with_conditions(old, kubelet_conditions())
    denied_by(admit(engine, request(sub_resource="status"), new, old), CONDITION_RULE)


# --- everything else the scheduler reads ----------------------------------------------------

@pytest.mark.parametrize("change", ["label", "annotation", "unschedulable", "capacity", "allocatable"])
def test_other_node_fields_are_forbidden(engine, change):
    old = node(taints=[CPU_TAINT])
    new = copy.deepcopy(old)
    if change == "label":
        new["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = ""
    elif change == "annotation":
        del new["metadata"]["annotations"]["autotaint.dev/cpu-high-percent"]
    elif change == "unschedulable":
        new["spec"]["unschedulable"] = True
    else:
        new["status"][change]["cpu"] = "64"
    sub_resource = "status" if change in ("capacity", "allocatable") else ""
    denied_by(admit(engine, request(sub_resource=sub_resource), new, old), OTHER_FIELDS_RULE)


def test_unschedulable_false_written_out_is_no_change(engine):
    old = node()
    new = copy.deepcopy(old)
    new["spec"]["unschedulable"] = False
    allowed(admit(engine, request(), new, old))


# --- who the policy applies to --------------------------------------------------------------

@pytest.mark.parametrize("user", ["system:node:node-1", "kubernetes-admin",
                                  "system:serviceaccount:kube-system:node-controller",
                                  "system:serviceaccount:other:autotaint"])
def test_other_users_are_not_matched(engine, user):
    old = node(name="node-2", taints=FOREIGN_TAINTS)
    decision = admit(engine, request(name="node-2", user=user, token_node=None), with_taints(old, []), old)
    assert not decision.applies and decision.allowed


def test_a_broken_expression_would_deny(engine):
    """The harness counts a failing expression as a denial (failurePolicy: Fail) and reports it."""
    saved = NODE_POLICY["validations"][TAINT_RULE]["expression"]
    NODE_POLICY["validations"][TAINT_RULE]["expression"] = "variables.noSuchVariable == 1"
    try:
        old = node()
        decision = admit(engine, request(), with_taints(old, [CPU_TAINT]), old)
    finally:
        NODE_POLICY["validations"][TAINT_RULE]["expression"] = saved
    assert [index for index, _, _ in decision.denials] == [TAINT_RULE] and decision.errors


# --- the fleet guard's slot Leases (autotaint-own-slots) ------------------------------------

SLOT_NAME_RULE, HOLDER_RULE, OTHERS_SLOT_RULE, DURATION_RULE = range(4)
SLOT = "autotaint-slot-0"
ABSENT = "(no holderIdentity)"   # the field not set at all: counts as empty


def lease(holder, name=SLOT, duration=120):
    spec = {"holderIdentity": holder, "leaseDurationSeconds": duration,
            "acquireTime": "2026-12-04T17:30:26.123456Z", "renewTime": "2026-12-04T17:32:26.123456Z",
            "leaseTransitions": 2}
    if holder == ABSENT:
        del spec["holderIdentity"]
    if duration is None:
        del spec["leaseDurationSeconds"]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "autotaint", "resourceVersion": "731",
                         "labels": {"app.kubernetes.io/name": "autotaint", "autotaint.dev/role": "fleet-slot"}},
            "spec": spec}


def admit_lease(engine, operation, name, old_holder, new_holder, duration=120, **user):
    """One Lease write: no old object on CREATE, no new one on DELETE (the API server's nulls)."""
    old = None if operation == "CREATE" else lease(old_holder, name)
    new = None if operation == "DELETE" else lease(new_holder, name, duration)
    request_ = {"operation": operation, "name": name, "namespace": "autotaint", "userInfo": user_info(**user),
                "resource": {"group": "coordination.k8s.io", "version": "v1", "resource": "leases"}}
    return admit(engine, request_, new, old, LEASE_POLICY)


# (operation, Lease name, old holderIdentity, new holderIdentity, the rules that deny) for the
# agent of node-1; None: no such object for that operation.
LEASE_CASES = {
    "create own slot": ("CREATE", SLOT, None, "node-1", []),
    "create free slot": ("CREATE", SLOT, None, "", []),
    "create slot without holderIdentity": ("CREATE", SLOT, None, ABSENT, []),
    "create slot for another node": ("CREATE", SLOT, None, "node-2", [HOLDER_RULE]),
    "create a non-slot lease": ("CREATE", "kube-scheduler", None, "node-1", [SLOT_NAME_RULE]),
    "create a name with the prefix inside": ("CREATE", "x-autotaint-slot-0", None, "", [SLOT_NAME_RULE]),
    "renew own slot": ("UPDATE", SLOT, "node-1", "node-1", []),
    "take a free slot": ("UPDATE", SLOT, "", "node-1", []),
    "take a slot without holderIdentity": ("UPDATE", SLOT, ABSENT, "node-1", []),
    "take over another node's slot": ("UPDATE", SLOT, "node-2", "node-1", []),
    "hand another node's slot to a third": ("UPDATE", SLOT, "node-2", "node-3", [HOLDER_RULE, OTHERS_SLOT_RULE]),
    "release another node's slot": ("UPDATE", SLOT, "node-2", "", [OTHERS_SLOT_RULE]),
    "release another node's slot by dropping holderIdentity": ("UPDATE", SLOT, "node-2", ABSENT, [OTHERS_SLOT_RULE]),
    "change another node's slot keeping its holder": ("UPDATE", SLOT, "node-2", "node-2",
                                                      [HOLDER_RULE, OTHERS_SLOT_RULE]),
    "release own slot": ("UPDATE", SLOT, "node-1", "", []),
    "release own slot by dropping holderIdentity": ("UPDATE", SLOT, "node-1", ABSENT, []),
    "hand own slot to another node": ("UPDATE", SLOT, "node-1", "node-2", [HOLDER_RULE]),
    "give a free slot to another node": ("UPDATE", SLOT, "", "node-2", [HOLDER_RULE]),
    "holder name compared whole": ("UPDATE", SLOT, "", "node-10", [HOLDER_RULE]),
    "take over from node-10": ("UPDATE", "autotaint-slot-17", "node-10", "node-1", []),
    "update a non-slot lease": ("UPDATE", "kube-controller-manager", "", "node-1", [SLOT_NAME_RULE]),
    "delete a free slot": ("DELETE", SLOT, "", None, []),
    "delete own slot": ("DELETE", SLOT, "node-1", None, []),
    "delete another node's slot": ("DELETE", SLOT, "node-2", None, [OTHERS_SLOT_RULE]),
    "delete a non-slot lease": ("DELETE", "kube-scheduler", "", None, [SLOT_NAME_RULE]),
    "delete a held non-slot lease": ("DELETE", "kube-scheduler", "master-1_8e2c", None,
                                     [SLOT_NAME_RULE, OTHERS_SLOT_RULE]),
}


@pytest.mark.parametrize("case", sorted(LEASE_CASES))
def test_slot_lease_writes(engine, case):
    operation, name, old_holder, new_holder, rules = LEASE_CASES[case]
    decision = admit_lease(engine, operation, name, old_holder, new_holder)
    if rules:
        denied_by(decision, *rules)
    else:
        allowed(decision)


def test_denials_name_the_nodes_and_the_slot(engine):
    decision = admit_lease(engine, "UPDATE", "autotaint-slot-3", "node-2", "node-3")
    denied_by(decision, HOLDER_RULE, OTHERS_SLOT_RULE)
    for _, _, message in decision.denials:
        assert "node-1" in message and "autotaint-slot-3" in message
    assert "node-3" in decision.denials[0][2] and "node-2" in decision.denials[1][2]
    decision = admit_lease(engine, "CREATE", "kube-scheduler", None, "")
    denied_by(decision, SLOT_NAME_RULE)
    assert "kube-scheduler" in decision.denials[0][2]


@pytest.mark.parametrize("duration,rules", [(3, []), (6, []), (120, []), (3600, []), (None, []),
                                            (2, [DURATION_RULE]), (0, [DURATION_RULE]),
                                            (3601, [DURATION_RULE]), (31536000, [DURATION_RULE])])
@pytest.mark.parametrize("operation,old_holder", [("CREATE", None), ("UPDATE", "node-1"), ("UPDATE", "node-2")])
def test_a_held_slot_expires_within_fleet_lease_durations_range(engine, duration, rules, operation, old_holder):
    decision = admit_lease(engine, operation, SLOT, old_holder, "node-1", duration)
    if rules:
        denied_by(decision, *rules)
    else:
        allowed(decision)


def test_a_free_slot_may_keep_any_duration(engine):
    allowed(admit_lease(engine, "UPDATE", SLOT, "node-1", "", 31536000))


@pytest.mark.parametrize("new_holder,rules", [("", [SLOT_NAME_RULE]), ("node-1", [SLOT_NAME_RULE, HOLDER_RULE])])
@pytest.mark.parametrize("token", ["none", "no node-name key", "two node names"])
def test_token_without_one_node_name_writes_no_slot(engine, token, new_holder, rules):
    user = {"none": {"token_node": None},
            "no node-name key": {"extra": {"authentication.kubernetes.io/pod-name": ["autotaint-x7k2p"]}},
            "two node names": {"extra": {NODE_NAME_EXTRA: ["node-1", "node-2"]}}}[token]
    decision = admit_lease(engine, "CREATE", SLOT, None, new_holder, **user)
    denied_by(decision, *rules)
    assert "names its node" in decision.denials[0][2]


@pytest.mark.parametrize("user", ["system:kube-scheduler", "system:kube-controller-manager", "system:node:node-1",
                                  "kubernetes-admin", "system:serviceaccount:other:autotaint"])
def test_other_users_leases_are_not_matched(engine, user):
    decision = admit_lease(engine, "UPDATE", "kube-scheduler", "master-1_8e2c", "master-2_0b7d",
                           user=user, token_node=None)
    assert not decision.applies and decision.allowed


def test_both_policies_read_the_token_node_name_alike(engine):
    expressions = [{v["name"]: v["expression"] for v in policy["variables"]}["tokenNodeName"]
                   for policy in (NODE_POLICY, LEASE_POLICY)]
    assert expressions[0] == expressions[1]
    values = {"request": request(token_node="node-7")}
    assert engine.evaluate(expressions[0], values) == "node-7"
