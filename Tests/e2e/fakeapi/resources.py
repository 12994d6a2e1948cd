"""Resource definitions: discovery documents, seed objects, selectable fields, conversions."""
import copy
import uuid

from . import schema as sc
from .store import now_rfc3339

KUBE_VERSION = "v1.32.4"

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _res(name, singular, namespaced, kind, verbs, short=None, categories=None, hash_=None):
    r = {"name": name, "singularName": singular, "namespaced": namespaced, "kind": kind, "verbs": verbs}
    if short:
        r["shortNames"] = short
    if categories:
        r["categories"] = categories
    if hash_:
        r["storageVersionHash"] = hash_
    return r


CORE_V1 = {
    "kind": "APIResourceList", "groupVersion": "v1",
    "resources": [
        _res("events", "event", True, "Event", ALL_VERBS, ["ev"], None, "r2yiGXH7wu8="),
        _res("namespaces", "namespace", False, "Namespace",
             ["create", "delete", "get", "list", "patch", "update", "watch"], ["ns"], None, "Q3oi5N2YM8M="),
        _res("namespaces/status", "", False, "Namespace", ["get", "patch", "update"]),
        _res("nodes", "node", False, "Node", ALL_VERBS, ["no"], None, "XwShjMxG9Fs="),
        _res("nodes/status", "", False, "Node", ["get", "patch", "update"]),
        _res("pods", "pod", True, "Pod", ALL_VERBS, ["po"], ["all"], "xPOwRZ+Yhw8="),
        _res("pods/status", "", True, "Pod", ["get", "patch", "update"]),
    ],
}
EVENTS_V1 = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "events.k8s.io/v1",
    "resources": [_res("events", "event", True, "Event", ALL_VERBS, ["ev"], None, "r2yiGXH7wu8=")],
}
COORDINATION_V1 = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "coordination.k8s.io/v1",
    "resources": [_res("leases", "lease", True, "Lease", ALL_VERBS, None, None, "gqkMMb/YqFM=")],
}
APPS_V1 = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
    "resources": [_res("daemonsets", "daemonset", True, "DaemonSet", ALL_VERBS, ["ds"], ["all"], "dd7pWHUlMKQ="),
                  _res("daemonsets/status", "", True, "DaemonSet", ["get", "patch", "update"])],
}
GROUPS = [("apps", "v1"), ("events.k8s.io", "v1"), ("coordination.k8s.io", "v1")]


def _gv_lists():
    return {"api/v1": ("", "v1", CORE_V1), "apis/apps/v1": ("apps", "v1", APPS_V1),
            "apis/events.k8s.io/v1": ("events.k8s.io", "v1", EVENTS_V1),
            "apis/coordination.k8s.io/v1": ("coordination.k8s.io", "v1", COORDINATION_V1)}


def openapi_v3_root():
    """/openapi/v3: where each group-version's document is (kubectl reads it to learn whether
    the server does field validation itself, instead of validating against a downloaded schema)."""
    return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash=fakeapi{KUBE_VERSION}"} for p in _gv_lists()}}


def openapi_v3_doc(path):
    """A minimal OpenAPI v3 document for one group-version: only the PATCH operations with their
    x-kubernetes-group-version-kind and the fieldValidation query parameter (no schemas)."""
    gv = _gv_lists().get(path)
    if gv is None:
        return None
    group, version, lst = gv
    paths = {}
    prefix = "/" + path
    for r in lst["resources"]:
        if "/" in r["name"]:
            continue
        url = f'{prefix}/namespaces/{{namespace}}/{r["name"]}/{{name}}' if r["namespaced"] else f'{prefix}/{r["name"]}/{{name}}'
        paths[url] = {"patch": {
            "operationId": f'patch{r["kind"]}',
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r["kind"]},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}],
            "responses": {}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": KUBE_VERSION}, "paths": paths,
            "components": {}}


def api_versions(host):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def api_group(name, version):
    gv = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def api_group_list():
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group(n, v) for n, v in GROUPS]}


def version_info():
    return {"major": "1", "minor": "32", "gitVersion": KUBE_VERSION, "gitCommit": "fakeapi",
            "gitTreeState": "clean", "buildDate": "2025-04-22T16:00:00Z", "goVersion": "go1.23.6",
            "compiler": "gc", "platform": "linux/amd64"}


def new_node(name, index=0):
    now = now_rfc3339()
    kubelet_conds = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    cap = {"cpu": "4", "ephemeral-storage": "102687672Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
           "memory": "16374584Ki", "pods": "110"}
    alloc = dict(cap, memory="16272184Ki", **{"ephemeral-storage": "94636958026"})
    return {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {
            "name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now,
            "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                       "kubernetes.io/os": "linux"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "capacity": cap, "allocatable": alloc,
            "conditions": [{"type": t, "status": s, "lastHeartbeatTime": now, "lastTransitionTime": now,
                            "reason": r, "message": m} for t, s, r, m in kubelet_conds],
            "addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + index}"},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": uuid.uuid4().hex, "systemUUID": str(uuid.uuid4()),
                         "bootID": str(uuid.uuid4()), "kernelVersion": "6.1.0-28-amd64",
                         "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "containerRuntimeVersion": "containerd://1.7.24", "kubeletVersion": KUBE_VERSION,
                         "kubeProxyVersion": KUBE_VERSION, "operatingSystem": "linux", "architecture": "amd64"},
        },
    }


def new_lease(node_name, node_uid):
    now = now_rfc3339().replace("Z", ".000000Z")
    return {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
            "metadata": {"name": node_name, "namespace": "kube-node-lease",
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                              "uid": node_uid}]},
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": 40, "renewTime": now}}


def new_daemonset(namespace, name):
    """An apps/v1 DaemonSet as kubectl apply of the agent's manifest leaves it; status is filled
    in by the server (FakeAPIServer._sync_daemonsets), as the DaemonSet controller would."""
    labels = {"app.kubernetes.io/name": name}
    return {"kind": "DaemonSet", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": namespace, "generation": 1, "labels": dict(labels),
                         "annotations": {"deprecated.daemonset.template.generation": "1"}},
            "spec": {"selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"serviceAccountName": name,
                                           "containers": [{"name": name, "image": f"{name}:latest",
                                                           "imagePullPolicy": "IfNotPresent",
                                                           "resources": {},
                                                           "terminationMessagePath": "/dev/termination-log",
                                                           "terminationMessagePolicy": "File"}],
                                           "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                                           "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
                                           "securityContext": {}}},
                     "updateStrategy": daemonset_update_strategy(),
                     "revisionHistoryLimit": 10},
            "status": daemonset_status(0)}


# DaemonSetStatus's int fields in Go's field order (its JSON order); the omitempty ones are dropped
# at 0, as Go encodes them (k8s.io/api/apps/v1: observedGeneration, updatedNumberScheduled,
# numberAvailable, numberUnavailable).
DAEMONSET_STATUS_FIELDS = ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                           "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable")
DAEMONSET_STATUS_OMITEMPTY = {"observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable"}


def daemonset_status(desired, generation=1, **given):
    """DaemonSetStatus as the controller writes it: `desired` pods, all scheduled, up to date,
    ready and available, generation `generation` observed, unless `given` (fields by their JSON
    names) says otherwise. What is not given follows what is, as the controller computes it:
    numberAvailable = numberReady (minReadySeconds 0), numberUnavailable = desired − available."""
    st = {"currentNumberScheduled": desired, "numberMisscheduled": 0, "desiredNumberScheduled": desired,
          "numberReady": desired, "observedGeneration": generation, "updatedNumberScheduled": desired}
    st.update(given)
    st.setdefault("numberAvailable", st["numberReady"])
    st.setdefault("numberUnavailable", max(0, st["desiredNumberScheduled"] - st["numberAvailable"]))
    return {k: st[k] for k in DAEMONSET_STATUS_FIELDS if st[k] or k not in DAEMONSET_STATUS_OMITEMPTY}


def daemonset_update_strategy(kind="RollingUpdate", max_unavailable=1):
    """spec.updateStrategy as defaulting leaves it: RollingUpdate with maxUnavailable (an int or
    "N%") and maxSurge 0; OnDelete has no rollingUpdate."""
    if kind == "OnDelete":
        return {"type": "OnDelete"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": 0}}


def new_namespace(name):
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


# ---- selectable fields (XToSelectableFields in pkg/registry) ----

def node_fields(o):
    return {"metadata.name": o["metadata"]["name"],
            "spec.unschedulable": "true" if (o.get("spec") or {}).get("unschedulable") else "false"}


def event_fields(o):
    inv = o.get("involvedObject") or {}
    src = (o.get("source") or {}).get("component") or o.get("reportingComponent", "")
    return {"metadata.name": o["metadata"]["name"], "metadata.namespace": o["metadata"].get("namespace", ""),
            "involvedObject.kind": inv.get("kind", ""), "involvedObject.namespace": inv.get("namespace", ""),
            "involvedObject.name": inv.get("name", ""), "involvedObject.uid": inv.get("uid", ""),
            "involvedObject.apiVersion": inv.get("apiVersion", ""),
            "involvedObject.resourceVersion": inv.get("resourceVersion", ""),
            "involvedObject.fieldPath": inv.get("fieldPath", ""),
            "reason": o.get("reason", ""), "reportingComponent": o.get("reportingComponent", ""),
            "source": src, "type": o.get("type", "")}


# field labels of events.k8s.io/v1, converted to the core names
EVENTS_V1_FIELD_ALIASES = {
    "regarding.kind": "involvedObject.kind", "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name", "regarding.uid": "involvedObject.uid",
    "regarding.apiVersion": "involvedObject.apiVersion",
    "regarding.resourceVersion": "involvedObject.resourceVersion",
    "regarding.fieldPath": "involvedObject.fieldPath", "reportingController": "reportingComponent",
    "deprecatedSource": "source",
}


def ns_name_fields(o):
    return {"metadata.name": o["metadata"]["name"], "metadata.namespace": o["metadata"].get("namespace", "")}


POD_FIELDS = {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
              "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
              "status.nominatedNodeName"}


# ---- events.k8s.io/v1 <-> core/v1 Event ----

def event_core_to_v1(e):
    e = copy.deepcopy(e)
    out = {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": e.get("metadata", {})}
    m = [("eventTime", "eventTime"), ("series", "series"), ("reportingComponent", "reportingController"),
         ("reportingInstance", "reportingInstance"), ("action", "action"), ("reason", "reason"),
         ("involvedObject", "regarding"), ("related", "related"), ("message", "note"), ("type", "type"),
         ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
         ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount")]
    for a, b in m:
        if e.get(a) not in (None, "", {}, 0):
            out[b] = e[a]
    out.setdefault("eventTime", None)
    return out


def event_v1_to_core(e):
    e = copy.deepcopy(e)
    out = {"kind": "Event", "apiVersion": "v1", "metadata": e.get("metadata", {})}
    m = [("eventTime", "eventTime"), ("series", "series"), ("reportingController", "reportingComponent"),
         ("reportingInstance", "reportingInstance"), ("action", "action"), ("reason", "reason"),
         ("regarding", "involvedObject"), ("related", "related"), ("note", "message"), ("type", "type"),
         ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
         ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count")]
    for a, b in m:
        if e.get(a) not in (None, "", {}):
            out[b] = e[a]
    out.setdefault("involvedObject", {})
    out.setdefault("source", {})
    out.setdefault("firstTimestamp", None)
    out.setdefault("lastTimestamp", None)
    return out


SCHEMAS = {"nodes": sc.NODE, "events": sc.EVENT, "events.v1": sc.EVENT_V1, "leases": sc.LEASE}
