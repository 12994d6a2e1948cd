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
FLEET_LABEL = "autotaint.dev/fleet"
DEFAULT_FLEET = "autotaint"      # the default DaemonSet's: fleet.daemonSet's default
LEGACY = "(no fleet label)"      # a slot of an earlier version: counts as fleet autotaint
GPU = "autotaint-gpu"            # a pool's DaemonSet (deploy/components/pools)


def lease(holder, name=SLOT, duration=120, fleet=DEFAULT_FLEET):
    """A slot Lease as the agent writes it: its fleet's label and the slot-state label (or,
    with fleet=LEGACY, as earlier versions wrote it: no fleet label)."""
    spec = {"holderIdentity": holder, "leaseDurationSeconds": duration,
            "acquireTime": "2026-12-04T17:30:26.123456Z", "renewTime": "2026-12-04T17:32:26.123456Z",
            "leaseTransitions": 2}
    if holder == ABSENT:
        del spec["holderIdentity"]
    if duration is None:
        del spec["leaseDurationSeconds"]
    labels = {"app.kubernetes.io/name": "autotaint", "autotaint.dev/role": "fleet-slot",
              "autotaint.dev/slot-state": "free" if holder in ("", ABSENT) else "held"}
    if fleet != LEGACY:
        labels[FLEET_LABEL] = fleet
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "autotaint", "resourceVersion": "731", "labels": labels},
            "spec": spec}


def admit_lease(engine, operation, name, old_holder, new_holder, duration=120, old_fleet=DEFAULT_FLEET,
                new_fleet=DEFAULT_FLEET, **user):
    """One Lease write: no old object on CREATE, no new one on DELETE (the API server's nulls)."""
    old = None if operation == "CREATE" else lease(old_holder, name, fleet=old_fleet)
    new = None if operation == "DELETE" else lease(new_holder, name, duration, new_fleet)
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


# (operation, Lease name, the stored Lease's fleet label, the written one's, the rules that
# deny) for node-1's agent: CREATE makes a slot it holds, UPDATE takes a free one, DELETE
# deletes a free one. LEGACY: no fleet label; None: no such object for that operation.
FLEET_CASES = {
    "create a slot of a pool's fleet": ("CREATE", "autotaint-gpu-slot-0", None, GPU, []),
    "create a pool's slot 1500": ("CREATE", "autotaint-gpu-slot-1500", None, GPU, []),
    "create a pool's slot labelled with another pool's fleet": ("CREATE", "autotaint-gpu-slot-0", None,
                                                                "autotaint-general", [SLOT_NAME_RULE]),
    "create a default slot labelled with a pool's fleet": ("CREATE", SLOT, None, GPU, [SLOT_NAME_RULE]),
    "create a slot of an earlier version (unlabelled)": ("CREATE", "autotaint-slot-3", None, LEGACY, []),
    "create a pool's slot unlabelled (it would be fleet autotaint's)": ("CREATE", "autotaint-gpu-slot-0", None,
                                                                        LEGACY, [SLOT_NAME_RULE]),
    "create a slot with an empty fleet label": ("CREATE", SLOT, None, "", [SLOT_NAME_RULE]),
    "create a name with the prefix inside (fleet a)": ("CREATE", "a-slot-x-slot-1", None, "a", [SLOT_NAME_RULE]),
    "create a name with the pool's prefix inside": ("CREATE", "x-autotaint-gpu-slot-0", None, GPU, [SLOT_NAME_RULE]),
    "create a pool's name under the default fleet": ("CREATE", "autotaint-gpu-slot-0", None, DEFAULT_FLEET,
                                                     [SLOT_NAME_RULE]),
    "take a slot of an earlier version, adding the label": ("UPDATE", "autotaint-slot-3", LEGACY, DEFAULT_FLEET, []),
    "take a slot of an earlier version, leaving it unlabelled": ("UPDATE", "autotaint-slot-3", LEGACY, LEGACY, []),
    "take a labelled default slot, dropping the label": ("UPDATE", "autotaint-slot-3", DEFAULT_FLEET, LEGACY, []),
    "take a slot of an earlier version, labelling it a pool's": ("UPDATE", "autotaint-slot-3", LEGACY, GPU,
                                                                 [SLOT_NAME_RULE]),
    "take a pool's slot": ("UPDATE", "autotaint-gpu-slot-2", GPU, GPU, []),
    "take a pool's slot, moving it to another pool's fleet": ("UPDATE", "autotaint-gpu-slot-2", GPU,
                                                              "autotaint-general", [SLOT_NAME_RULE]),
    "take a pool's slot, dropping the label": ("UPDATE", "autotaint-gpu-slot-2", GPU, LEGACY, [SLOT_NAME_RULE]),
    "label an unlabelled Lease into the fleet its name fits": ("UPDATE", "autotaint-gpu-slot-0", LEGACY, GPU,
                                                               [SLOT_NAME_RULE]),
    "delete a pool's free slot": ("DELETE", "autotaint-gpu-slot-0", GPU, None, []),
    "delete a free slot of an earlier version": ("DELETE", "autotaint-slot-3", LEGACY, None, []),
    "delete a pool's slot stored unlabelled (judged on the stored Lease)": ("DELETE", "autotaint-gpu-slot-0", LEGACY,
                                                                            None, [SLOT_NAME_RULE]),
    "delete a pool's slot stored with another fleet's label": ("DELETE", "autotaint-gpu-slot-0", "autotaint-general",
                                                               None, [SLOT_NAME_RULE]),
}


@pytest.mark.parametrize("case", sorted(FLEET_CASES))
def test_slot_fleets(engine, case):
    operation, name, old_fleet, new_fleet, rules = FLEET_CASES[case]
    old_holder = None if operation == "CREATE" else ""
    new_holder = None if operation == "DELETE" else "node-1"
    decision = admit_lease(engine, operation, name, old_holder, new_holder, old_fleet=old_fleet, new_fleet=new_fleet)
    if rules:
        denied_by(decision, *rules)
    else:
        allowed(decision)


@pytest.mark.parametrize("fleet", [DEFAULT_FLEET, GPU, "a", "pool.zone-a_1"])
@pytest.mark.parametrize("index,admitted", [("0", True), ("7", True), ("10", True), ("1500", True),
                                            ("", False), ("01", False), ("00", False), ("-1", False),
                                            ("x", False), ("1a", False), ("1-slot-2", False), ("1.5", False)])
def test_the_index_is_decimal_without_leading_zeros(engine, fleet, index, admitted):
    decision = admit_lease(engine, "CREATE", f"{fleet}-slot-{index}", None, "node-1", new_fleet=fleet)
    if admitted:
        allowed(decision)
    else:
        denied_by(decision, SLOT_NAME_RULE)


def test_an_unlabelled_slot_is_the_default_daemonsets(engine, agent_config):
    """A Lease without the fleet label counts as the fleet of the DaemonSet that daemonset.yaml
    makes and fleet.daemonSet names by default: with the default, nothing changes."""
    variables = {v["name"]: v["expression"] for v in LEASE_POLICY["variables"]}
    assert engine.evaluate(variables["legacyFleet"], {}) == agent_config["fleet"]["daemonSet"] == DEFAULT_FLEET
    assert engine.evaluate(variables["fleetLabel"], {}) == FLEET_LABEL


def test_fleet_denials_say_which_fleet(engine):
    decision = admit_lease(engine, "UPDATE", "autotaint-gpu-slot-2", "", "node-1", old_fleet=GPU,
                           new_fleet="autotaint-general")
    assert decision.denials[0][2] == ("autotaint may not move Lease autotaint-gpu-slot-2 from fleet autotaint-gpu "
                                      "to fleet autotaint-general (label autotaint.dev/fleet, autotaint when absent)")
    decision = admit_lease(engine, "CREATE", "autotaint-gpu-slot-0", None, "node-1", new_fleet=LEGACY)
    assert decision.denials[0][2].endswith("not Lease autotaint-gpu-slot-0 of fleet autotaint")


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


def test_all_policies_read_the_token_node_name_alike(engine):
    expressions = [{v["name"]: v["expression"] for v in policy["variables"]}["tokenNodeName"]
                   for policy in (NODE_POLICY, LEASE_POLICY, EVENT_POLICY)]
    assert expressions[0] == expressions[1] == expressions[2]
    values = {"request": request(token_node="node-7")}
    assert engine.evaluate(expressions[0], values) == "node-7"


# --- Events (autotaint-own-events) ----------------------------------------------------------

EVENT_POLICY = find(load_docs("rbac.yaml"), "ValidatingAdmissionPolicy", "autotaint-own-events")["spec"]
EVENT_NODE_RULE, EVENT_NAMESPACE_RULE, EVENT_REPORTER_RULE, EVENT_SOURCE_RULE, EVENT_UPDATE_RULE = range(5)
CORE, EVENTS_API = "", "events.k8s.io"
DROP = object()   # a field the client did not send


def node_reference(name="node-1", **changes):
    """An Event's involvedObject / regarding as EventBody writes it, after the API server's
    decoding: Go drops the empty namespace (omitempty), so it is absent."""
    reference = {"kind": "Node", "name": name, "uid": "6f1e0c2a-9d1b-4c55-8a47-3e0f5b2d7c91", "apiVersion": "v1"}
    reference.update(changes)
    return {k: v for k, v in reference.items() if v is not DROP}


def event(group=CORE, about=None, component="autotaint", instance="node-1", source_component="autotaint",
          source_host="node-1", namespace="default", **fields):
    """The agent's TaintAdded Event for node-1 as Sources/KubeClient/EventBody.swift writes it
    (core v1), or the same Event as an events.k8s.io/v1 client writes it (no deprecatedSource:
    the API refuses one on create). DROP leaves a field out; about=DROP leaves out the reference."""
    about = node_reference() if about is None else about
    metadata = {"name": "node-1.18c3a9f2b7e0d4a1", "namespace": namespace}
    if group == CORE:
        result = {"apiVersion": "v1", "kind": "Event", "metadata": metadata, "involvedObject": about,
                  "reason": "TaintAdded", "message": "Added taint autotaint.dev/cpu-pressure=true:NoSchedule",
                  "type": "Normal", "source": {"component": source_component, "host": source_host},
                  "firstTimestamp": "2026-12-04T17:30:26Z", "lastTimestamp": "2026-12-04T17:30:26Z", "count": 1,
                  "reportingComponent": component, "reportingInstance": instance}
        result["source"] = {k: v for k, v in result["source"].items() if v is not DROP}
    else:
        result = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": metadata, "regarding": about,
                  "eventTime": "2026-12-04T17:30:26.123456Z", "action": "Taint", "reason": "TaintAdded",
                  "note": "Added taint autotaint.dev/cpu-pressure=true:NoSchedule", "type": "Normal",
                  "reportingController": component, "reportingInstance": instance}
    result.update(fields)
    return {k: v for k, v in result.items() if v is not DROP}


def rule_matches(policy, request):
    """matchConstraints.resourceRules, as the API server matches a request (the harness's
    admit() assumes a match; the event tests check it)."""
    resource = request["resource"]
    return any(resource["group"] in rule["apiGroups"] and resource["version"] in rule["apiVersions"]
               and resource["resource"] in rule["resources"] and request["operation"] in rule["operations"]
               for rule in policy["matchConstraints"]["resourceRules"])


def admit_event(engine, new, old=None, operation="CREATE", group=CORE, namespace="default", **user):
    request_ = {"operation": operation, "name": "node-1.18c3a9f2b7e0d4a1", "namespace": namespace,
                "userInfo": user_info(**user), "resource": {"group": group, "version": "v1", "resource": "events"},
                "kind": {"group": group, "version": "v1", "kind": "Event"}}
    if not rule_matches(EVENT_POLICY, request_):
        return Decision(False, [], [])
    return admit(engine, request_, new, old, EVENT_POLICY)


def client_message(policy, decision):
    """What the client reads in the 403: the API server's wording around the first denial
    (k8s.io/apiserver pkg/admission/plugin/policy/validating/dispatcher.go)."""
    return f"ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied request: {decision.denials[0][2]}"


def test_event_component_is_the_agents(engine):
    """The policy's component is EventBody's, and EventBody reports as the node it runs on."""
    import os
    import re
    from manifest_files import REPO
    with open(os.path.join(REPO, "Sources", "KubeClient", "EventBody.swift")) as handle:
        swift = handle.read()
    variables = {v["name"]: v["expression"] for v in EVENT_POLICY["variables"]}
    assert engine.evaluate(variables["component"], {}) == re.search(r'static let component = "([^"]*)"', swift)[1]
    assert "source = Source(component: Self.component, host: node.name)" in swift
    assert "reportingComponent = Self.component" in swift and "reportingInstance = node.name" in swift
    assert re.search(r'var kind = "Node"', swift) and re.search(r'var apiVersion = "v1"\n\s*/// Nodes', swift)


@pytest.mark.parametrize("group", [CORE, EVENTS_API])
def test_own_event_about_own_node(engine, group):
    allowed(admit_event(engine, event(group), group=group))


@pytest.mark.parametrize("group", [CORE, EVENTS_API])
@pytest.mark.parametrize("about", [
    node_reference(namespace=""), node_reference(apiVersion=""), node_reference(apiVersion=DROP),
    node_reference(uid="node-1"), node_reference(uid=DROP), node_reference(resourceVersion="1042")])
def test_own_node_reference_written_otherwise(engine, group, about):
    """The reference as a client may send it: an explicit empty namespace or apiVersion, none,
    the node name as uid (kubelet's habit, and EventBody's without a uid)."""
    allowed(admit_event(engine, event(group, about=about), group=group))


@pytest.mark.parametrize("group", [CORE, EVENTS_API])
def test_forged_event_about_another_node_is_forbidden(engine, group):
    """The issue's case: node-1's token, a TaintAdded about node-2."""
    decision = admit_event(engine, event(group, about=node_reference("node-2")), group=group)
    denied_by(decision, EVENT_NODE_RULE)
    message = client_message("autotaint-own-events", decision)
    assert message.startswith("ValidatingAdmissionPolicy 'autotaint-own-events' with binding 'autotaint-own-events'")
    assert "node node-1 may post Events only about its own Node" in message and message.endswith("not about v1 Node node-2")
    assert ("regarding" if group == EVENTS_API else "involvedObject") in message


@pytest.mark.parametrize("group", [CORE, EVENTS_API])
def test_forged_event_posing_as_another_nodes_agent_is_forbidden(engine, group):
    forged = event(group, about=node_reference("node-2"), instance="node-2", source_host="node-2")
    if group == EVENTS_API:
        forged["deprecatedSource"] = {"component": "autotaint", "host": "node-2"}
    decision = admit_event(engine, forged, group=group)
    denied_by(decision, EVENT_NODE_RULE, EVENT_REPORTER_RULE, EVENT_SOURCE_RULE)
    assert "node-2" in decision.denials[0][2] and "node-1" in decision.denials[0][2]


# name: (the Event's changes, the rules that deny) for node-1's agent, on both APIs unless the
# name says core or events.k8s.io.
EVENT_CASES = {
    "about node-10 (names compared whole)": (dict(about=node_reference("node-10")), [EVENT_NODE_RULE]),
    "about a Pod": (dict(about={"kind": "Pod", "name": "web-0", "namespace": "default", "apiVersion": "v1",
                                "uid": "1"}), [EVENT_NODE_RULE]),
    "about a Pod named like the node": (dict(about=node_reference(kind="Pod", namespace="default")),
                                        [EVENT_NODE_RULE]),
    "about a Node in a namespace": (dict(about=node_reference(namespace="kube-system")), [EVENT_NODE_RULE]),
    "about a Node of another apiVersion": (dict(about=node_reference(apiVersion="example.com/v1")),
                                           [EVENT_NODE_RULE]),
    "about nothing": (dict(about=DROP), [EVENT_NODE_RULE]),
    "about an empty reference": (dict(about={}), [EVENT_NODE_RULE]),
    "reference without kind": (dict(about=node_reference(kind=DROP)), [EVENT_NODE_RULE]),
    "reference without name": (dict(about=node_reference(name=DROP)), [EVENT_NODE_RULE]),
    "in namespace kube-system": (dict(namespace="kube-system"), [EVENT_NAMESPACE_RULE]),
    "reported by kubelet": (dict(component="kubelet"), [EVENT_REPORTER_RULE]),
    "reported by another instance": (dict(instance="node-2"), [EVENT_REPORTER_RULE]),
    "without reporting component": (dict(component=DROP), [EVENT_REPORTER_RULE]),
    "without reporting instance": (dict(instance=DROP), [EVENT_REPORTER_RULE]),
    "core: from kubelet's source": (dict(source_component="kubelet"), [EVENT_SOURCE_RULE]),
    "core: from another host": (dict(source_host="node-2"), [EVENT_SOURCE_RULE]),
    "core: source without host": (dict(source_host=DROP), [EVENT_SOURCE_RULE]),
    "core: source without component": (dict(source_component=DROP), [EVENT_SOURCE_RULE]),
    "core: without source": (dict(source=DROP), [EVENT_SOURCE_RULE]),
    "events.k8s.io: its own deprecatedSource": (dict(deprecatedSource={"component": "autotaint", "host": "node-1"}),
                                                []),
    "events.k8s.io: an empty deprecatedSource": (dict(deprecatedSource={}), []),
    "events.k8s.io: kubelet's deprecatedSource": (dict(deprecatedSource={"component": "kubelet", "host": "node-1"}),
                                                  [EVENT_SOURCE_RULE]),
    "events.k8s.io: deprecatedSource of another host": (dict(deprecatedSource={"component": "autotaint",
                                                                               "host": "node-2"}),
                                                        [EVENT_SOURCE_RULE]),
}


def event_case_params():
    for name, (changes, rules) in sorted(EVENT_CASES.items()):
        for group in (CORE, EVENTS_API):
            if name.startswith("core:") and group != CORE or name.startswith("events.k8s.io:") and group != EVENTS_API:
                continue
            yield pytest.param(group, changes, rules, id=f"{group or 'core'}: {name}")


@pytest.mark.parametrize("group,changes,rules", list(event_case_params()))
def test_event_writes(engine, group, changes, rules):
    changes = dict(changes)
    namespace = changes.get("namespace", "default")
    decision = admit_event(engine, event(group, **changes), group=group, namespace=namespace)
    if rules:
        denied_by(decision, *rules)
    else:
        allowed(decision)


def test_event_denials_say_what_is_wrong(engine):
    decision = admit_event(engine, event(about=node_reference("web-0", kind="Pod", namespace="shop")))
    assert decision.denials[0][2].endswith("not about v1 Pod shop/web-0")
    decision = admit_event(engine, event(namespace="kube-system"), namespace="kube-system")
    assert decision.denials[0][2].endswith("not in kube-system")
    decision = admit_event(engine, event(EVENTS_API, component="kubelet", instance=DROP), group=EVENTS_API)
    assert "reportingController autotaint, reportingInstance node-1, not kubelet, (none)" in decision.denials[0][2]
    decision = admit_event(engine, event(source_component="kubelet", source_host="node-2"))
    assert decision.denials[0][2].endswith("component autotaint, host node-1, not kubelet, node-2")
    decision = admit_event(engine, event(about=DROP))
    assert decision.denials[0][2].endswith("not about (no kind) (no name)")


@pytest.mark.parametrize("group", [CORE, EVENTS_API])
@pytest.mark.parametrize("token", ["none", "no node-name key", "two node names"])
def test_token_without_one_node_name_posts_no_event(engine, group, token):
    user = {"none": {"token_node": None},
            "no node-name key": {"extra": {"authentication.kubernetes.io/pod-name": ["autotaint-x7k2p"]}},
            "two node names": {"extra": {NODE_NAME_EXTRA: ["node-1", "node-2"]}}}[token]
    decision = admit_event(engine, event(group), group=group, **user)
    rules = [EVENT_NODE_RULE, EVENT_REPORTER_RULE] + ([EVENT_SOURCE_RULE] if group == CORE else [])
    denied_by(decision, *rules)
    assert "names its node" in decision.denials[0][2]


# name: (the stored Event, the Event written, the rules that deny), for a PATCH (UPDATE) by
# node-1's agent.
EVENT_UPDATES = {
    "own Event, count bumped": (event(), event(count=2, lastTimestamp="2026-12-04T17:35:26Z"), []),
    "kubelet's Event about node-1 made its own": (
        event(component="kubelet", source_component="kubelet"), event(), [EVENT_UPDATE_RULE]),
    "node-2's agent's Event turned into one about node-1": (
        event(about=node_reference("node-2"), instance="node-2", source_host="node-2"), event(),
        [EVENT_UPDATE_RULE]),
    "own Event turned into one about node-2": (event(), event(about=node_reference("node-2")),
                                               [EVENT_NODE_RULE, EVENT_UPDATE_RULE]),
    "own Event's reference changed (uid)": (event(), event(about=node_reference(uid="node-1")), [EVENT_UPDATE_RULE]),
    "stored Event without source made its own": (event(source=DROP), event(), [EVENT_UPDATE_RULE]),
}


@pytest.mark.parametrize("case", sorted(EVENT_UPDATES))
def test_event_updates(engine, case):
    old, new, rules = EVENT_UPDATES[case]
    decision = admit_event(engine, new, old, operation="UPDATE")
    if rules:
        denied_by(decision, *rules)
    else:
        allowed(decision)


def test_events_api_update_of_own_event(engine):
    old = event(EVENTS_API)
    allowed(admit_event(engine, dict(old, series={"count": 2, "lastObservedTime": "2026-12-04T17:35:26.000000Z"}),
                        old, operation="UPDATE", group=EVENTS_API))
    denied_by(admit_event(engine, event(EVENTS_API), event(EVENTS_API, component="kubelet"), operation="UPDATE",
                          group=EVENTS_API), EVENT_UPDATE_RULE)


@pytest.mark.parametrize("group", [CORE, EVENTS_API])
@pytest.mark.parametrize("user", ["system:node:node-2", "kubernetes-admin",
                                  "system:serviceaccount:kube-system:node-controller",
                                  "system:serviceaccount:other:autotaint"])
def test_other_users_events_are_not_matched(engine, group, user):
    forged = event(group, about=node_reference("node-2"), component="kubelet", instance="node-2",
                   source_component="kubelet", source_host="node-2")
    decision = admit_event(engine, forged, group=group, user=user, token_node=None)
    assert not decision.applies and decision.allowed


def test_event_rules_match_what_the_role_grants():
    """Both Events APIs, create and patch (admitted as CREATE and UPDATE), in every namespace
    (the namespace is a validation); DELETE, which the Role does not grant, is not matched."""
    role = find(load_docs("rbac.yaml"), "Role", "autotaint-events")
    granted = {(group, resource) for rule in role["rules"] for group in rule["apiGroups"]
               for resource in rule["resources"]}
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    constraints = EVENT_POLICY["matchConstraints"]
    matched = {(group, resource) for rule in constraints["resourceRules"] for group in rule["apiGroups"]
               for resource in rule["resources"]}
    assert matched == granted == {(CORE, "events"), (EVENTS_API, "events")}
    assert verbs == {"create", "patch"}
    assert all(rule["operations"] == ["CREATE", "UPDATE"] for rule in constraints["resourceRules"])
    assert constraints["namespaceSelector"] == {}
    for group in (CORE, EVENTS_API):
        assert rule_matches(EVENT_POLICY, {"operation": "CREATE", "resource": {"group": group, "version": "v1",
                                                                                "resource": "events"}})
        assert not rule_matches(EVENT_POLICY, {"operation": "DELETE", "resource": {"group": group, "version": "v1",
                                                                                    "resource": "events"}})


def test_old_event_variables_read_the_stored_event_like_the_new_ones():
    """oldAbout, oldSource, ... are about, source, ... of oldObject, behind the UPDATE guard."""
    variables = {v["name"]: v["expression"] for v in EVENT_POLICY["variables"]}
    for name in ("about", "source", "reportingComponent", "reportingInstance"):
        old = variables["old" + name[0].upper() + name[1:]]
        guard, _, rest = old.partition(" : ")
        assert guard.startswith("request.operation != 'UPDATE' ?"), old
        assert rest.replace("oldObject", "object") == variables[name], name
