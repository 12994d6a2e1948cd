"""Typed shapes of the objects the fake serves: field names and JSON types (for pruning unknown
fields and rejecting wrong types, as a typed Go decode does) and the strategic-merge-patch
metadata (patchStrategy / patchMergeKey / listType) from k8s.io/api/core/v1."""

S, B, I, T, Q, ANY = "string", "boolean", "integer", "time", "quantity", "any"


def lst(item, merge_key=None, primitive_merge=False):
    """List. merge_key -> patchStrategy:merge by that key; primitive_merge -> merge set of scalars;
    neither -> atomic (a strategic merge patch replaces it whole)."""
    return {"__list__": item, "merge_key": merge_key, "primitive_merge": primitive_merge}


def mp(value):
    return {"__map__": value}


OWNER_REF = {"apiVersion": S, "kind": S, "name": S, "uid": S, "controller": B, "blockOwnerDeletion": B}
OBJECT_META = {
    "name": S, "generateName": S, "namespace": S, "selfLink": S, "uid": S, "resourceVersion": S,
    "generation": I, "creationTimestamp": T, "deletionTimestamp": T, "deletionGracePeriodSeconds": I,
    "labels": mp(S), "annotations": mp(S),
    "ownerReferences": lst(OWNER_REF, merge_key="uid"),
    "finalizers": lst(S, primitive_merge=True),
    "managedFields": lst(ANY),
}
TAINT = {"key": S, "value": S, "effect": S, "timeAdded": T}
NODE_CONDITION = {"type": S, "status": S, "lastHeartbeatTime": T, "lastTransitionTime": T,
                  "reason": S, "message": S}
NODE_ADDRESS = {"type": S, "address": S}
CONFIG_SOURCE = {"configMap": {"namespace": S, "name": S, "uid": S, "resourceVersion": S,
                               "kubeletConfigKey": S}}
NODE = {
    "kind": S, "apiVersion": S, "metadata": OBJECT_META,
    "spec": {
        "podCIDR": S, "podCIDRs": lst(S, primitive_merge=True), "providerID": S, "unschedulable": B,
        "taints": lst(TAINT), "configSource": CONFIG_SOURCE, "externalID": S,
    },
    "status": {
        "capacity": mp(Q), "allocatable": mp(Q), "phase": S,
        "conditions": lst(NODE_CONDITION, merge_key="type"),
        "addresses": lst(NODE_ADDRESS, merge_key="type"),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": I}},
        "nodeInfo": {"machineID": S, "systemUUID": S, "bootID": S, "kernelVersion": S, "osImage": S,
                     "containerRuntimeVersion": S, "kubeletVersion": S, "kubeProxyVersion": S,
                     "operatingSystem": S, "architecture": S, "swap": {"capacity": I}},
        "images": lst({"names": lst(S), "sizeBytes": I}),
        "volumesInUse": lst(S), "volumesAttached": lst({"name": S, "devicePath": S}),
        "config": ANY, "runtimeHandlers": lst(ANY), "features": ANY,
    },
}
OBJECT_REF = {"kind": S, "namespace": S, "name": S, "uid": S, "apiVersion": S, "resourceVersion": S,
              "fieldPath": S}
EVENT = {
    "kind": S, "apiVersion": S, "metadata": OBJECT_META,
    "involvedObject": OBJECT_REF, "reason": S, "message": S,
    "source": {"component": S, "host": S},
    "firstTimestamp": T, "lastTimestamp": T, "count": I, "type": S, "eventTime": T,
    "series": {"count": I, "lastObservedTime": T}, "action": S, "related": OBJECT_REF,
    "reportingComponent": S, "reportingInstance": S,
}
EVENT_V1 = {  # events.k8s.io/v1
    "kind": S, "apiVersion": S, "metadata": OBJECT_META,
    "eventTime": T, "series": {"count": I, "lastObservedTime": T},
    "reportingController": S, "reportingInstance": S, "action": S, "reason": S,
    "regarding": OBJECT_REF, "related": OBJECT_REF, "note": S, "type": S,
    "deprecatedSource": {"component": S, "host": S}, "deprecatedFirstTimestamp": T,
    "deprecatedLastTimestamp": T, "deprecatedCount": I,
}
LEASE = {"kind": S, "apiVersion": S, "metadata": OBJECT_META,
         "spec": {"holderIdentity": S, "leaseDurationSeconds": I, "acquireTime": T, "renewTime": T,
                  "leaseTransitions": I, "strategy": S, "preferredHolder": S}}

_JSON_TYPE = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object",
              type(None): "null"}


def _go_type(sch):
    if isinstance(sch, str):
        return {S: "string", B: "bool", I: "int64", T: "v1.Time", Q: "resource.Quantity"}.get(sch, "interface {}")
    if "__list__" in sch:
        return "[]" + _go_type(sch["__list__"])
    if "__map__" in sch:
        return "map[string]" + _go_type(sch["__map__"])
    return "struct"


def prune(obj, sch, path=""):
    """Drop unknown fields (returns their paths) and report type errors, like a strict Go decode.
    Returns (pruned, unknown_paths, type_errors)."""
    unknown, errors = [], []
    out = _prune(obj, sch, path, unknown, errors)
    return out, unknown, errors


def _prune(v, sch, path, unknown, errors):
    if v is None or sch == ANY:
        return v
    jt = _JSON_TYPE.get(type(v), "value")
    if isinstance(sch, str):
        ok = {S: isinstance(v, str), T: isinstance(v, str), B: isinstance(v, bool),
              I: isinstance(v, int) and not isinstance(v, bool),
              Q: isinstance(v, (str, int, float)) and not isinstance(v, bool)}[sch]
        if not ok:
            errors.append(f"json: cannot unmarshal {jt} into Go struct field .{path} of type {_go_type(sch)}")
        return v
    if "__list__" in sch:
        if not isinstance(v, list):
            errors.append(f"json: cannot unmarshal {jt} into Go struct field .{path} of type {_go_type(sch)}")
            return v
        return [_prune(x, sch["__list__"], f"{path}[{i}]", unknown, errors) for i, x in enumerate(v)]
    if not isinstance(v, dict):
        errors.append(f"json: cannot unmarshal {jt} into Go struct field .{path} of type {_go_type(sch)}")
        return v
    if "__map__" in sch:
        return {k: _prune(x, sch["__map__"], f"{path}.{k}" if path else k, unknown, errors)
                for k, x in v.items()}
    out = {}
    for k, x in v.items():
        p = f"{path}.{k}" if path else k
        if k not in sch:
            unknown.append(p)
            continue
        out[k] = _prune(x, sch[k], p, unknown, errors)
    return out


def sub_schema(sch, key):
    if not isinstance(sch, dict):
        return None
    if "__map__" in sch:
        return sch["__map__"]
    if "__list__" in sch:
        return None
    return sch.get(key)


def drop_empty(v):
    """Go's omitempty for the fields we serve: drop None/empty maps and lists recursively
    (never inside lists, where positions matter)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = drop_empty(x)
            if x is None or (isinstance(x, (dict, list)) and not x and k not in ("metadata",)):
                continue
            out[k] = x
        return out
    if isinstance(v, list):
        return [drop_empty(x) if isinstance(x, dict) else x for x in v]
    return v
