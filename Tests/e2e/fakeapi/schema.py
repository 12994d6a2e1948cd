"""Typed shapes of the objects the fake serves: field names and JSON types (for pruning unknown
fields and rejecting wrong types, as a typed Go decode does) and the strategic-merge-patch
metadata (patchStrategy / patchMergeKey / listType) from k8s.io/api/core/v1."""

import calendar
import datetime
import json

S, B, I, T, Q, ANY = "string", "boolean", "integer", "time", "quantity", "any"
I32 = "int32"
M = "microtime"  # metav1.MicroTime: RFC 3339 with exactly 6 fraction digits


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
LEASE = {"__go__": "Lease", "kind": S, "apiVersion": S, "metadata": dict(OBJECT_META, __go__="ObjectMeta"),
         "spec": {"__go__": "LeaseSpec", "holderIdentity": S, "leaseDurationSeconds": I32, "acquireTime": M,
                  "renewTime": M, "leaseTransitions": I32, "strategy": S, "preferredHolder": S}}

_JSON_TYPE = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object",
              type(None): "null"}


RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"


def _go_quote(s):
    return json.dumps(s, ensure_ascii=False)


def parse_micro_time(value):
    """time.Parse(RFC3339Micro, value) as Go does it (metav1.MicroTime.UnmarshalJSON).
    Returns (normalised UTC string as MicroTime.MarshalJSON writes it, None) or (None, error text)."""
    def err(layout_elem, value_elem, message=""):
        if message:
            return None, f"parsing time {_go_quote(value)}{message}"
        return None, (f"parsing time {_go_quote(value)} as {_go_quote(RFC3339_MICRO)}: cannot parse "
                      f"{_go_quote(value_elem)} as {_go_quote(layout_elem)}")

    def getnum(v, fixed):
        if not v or not v[0].isdigit():
            return None, v
        if len(v) < 2 or not v[1].isdigit():
            return (None, v) if fixed else (int(v[0]), v[1:])
        return int(v[:2]), v[2:]

    v = value
    fields = {}
    for elem, key, fixed, hi in (("2006", "year", None, None), ("-", None, None, None), ("01", "month", True, 12),
                                 ("-", None, None, None), ("02", "day", True, 31), ("T", None, None, None),
                                 ("15", "hour", False, 23), (":", None, None, None), ("04", "minute", True, 59),
                                 (":", None, None, None), ("05", "second", True, 59)):
        if key is None:
            if not v or v[0] != elem:
                return err(elem, v)
            v = v[1:]
            continue
        hold = v
        if key == "year":
            if len(v) < 4 or not v[:4].isdigit():
                return err(elem, hold)
            n, v = int(v[:4]), v[4:]
        else:
            n, v = getnum(v, fixed)
            if n is None:
                return err(elem, hold)
            if (key == "month" and n < 1) or n > hi:
                return err(elem, v, f": {key} out of range")
        fields[key] = n
    if len(v) < 7 or v[0] not in ".," or not v[1:7].isdigit():
        return err(".000000", v)
    micro, v = int(v[1:7]), v[7:]
    if v[:1] == "Z":
        offset, v = 0, v[1:]
    else:
        if len(v) < 6 or v[3] != ":" or v[0] not in "+-" or not (v[1:3].isdigit() and v[4:6].isdigit()):
            return err("Z07:00", v)
        offset = (int(v[1:3]) * 60 + int(v[4:6])) * 60 * (1 if v[0] == "+" else -1)
        v = v[6:]
    if v:
        return err("", v, f": extra text: {_go_quote(v)}")
    y, mo, d = fields["year"], fields["month"], fields["day"]
    if d < 1 or d > calendar.monthrange(y if y > 0 else 2000, mo)[1]:
        return err("", value, ": day out of range")
    t = datetime.datetime(max(1, y), mo, d, fields["hour"], fields["minute"], fields["second"], micro,
                          tzinfo=datetime.timezone(datetime.timedelta(seconds=offset)))
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), None


def _go_type(sch):
    if isinstance(sch, str):
        return {S: "string", B: "bool", I: "int64", I32: "int32", T: "v1.Time",
                Q: "resource.Quantity"}.get(sch, "interface {}")
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


def _prune(v, sch, path, unknown, errors, struct=""):
    if v is None or sch == ANY:
        return v
    jt = _JSON_TYPE.get(type(v), "value")
    if sch == M:
        if not isinstance(v, str):
            errors.append(f"json: cannot unmarshal {jt} into Go value of type string")
            return v
        norm, err = parse_micro_time(v)
        if err:
            errors.append(err)
            return v
        return norm
    if sch == I32:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            errors.append(f"json: cannot unmarshal {jt} into Go struct field {struct}.{path} of type int32")
        elif isinstance(v, float) or not -2 ** 31 <= v < 2 ** 31:
            errors.append(f"json: cannot unmarshal number {json.dumps(v)} into Go struct field {struct}.{path} "
                          "of type int32")
        return v
    if isinstance(sch, str):
        ok = {S: isinstance(v, str), T: isinstance(v, str), B: isinstance(v, bool),
              I: isinstance(v, int) and not isinstance(v, bool),
              Q: isinstance(v, (str, int, float)) and not isinstance(v, bool)}[sch]
        if not ok:
            errors.append(f"json: cannot unmarshal {jt} into Go struct field {struct}.{path} of type {_go_type(sch)}")
        return v
    if "__list__" in sch:
        if not isinstance(v, list):
            errors.append(f"json: cannot unmarshal {jt} into Go struct field .{path} of type {_go_type(sch)}")
            return v
        return [_prune(x, sch["__list__"], f"{path}[{i}]", unknown, errors, struct) for i, x in enumerate(v)]
    if not isinstance(v, dict):
        errors.append(f"json: cannot unmarshal {jt} into Go struct field {struct}.{path} of type {_go_type(sch)}")
        return v
    if "__map__" in sch:
        return {k: _prune(x, sch["__map__"], f"{path}.{k}" if path else k, unknown, errors, struct)
                for k, x in v.items()}
    out = {}
    inner = sch.get("__go__", "")
    for k, x in v.items():
        p = f"{path}.{k}" if path else k
        if k not in sch or k.startswith("__"):
            unknown.append(p)
            continue
        out[k] = _prune(x, sch[k], p, unknown, errors, inner)
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
