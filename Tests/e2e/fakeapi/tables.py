"""Server-side printing (meta.k8s.io/v1 Table) for nodes and events, as pkg/printers/internalversion
renders them; kubectl asks for these with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`."""
import datetime


def _parse(ts):
    if not ts:
        return None
    ts = ts.replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(ts)
    except ValueError:
        return None


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return f"{minutes}m" if sec == 0 else f"{minutes}m{sec}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(ts):
    t = _parse(ts)
    if t is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


def _col(name, type_, desc, priority=0, fmt=""):
    return {"name": name, "type": type_, "format": fmt, "description": desc, "priority": priority}


NODE_COLUMNS = [
    _col("Name", "string", "Name must be unique within a namespace.", 0, "name"),
    _col("Status", "string", "The status of the node"),
    _col("Roles", "string", "The roles of the node"),
    _col("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created."),
    _col("Version", "string", "Kubelet Version reported by the node."),
    _col("Internal-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
    _col("External-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
    _col("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
    _col("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
    _col("Container-Runtime", "string", "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
]

EVENT_COLUMNS = [
    _col("Last Seen", "string", "Time when last event occurred"),
    _col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future."),
    _col("Reason", "string", "This should be a short, machine understandable string that gives the reason for this event being generated."),
    _col("Object", "string", "The object this Event is about."),
    _col("Subobject", "string", "If the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.", 1),
    _col("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
    _col("Message", "string", "A human-readable description of the status of this operation."),
    _col("First Seen", "string", "Time when first event occurred", 1),
    _col("Count", "integer", "The number of times this event has occurred.", 1),
    _col("Name", "string", "Name must be unique within a namespace.", 1, "name"),
]


def node_cells(n):
    conds = {c.get("type"): c.get("status") for c in (n.get("status") or {}).get("conditions") or []}
    st = "Ready" if conds.get("Ready") == "True" else ("NotReady" if "Ready" in conds else "Unknown")
    if (n.get("spec") or {}).get("unschedulable"):
        st += ",SchedulingDisabled"
    roles = sorted({k[len("node-role.kubernetes.io/"):] for k in (n["metadata"].get("labels") or {})
                    if k.startswith("node-role.kubernetes.io/") and k[len("node-role.kubernetes.io/"):]})
    info = (n.get("status") or {}).get("nodeInfo") or {}
    addrs = (n.get("status") or {}).get("addresses") or []
    ip = lambda t: next((a["address"] for a in addrs if a.get("type") == t), "<none>")  # noqa: E731
    return [n["metadata"]["name"], st, ",".join(roles) or "<none>", since(n["metadata"].get("creationTimestamp")),
            info.get("kubeletVersion", ""), ip("InternalIP"), ip("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def event_cells(e):
    first = since(e.get("firstTimestamp")) if e.get("firstTimestamp") else since(e.get("eventTime"))
    last = since(e.get("lastTimestamp")) if e.get("lastTimestamp") else first
    count = e.get("count") or 0
    if e.get("series"):
        last = since(e["series"].get("lastObservedTime"))
        count = e["series"].get("count", 0)
    elif count == 0:
        count = 1
    inv = e.get("involvedObject") or {}
    target = f'{(inv.get("kind") or "").lower()}/{inv["name"]}' if inv.get("name") else (inv.get("kind") or "").lower()
    src = e.get("source") or {}
    comp = src.get("component") or e.get("reportingComponent", "")
    host = src.get("host") or e.get("reportingInstance", "")
    source = f"{comp}, {host}" if host else comp
    return [last, e.get("type", ""), e.get("reason", ""), target, inv.get("fieldPath", ""), source,
            (e.get("message") or "").strip(), first, count, e["metadata"]["name"]]


def to_table(kind, objs, rv, include_object="Metadata", api_version="v1"):
    cols, fn = (NODE_COLUMNS, node_cells) if kind == "Node" else (EVENT_COLUMNS, event_cells)
    rows = []
    for o in objs:
        row = {"cells": fn(o)}
        if include_object == "Object":
            full = dict(o)
            full.setdefault("kind", kind)
            full.setdefault("apiVersion", api_version)
            row["object"] = full
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(rv)},
            "columnDefinitions": cols, "rows": rows}
