"""The ValidatingAdmissionPolicy of rbac.yaml, evaluated on example admission requests.

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

POLICY = find(load_docs("rbac.yaml"), "ValidatingAdmissionPolicy")["spec"]


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


def admit(engine, request, new, old):
    values = {"request": request, "object": new, "oldObject": old}
    for condition in POLICY["matchConditions"]:
        if not engine.evaluate(condition["expression"], values):
            return Decision(False, [], [])
    variables, errors = {}, []
    for variable in POLICY.get("variables", []):
        try:
            variables[variable["name"]] = engine.evaluate(variable["expression"], {**values, "variables": variables})
        except Exception as error:  # a variable that fails makes every validation using it fail
            errors.append((variable["name"], str(error)))
    values["variables"] = variables
    denials = []
    for index, validation in enumerate(POLICY["validations"]):
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


def request(name="node-1", sub_resource="", user=AGENT, token_node="node-1", extra=None):
    user_info = {"username": user, "uid": "5b0d", "groups": ["system:serviceaccounts", "system:authenticated"]}
    if extra is None and token_node is not None:
        extra = {NODE_NAME_EXTRA: [token_node], "authentication.kubernetes.io/pod-name": ["autotaint-x7k2p"]}
    if extra is not None:
        user_info["extra"] = extra
    result = {"operation": "UPDATE", "name": name, "userInfo": user_info,
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
    variables = {v["name"]: v["expression"] for v in POLICY["variables"]}
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
    saved = POLICY["validations"][TAINT_RULE]["expression"]
    POLICY["validations"][TAINT_RULE]["expression"] = "variables.noSuchVariable == 1"
    try:
        old = node()
        decision = admit(engine, request(), with_taints(old, [CPU_TAINT]), old)
    finally:
        POLICY["validations"][TAINT_RULE]["expression"] = saved
    assert [index for index, _, _ in decision.denials] == [TAINT_RULE] and decision.errors
