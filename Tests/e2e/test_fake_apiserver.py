"""The fake API server is only useful if it behaves like kube-apiserver. These tests pin the
semantics the agent depends on (see /work/shared/docs/kubernetes-api.md), using kubectl 1.32 as
the independent real client and plain HTTPS for the exact wire behaviour."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"
OUR = {"key": "autotaint.dev/cpu-pressure", "value": "true", "effect": "NoSchedule"}
FOREIGN = {"key": "example.com/maintenance", "value": "yes", "effect": "NoSchedule"}
HERE = os.path.dirname(os.path.abspath(__file__))


def rv(node):
    return node["metadata"]["resourceVersion"]


def cond(node, type_):
    return next((c for c in node["status"].get("conditions", []) if c["type"] == type_), None)


def set_taints(api, name, taints):
    def f(n):
        n["spec"]["taints"] = taints
    return api.update_node(name, f)


def cpu_condition(status="True", reason="CPUUsageHigh", message="CPU 93.4% >= 80% for 30s (proc)"):
    return {"type": "CPUPressure", "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": "2025-01-01T00:00:00Z", "lastTransitionTime": "2025-01-01T00:00:00Z"}


def node_event(name, reason="TaintAdded", message="added autotaint.dev/cpu-pressure=true:NoSchedule", uid=None):
    return {"metadata": {"generateName": f"{name}."},
            "involvedObject": {"kind": "Node", "name": name, "uid": uid or name, "apiVersion": "v1",
                               "namespace": ""},
            "reason": reason, "message": message, "type": "Normal",
            "source": {"component": "autotaint", "host": name},
            "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:00:00Z", "count": 1,
            "reportingComponent": "autotaint", "reportingInstance": name}


# =============================================================================================
# kubectl: the real client


def test_kubectl_get_node_json(fake_api):
    out = json.loads(fake_api.kubectl("get", "node", "node-1", "-o", "json"))
    assert out["kind"] == "Node" and out["apiVersion"] == "v1"
    assert out["metadata"]["name"] == "node-1"
    assert out["metadata"]["uid"] == fake_api.node("node-1")["metadata"]["uid"]
    assert out["metadata"]["resourceVersion"].isdigit()
    ready = cond(out, "Ready")
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    lst = json.loads(fake_api.kubectl("get", "nodes", "-o", "json"))
    assert [i["metadata"]["name"] for i in lst["items"]] == ["node-1", "node-2"]


def test_kubectl_get_nodes_table_and_no_warnings(fake_api):
    r = fake_api.kubectl_run("get", "nodes")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert lines[1].split()[:3] == ["node-1", "Ready", "<none>"]
    assert lines[1].split()[-1] == "v1.32.4"
    # kubectl asked for a server-side Table and used legacy discovery
    lists = fake_api.requests("GET", "/api/v1/nodes")
    assert lists and lists[-1]["status"] == 200
    assert fake_api.requests("GET", "/api") and fake_api.requests("GET", "/api/v1")


def test_kubectl_taint_add_and_remove(fake_api):
    set_taints(fake_api, "node-1", [FOREIGN])
    rv0 = int(rv(fake_api.node("node-1")))
    assert "node/node-1 tainted" in fake_api.kubectl("taint", "node", "node-1", "autotaint.dev/cpu-pressure=true:NoSchedule")
    n = fake_api.node("node-1")
    assert n["spec"]["taints"] == [OUR, FOREIGN]  # kubectl puts the taints it adds first
    assert int(rv(n)) > rv0
    patches = fake_api.requests("PATCH", "/api/v1/nodes/node-1")
    assert patches[-1]["content_type"] == SMP
    assert patches[-1]["params"]["fieldManager"] == "kubectl-taint"
    body = json.loads(patches[-1]["body"])
    assert body == {"spec": {"taints": [OUR, FOREIGN]}}  # atomic list: kubectl sends all of it, no resourceVersion

    # the same taint again is refused by kubectl itself (it reads the node first)
    r = fake_api.kubectl_run("taint", "node", "node-1", "autotaint.dev/cpu-pressure=true:NoSchedule")
    assert r.returncode != 0 and "already has" in r.stderr

    assert "node/node-1 untainted" in fake_api.kubectl("taint", "node", "node-1", "autotaint.dev/cpu-pressure-")
    assert fake_api.node("node-1")["spec"]["taints"] == [FOREIGN]
    fake_api.kubectl("taint", "node", "node-1", "example.com/maintenance-")
    assert "taints" not in fake_api.node("node-1")["spec"]  # kubectl sent {"spec":{"taints":null}}
    assert json.loads(fake_api.requests("PATCH")[-1]["body"]) == {"spec": {"taints": None}}


def test_kubectl_taint_invalid_is_rejected_by_server(fake_api):
    # kubectl validates the effect itself, but not a value with a space; the server answers 422
    r = fake_api.kubectl_run("taint", "node", "node-1", "autotaint.dev/x=bad value:NoSchedule")
    assert r.returncode != 0
    assert "spec.taints" in r.stderr or "invalid" in r.stderr.lower()


def test_kubectl_describe_node_shows_taints_conditions_events(fake_api):
    fake_api.kubectl("taint", "node", "node-1", "autotaint.dev/cpu-pressure=true:NoSchedule")
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status", {"status": {"conditions": [cpu_condition()]}}, SMP)
    assert r.status == 200, r
    uid = fake_api.node("node-1")["metadata"]["uid"]
    r = fake_api.http("POST", "/api/v1/namespaces/default/events", node_event("node-1", uid=uid), "application/json")
    assert r.status == 201, r
    r2 = fake_api.http("POST", "/api/v1/namespaces/default/events",
                       node_event("node-1", reason="SourceFallback", message="proc unreadable, using prometheus"),
                       "application/json")  # kubelet style: uid = node name
    assert r2.status == 201, r2

    out = fake_api.kubectl("describe", "node", "node-1")
    lines = out.splitlines()
    taint_line = next(line for line in lines if line.startswith("Taints:"))
    assert taint_line.split()[1] == "autotaint.dev/cpu-pressure=true:NoSchedule"
    cpu = next(line for line in lines if line.strip().startswith("CPUPressure"))
    assert cpu.split()[1] == "True"
    assert "CPUUsageHigh" in cpu and "CPU 93.4% >= 80% for 30s (proc)" in cpu
    ready = next(line for line in lines if line.strip().startswith("Ready "))
    assert "KubeletReady" in ready  # the /status strategic merge kept kubelet's condition
    ev_idx = next(i for i, line in enumerate(lines) if line.startswith("Events:"))
    ev_text = "\n".join(lines[ev_idx:])
    assert "TaintAdded" in ev_text and "added autotaint.dev/cpu-pressure=true:NoSchedule" in ev_text
    assert "SourceFallback" in ev_text  # found through the name-as-uid query
    assert "autotaint" in ev_text
    # what describe asked for
    ev_lists = [q for q in fake_api.requests("GET", "/api/v1/events")]
    sels = [q["params"].get("fieldSelector", "") for q in ev_lists]
    assert any(f"involvedObject.uid={uid}" in s for s in sels)
    assert any("involvedObject.uid=node-1" in s for s in sels)
    assert fake_api.requests("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1")[0]["status"] == 200
    pods = fake_api.requests("GET", "/api/v1/pods")
    assert pods and "spec.nodeName=node-1" in pods[0]["params"]["fieldSelector"]


def test_kubectl_get_events(fake_api):
    r = fake_api.http("POST", "/api/v1/namespaces/default/events", node_event("node-1"), "application/json")
    assert r.status == 201
    out = fake_api.kubectl("get", "events")
    head, row = out.splitlines()[0], out.splitlines()[1]
    assert head.split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert "Normal" in row and "TaintAdded" in row and "node/node-1" in row
    js = json.loads(fake_api.kubectl("get", "events", "-o", "json"))
    assert js["items"][0]["involvedObject"]["name"] == "node-1"
    sel = json.loads(fake_api.kubectl("get", "events", "-A", "--field-selector", "involvedObject.name=node-2", "-o", "json"))
    assert sel["items"] == []


def test_kubectl_after_token_rotation(fake_api):
    old_kubeconfig = open(fake_api.kubeconfig).read()
    fake_api.rotate_token()
    assert open(fake_api.kubeconfig).read() != old_kubeconfig
    fake_api.kubectl("get", "node", "node-1")  # kubeconfig was rewritten with the new token
    with open(os.path.join(fake_api.state_dir, "stale-kubeconfig"), "w") as f:
        f.write(old_kubeconfig)
    r = fake_api.kubectl_run("get", "node", "node-1", kubeconfig=os.path.join(fake_api.state_dir, "stale-kubeconfig"))
    assert r.returncode != 0 and "Unauthorized" in r.stderr


def test_kubectl_tokenfile_kubeconfig(fake_api):
    r = fake_api.kubectl_run("get", "node", "node-2", "-o", "name", kubeconfig=fake_api.kubeconfig_tokenfile)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "node/node-2"
    fake_api.rotate_token()  # kubectl re-reads tokenFile, so the same kubeconfig keeps working
    r = fake_api.kubectl_run("get", "node", "node-2", "-o", "name", kubeconfig=fake_api.kubeconfig_tokenfile)
    assert r.returncode == 0, r.stderr


# =============================================================================================
# taints: atomic list, optimistic concurrency, validation


def test_taints_are_atomic_strategic_merge_replaces_whole_list(fake_api):
    set_taints(fake_api, "node-1", [FOREIGN])
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP)
    assert r.status == 200
    assert r.json()["spec"]["taints"] == [OUR]  # the foreign taint is gone: no per-key merge
    assert fake_api.node("node-1")["spec"]["taints"] == [OUR]
    # $patch: delete has no meaning in an atomic list: the list is replaced by what is sent
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      {"spec": {"taints": [{"$patch": "delete", "key": OUR["key"], "effect": "NoSchedule"}]}}, SMP)
    assert r.status == 200
    assert fake_api.node("node-1")["spec"]["taints"] == [{"key": OUR["key"], "effect": "NoSchedule"}]


def test_full_list_write_with_resource_version_keeps_foreign_taints(fake_api):
    set_taints(fake_api, "node-1", [FOREIGN])
    n = fake_api.node("node-1")
    body = {"metadata": {"resourceVersion": rv(n)}, "spec": {"taints": n["spec"]["taints"] + [OUR]}}
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", body, SMP)
    assert r.status == 200
    assert r.json()["spec"]["taints"] == [FOREIGN, OUR]
    assert int(rv(r.json())) == int(rv(n)) + 1


def test_resource_version_conflict_409_body(fake_api):
    n = fake_api.node("node-1")
    stale = rv(n)
    set_taints(fake_api, "node-1", [FOREIGN])  # someone else writes in between
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      {"metadata": {"resourceVersion": stale}, "spec": {"taints": [OUR]}}, SMP)
    assert r.status == 409
    assert r.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on nodes "node-1": the object has been modified; '
                   "please apply your changes to the latest version and try again",
        "reason": "Conflict", "details": {"name": "node-1", "kind": "nodes"}, "code": 409}
    assert fake_api.node("node-1")["spec"]["taints"] == [FOREIGN]
    # precondition is checked before validation, and also for a patch that would change nothing
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      {"metadata": {"resourceVersion": stale}, "spec": {"taints": [{"key": "bad key", "effect": "X"}]}}, SMP)
    assert r.status == 409
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"resourceVersion": stale}}, SMP)
    assert r.status == 409
    # the same precondition works for merge-patch and json-patch bodies
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"resourceVersion": stale}, "spec": {"taints": []}}, MERGE)
    assert r.status == 409
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      [{"op": "replace", "path": "/metadata/resourceVersion", "value": stale},
                       {"op": "remove", "path": "/spec/taints"}], JSONPATCH)
    assert r.status == 409


def test_patch_without_resource_version_is_unconditional(fake_api):
    set_taints(fake_api, "node-1", [FOREIGN])
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP)
    assert r.status == 200 and r.json()["spec"]["taints"] == [OUR]


def test_invalid_taints_422_with_causes(fake_api):
    rv0 = rv(fake_api.node("node-1"))
    bad = [{"key": "autotaint.dev/ok", "value": "v", "effect": "NoSchedul"},
           {"key": "-bad-", "value": "v", "effect": "NoSchedule"},
           {"key": "a", "value": "has space", "effect": "NoSchedule"},
           {"key": "a", "value": "", "effect": "NoSchedule"},
           {"key": "b"}]
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": bad}}, SMP)
    assert r.status == 422
    s = r.json()
    assert s["kind"] == "Status" and s["reason"] == "Invalid" and s["code"] == 422
    assert s["message"].startswith('Node "node-1" is invalid: [')
    assert s["details"]["name"] == "node-1" and s["details"]["kind"] == "Node"
    causes = {(c["field"], c["reason"]) for c in s["details"]["causes"]}
    assert ("spec.taints[0].effect", "FieldValueNotSupported") in causes
    assert ("spec.taints[1].key", "FieldValueInvalid") in causes
    assert ("spec.taints[2].value", "FieldValueInvalid") in causes
    assert ("spec.taints[3]", "FieldValueDuplicate") in causes
    assert ("spec.taints[4].effect", "FieldValueRequired") in causes
    eff = next(c for c in s["details"]["causes"] if c["field"] == "spec.taints[0].effect")
    assert eff["message"] == 'Unsupported value: "NoSchedul": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'
    dup = next(c for c in s["details"]["causes"] if c["field"] == "spec.taints[3]")
    assert dup["message"].endswith("taints must be unique by key and effect pair")
    assert rv(fake_api.node("node-1")) == rv0
    assert "taints" not in fake_api.node("node-1")["spec"]


def test_taint_key_rules(fake_api):
    ok = [{"key": "a" * 63, "effect": "NoSchedule"}, {"key": "sub.example.com/x", "effect": "NoExecute"},
          {"key": "a", "effect": "NoExecute"}]  # same key, different effect: allowed
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": ok}}, SMP)
    assert r.status == 200, r
    for key in ["a" * 64, "Upper.Example.com/x", "/x", "a/b/c", ""]:
        r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [{"key": key, "effect": "NoSchedule"}]}}, SMP)
        assert r.status == 422, key
        assert all(c["field"] == "spec.taints[0].key" for c in r.json()["details"]["causes"])


def test_main_resource_ignores_status_and_status_ignores_spec(fake_api):
    n0 = fake_api.node("node-1")
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"status": {"conditions": [cpu_condition()]}}, SMP)
    assert r.status == 200
    assert cond(r.json(), "CPUPressure") is None
    assert rv(fake_api.node("node-1")) == rv(n0)  # nothing changed, nothing written
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status", {"spec": {"taints": [OUR]}}, SMP)
    assert r.status == 200
    assert "taints" not in r.json()["spec"]
    assert rv(fake_api.node("node-1")) == rv(n0)
    # mixed: each endpoint takes its half only
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status",
                      {"spec": {"taints": [OUR]}, "status": {"conditions": [cpu_condition()]}}, SMP)
    n = fake_api.node("node-1")
    assert cond(n, "CPUPressure")["status"] == "True" and "taints" not in n["spec"]
    # and /status does not validate taints (it never sees them)
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status", {"spec": {"taints": [{"key": "bad key"}]}}, SMP)
    assert r.status == 200


def test_conditions_merge_by_type_and_patch_delete(fake_api):
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status", {"status": {"conditions": [cpu_condition()]}}, SMP)
    assert r.status == 200
    n = r.json()
    assert [c["type"] for c in n["status"]["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready", "CPUPressure"]
    # partial update of one condition: fields present overwrite, others are kept
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status",
                      {"status": {"conditions": [{"type": "CPUPressure", "status": "False", "reason": "CPUUsageNormal"}]}}, SMP)
    c = cond(r.json(), "CPUPressure")
    assert c["status"] == "False" and c["reason"] == "CPUUsageNormal"
    assert c["message"] == "CPU 93.4% >= 80% for 30s (proc)"  # omitted: kept
    assert cond(r.json(), "Ready")["status"] == "True"
    # $patch: delete removes exactly that type
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status",
                      {"status": {"conditions": [{"$patch": "delete", "type": "CPUPressure"}]}}, SMP)
    assert r.status == 200
    assert [c["type"] for c in r.json()["status"]["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    # deleting a type that is not there is a no-op
    before = rv(fake_api.node("node-1"))
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status",
                      {"status": {"conditions": [{"$patch": "delete", "type": "CPUPressure"}]}}, SMP)
    assert r.status == 200 and rv(r.json()) == before
    # a merge-keyed element without its key is a server error, as in strategicpatch
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status", {"status": {"conditions": [{"status": "True"}]}}, SMP)
    assert r.status == 500 and r.json()["reason"] == "Unknown"
    assert r.json()["message"] == "map: map[status:True] does not contain declared merge key: type"


def test_merge_patch_replaces_conditions_list_killing_ready(fake_api):
    """Why an agent must never use merge-patch for conditions: RFC 7386 replaces lists whole,
    so kubelet's Ready (and the pressure conditions) vanish."""
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1/status", {"status": {"conditions": [cpu_condition()]}}, MERGE)
    assert r.status == 200
    n = fake_api.node("node-1")
    assert [c["type"] for c in n["status"]["conditions"]] == ["CPUPressure"]
    assert cond(n, "Ready") is None
    # merge patch of maps still merges, null deletes
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      {"metadata": {"labels": {"kubernetes.io/os": None, "x.example.com/a": "b"}}}, MERGE)
    labels = r.json()["metadata"]["labels"]
    assert "kubernetes.io/os" not in labels and labels["x.example.com/a"] == "b" and "kubernetes.io/arch" in labels


def test_labels_and_annotations_strategic_merge(fake_api):
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      {"metadata": {"labels": {"kubernetes.io/os": None, "autotaint.dev/x": "1"},
                                    "annotations": {"autotaint.dev/cpu-high-percent": "90"}}}, SMP)
    md = r.json()["metadata"]
    assert "kubernetes.io/os" not in md["labels"] and md["labels"]["autotaint.dev/x"] == "1"
    assert md["labels"]["kubernetes.io/hostname"] == "node-1"
    assert md["annotations"]["autotaint.dev/cpu-high-percent"] == "90"
    assert md["annotations"]["node.alpha.kubernetes.io/ttl"] == "0"
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"labels": {"bad key": "v"}}}, SMP)
    assert r.status == 422 and r.json()["details"]["causes"][0]["field"] == "metadata.labels"


def test_json_patch_test_failure_is_422(fake_api):
    set_taints(fake_api, "node-1", [FOREIGN])
    n = fake_api.node("node-1")
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      [{"op": "test", "path": "/spec/taints/0/key", "value": "someone.else/taint"},
                       {"op": "remove", "path": "/spec/taints/0"}], JSONPATCH)
    assert r.status == 422
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "the server rejected our request due to an error in our request",
                        "reason": "Invalid", "details": {}, "code": 422}
    assert fake_api.node("node-1")["spec"]["taints"] == [FOREIGN]
    assert rv(fake_api.node("node-1")) == rv(n)
    # a passing test + add works; a test on resourceVersion is a hand-made precondition (422, not 409)
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      [{"op": "test", "path": "/metadata/resourceVersion", "value": rv(n)},
                       {"op": "add", "path": "/spec/taints/-", "value": OUR}], JSONPATCH)
    assert r.status == 200 and r.json()["spec"]["taints"] == [FOREIGN, OUR]
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                      [{"op": "test", "path": "/metadata/resourceVersion", "value": rv(n)}], JSONPATCH)
    assert r.status == 422
    # removing a path that does not exist is also 422
    r = fake_api.http("PATCH", "/api/v1/nodes/node-2", [{"op": "remove", "path": "/spec/taints/0"}], JSONPATCH)
    assert r.status == 422


def test_noop_patch_keeps_resource_version_and_emits_no_watch_event(fake_api):
    set_taints(fake_api, "node-1", [OUR])
    n = fake_api.node("node-1")
    before = fake_api.server.store.current_rv()
    for body, ct in [({"spec": {"taints": [OUR]}}, SMP),
                     ({"metadata": {"resourceVersion": rv(n)}, "spec": {"taints": [OUR]}}, SMP),
                     ({"spec": {"taints": [OUR]}}, MERGE),
                     ([{"op": "replace", "path": "/spec/taints", "value": [OUR]}], JSONPATCH),
                     ({}, SMP)]:
        r = fake_api.http("PATCH", "/api/v1/nodes/node-1", body, ct)
        assert r.status == 200, (body, r)
        assert rv(r.json()) == rv(n)
    assert fake_api.server.store.current_rv() == before
    # a real change bumps the global counter by exactly one
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": []}}, SMP)
    assert int(rv(r.json())) == before + 1


def test_resource_version_is_global_and_monotonic(fake_api):
    a = int(rv(fake_api.node("node-1")))
    b = int(rv(fake_api.node("node-2")))
    assert a != b
    r1 = fake_api.http("PATCH", "/api/v1/nodes/node-2", {"metadata": {"labels": {"x.example.com/a": "1"}}}, SMP).json()
    ev = fake_api.http("POST", "/api/v1/namespaces/default/events", node_event("node-2"), "application/json").json()
    r2 = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"labels": {"x.example.com/a": "1"}}}, SMP).json()
    assert int(rv(r1)) < int(ev["metadata"]["resourceVersion"]) < int(rv(r2))
    lst = fake_api.http("GET", "/api/v1/nodes").json()
    assert lst["kind"] == "NodeList" and int(lst["metadata"]["resourceVersion"]) == int(rv(r2))
    assert "kind" not in lst["items"][0]  # list items carry no kind/apiVersion, as from a real server


def test_unsupported_media_type_415(fake_api):
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": []}}, "application/json")
    assert r.status == 415
    s = r.json()
    assert s["reason"] == "UnsupportedMediaType" and s["code"] == 415
    assert s["message"].startswith("the body of the request was in an unknown format - accepted media types include: ")
    assert "application/strategic-merge-patch+json" in s["message"]
    # charset parameter is accepted
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {}}, SMP + "; charset=utf-8")
    assert r.status == 200


def test_not_found_and_bad_requests(fake_api):
    r = fake_api.http("GET", "/api/v1/nodes/nope")
    assert r.status == 404 and r.json()["message"] == 'nodes "nope" not found'
    assert r.json()["details"] == {"name": "nope", "kind": "nodes"}
    r = fake_api.http("PATCH", "/api/v1/nodes/nope", {}, SMP)
    assert r.status == 404
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", b"{not json", SMP)
    assert r.status == 400 and r.json()["reason"] == "BadRequest"
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"name": "node-2"}}, SMP)
    assert r.status == 400
    assert r.json()["message"] == "the name of the object (node-2) does not match the name on the URL (node-1)"
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"uid": "00000000-0000-0000-0000-000000000000"}}, SMP)
    assert r.status == 422 and r.json()["details"]["causes"][0]["field"] == "metadata.uid"
    r = fake_api.http("GET", "/api/v1/nodes?fieldSelector=status.phase%3DReady")
    assert r.status == 400 and r.json()["message"] == "field label not supported: status.phase"


def test_unknown_fields_warn_by_default_and_fail_when_strict(fake_api):
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taint": [OUR]}}, SMP)
    assert r.status == 200
    assert r.headers.get_all("Warning") == ['299 - "unknown field \\"spec.taint\\""']
    assert "taint" not in r.json()["spec"]
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1?fieldValidation=Strict", {"spec": {"taint": [OUR]}}, SMP)
    assert r.status == 422
    assert 'strict decoding error: unknown field "spec.taint"' in r.json()["message"]
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": "oops"}}, SMP)
    assert r.status == 422 and r.json()["details"]["causes"][0]["field"] == "patch"


def test_get_list_with_field_and_label_selectors(fake_api):
    r = fake_api.http("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dnode-2")
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["node-2"]
    r = fake_api.http("GET", "/api/v1/nodes?fieldSelector=metadata.name%21%3Dnode-2")
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["node-1"]
    r = fake_api.http("GET", "/api/v1/nodes?labelSelector=kubernetes.io%2Fhostname%3Dnode-1")
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["node-1"]
    r = fake_api.http("GET", "/api/v1/nodes?labelSelector=kubernetes.io%2Fhostname+in+(node-1,node-2),!node-role.kubernetes.io%2Fcontrol-plane")
    assert len(r.json()["items"]) == 2
    r = fake_api.http("GET", "/api/v1/nodes/node-1/status")
    assert r.status == 200 and r.json()["metadata"]["name"] == "node-1"


def test_put_node_with_resource_version(fake_api):
    n = fake_api.node("node-1")
    n["spec"]["taints"] = [OUR]
    n["status"]["conditions"] = []  # ignored on the main resource
    r = fake_api.http("PUT", "/api/v1/nodes/node-1", n, "application/json")
    assert r.status == 200 and r.json()["spec"]["taints"] == [OUR]
    assert cond(r.json(), "Ready") is not None
    r = fake_api.http("PUT", "/api/v1/nodes/node-1", n, "application/json")  # n has the old resourceVersion
    assert r.status == 409 and r.json()["reason"] == "Conflict"


# =============================================================================================
# events


def test_event_create_generate_name_and_patch(fake_api):
    r = fake_api.http("POST", "/api/v1/namespaces/default/events", node_event("node-1"), "application/json")
    assert r.status == 201
    ev = r.json()
    name = ev["metadata"]["name"]
    assert name.startswith("node-1.") and len(name) == len("node-1.") + 5
    assert all(c in "bcdfghjklmnpqrstvwxz2456789" for c in name[-5:])
    assert ev["metadata"]["namespace"] == "default" and ev["metadata"]["uid"] and ev["kind"] == "Event"
    assert ev["eventTime"] is None and ev["count"] == 1
    r = fake_api.http("PATCH", f"/api/v1/namespaces/default/events/{name}",
                      {"count": 2, "lastTimestamp": "2025-01-01T00:05:00Z"}, SMP)
    assert r.status == 200
    assert r.json()["count"] == 2 and r.json()["lastTimestamp"] == "2025-01-01T00:05:00Z"
    assert r.json()["reason"] == "TaintAdded"
    assert fake_api.events("default")[0]["count"] == 2
    # fixed name: create twice -> AlreadyExists
    e = node_event("node-1")
    e["metadata"] = {"name": "node-1.fixed"}
    assert fake_api.http("POST", "/api/v1/namespaces/default/events", e, "application/json").status == 201
    r = fake_api.http("POST", "/api/v1/namespaces/default/events", e, "application/json")
    assert r.status == 409 and r.json()["reason"] == "AlreadyExists"
    assert r.json()["message"] == 'events "node-1.fixed" already exists'


def test_event_validation(fake_api):
    e = node_event("node-1")
    e["involvedObject"]["namespace"] = "kube-system"
    r = fake_api.http("POST", "/api/v1/namespaces/default/events", e, "application/json")
    assert r.status == 422
    assert r.json()["details"]["causes"][0]["field"] == "involvedObject.namespace"
    e = node_event("node-1")
    e["metadata"] = {}
    r = fake_api.http("POST", "/api/v1/namespaces/default/events", e, "application/json")
    assert r.status == 422 and "name or generateName is required" in r.json()["message"]
    e = node_event("node-1")
    e["metadata"]["namespace"] = "other"
    r = fake_api.http("POST", "/api/v1/namespaces/default/events", e, "application/json")
    assert r.status == 400
    # node events may live in another namespace only if involvedObject.namespace is empty and ns is default
    r = fake_api.http("POST", "/api/v1/namespaces/kube-system/events", node_event("node-1"), "application/json")
    assert r.status == 422


def test_event_list_field_selectors(fake_api):
    uid = fake_api.node("node-1")["metadata"]["uid"]
    for n in ("node-1", "node-2"):
        assert fake_api.http("POST", "/api/v1/namespaces/default/events", node_event(n), "application/json").status == 201
    sel = "involvedObject.kind%3DNode%2CinvolvedObject.name%3Dnode-1%2CinvolvedObject.namespace%3D%2CinvolvedObject.uid%3Dnode-1"
    r = fake_api.http("GET", f"/api/v1/events?fieldSelector={sel}")
    assert [e["involvedObject"]["name"] for e in r.json()["items"]] == ["node-1"]
    r = fake_api.http("GET", f"/api/v1/events?fieldSelector=involvedObject.uid%3D{uid}")
    assert r.json()["items"] == []
    r = fake_api.http("GET", "/api/v1/namespaces/default/events?fieldSelector=reason%3DTaintAdded,source%3Dautotaint")
    assert len(r.json()["items"]) == 2
    r = fake_api.http("GET", "/api/v1/namespaces/kube-system/events")
    assert r.json()["items"] == []


def test_events_k8s_io_v1(fake_api):
    body = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"generateName": "node-1."},
            "eventTime": "2025-01-01T00:00:00.000000Z", "reportingController": "autotaint.dev/agent",
            "reportingInstance": "autotaint-node-1", "action": "Taint", "reason": "TaintAdded",
            "regarding": {"kind": "Node", "name": "node-1", "uid": "node-1", "apiVersion": "v1"},
            "note": "added taint", "type": "Normal"}
    r = fake_api.http("POST", "/apis/events.k8s.io/v1/namespaces/default/events", body, "application/json")
    assert r.status == 201, r
    ev = r.json()
    assert ev["apiVersion"] == "events.k8s.io/v1" and ev["note"] == "added taint"
    core = fake_api.http("GET", f"/api/v1/namespaces/default/events/{ev['metadata']['name']}").json()
    assert core["message"] == "added taint" and core["involvedObject"]["name"] == "node-1"
    assert core["reportingComponent"] == "autotaint.dev/agent"
    bad = dict(body, type="Info")
    r = fake_api.http("POST", "/apis/events.k8s.io/v1/namespaces/default/events", bad, "application/json")
    assert r.status == 422
    r = fake_api.http("GET", "/apis/events.k8s.io/v1/events?fieldSelector=regarding.name%3Dnode-1")
    assert len(r.json()["items"]) == 1


# =============================================================================================
# watch


class Watch:
    """Read a watch stream line by line (chunked JSON) with a hard deadline."""

    def __init__(self, api, path, timeout=10):
        ctx = ssl.create_default_context(cafile=api.ca)
        self.conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=ctx, timeout=timeout)
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {api.token}"})
        self.resp = self.conn.getresponse()

    def next(self):
        line = self.resp.readline()
        return json.loads(line) if line.strip() else None

    def collect(self, until=lambda e: False, max_events=50):
        out = []
        for _ in range(max_events):
            e = self.next()
            if e is None:
                break
            out.append(e)
            if until(e):
                break
        return out

    def close(self):
        self.conn.close()


def test_watch_initial_modified_bookmark_and_timeout(fake_api):
    fake_api.set_bookmark_interval(0.3)
    w = Watch(fake_api, "/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1&watch=true&allowWatchBookmarks=true&timeoutSeconds=3")
    assert w.resp.status == 200
    assert w.resp.getheader("Transfer-Encoding") == "chunked"
    first = w.next()
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "node-1"
    assert first["object"]["kind"] == "Node"
    fake_api.http("PATCH", "/api/v1/nodes/node-2", {"metadata": {"labels": {"x.example.com/a": "1"}}}, SMP)  # filtered out
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP).json()
    t0 = time.monotonic()
    evs = w.collect()  # until the server ends the stream at timeoutSeconds
    elapsed = time.monotonic() - t0
    w.close()
    types = [e["type"] for e in evs]
    mods = [e for e in evs if e["type"] == "MODIFIED"]
    assert len(mods) == 1 and mods[0]["object"]["spec"]["taints"] == [OUR]
    assert rv(mods[0]["object"]) == rv(r)
    assert "BOOKMARK" in types
    bm = [e for e in evs if e["type"] == "BOOKMARK"][-1]["object"]
    assert bm["kind"] == "Node" and set(bm["metadata"]) == {"resourceVersion", "creationTimestamp"}
    assert int(bm["metadata"]["resourceVersion"]) >= int(rv(r))
    assert "DELETED" not in types and "ERROR" not in types
    assert elapsed < 3.5


def test_watch_from_resource_version_and_410_when_too_old(make_fake_api):
    api = make_fake_api(history_size=5)
    start = rv(api.node("node-1"))
    for i in range(3):
        api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"labels": {"x.example.com/i": str(i)}}}, SMP)
    w = Watch(api, f"/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1&watch=true&resourceVersion={rv(api.node('node-1'))}&timeoutSeconds=1")
    assert w.collect() == []  # nothing after the current version
    w.close()
    # from a retained version: replays exactly the later changes, in order
    mid = api.server.store.current_rv() - 2
    w = Watch(api, f"/api/v1/nodes?watch=1&resourceVersion={mid}&timeoutSeconds=1")
    evs = w.collect()
    w.close()
    assert [e["object"]["metadata"]["labels"]["x.example.com/i"] for e in evs] == ["1", "2"]
    # older than the retained history (5 events) -> ERROR 410 Expired
    w = Watch(api, f"/api/v1/nodes?watch=true&resourceVersion={start}&timeoutSeconds=5")
    evs = w.collect()
    w.close()
    assert len(evs) == 1 and evs[0]["type"] == "ERROR"
    s = evs[0]["object"]
    assert s["kind"] == "Status" and s["code"] == 410 and s["reason"] == "Expired"
    assert s["message"].startswith(f"too old resource version: {start} (")
    # compaction makes every older version expire; the list rv is the fresh start point
    cur = api.server.store.current_rv()
    api.compact()
    w = Watch(api, f"/api/v1/nodes?watch=true&resourceVersion={cur - 1}&timeoutSeconds=5")
    assert w.collect()[0]["object"]["code"] == 410
    w.close()
    lst = api.http("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1").json()
    w = Watch(api, f"/api/v1/nodes?watch=true&resourceVersion={lst['metadata']['resourceVersion']}&timeoutSeconds=1")
    assert w.collect() == []
    w.close()


def test_watch_label_selector_transitions_and_delete(fake_api):
    w = Watch(fake_api, "/api/v1/nodes?watch=true&labelSelector=pool%3Dhot&timeoutSeconds=2")
    fake_api.http("PATCH", "/api/v1/nodes/node-2", {"metadata": {"labels": {"pool": "hot"}}}, SMP)
    fake_api.http("PATCH", "/api/v1/nodes/node-2", {"metadata": {"labels": {"pool": "cold"}}}, SMP)
    fake_api.http("PATCH", "/api/v1/nodes/node-1", {"metadata": {"labels": {"pool": "hot"}}}, SMP)
    fake_api.delete_node("node-1")
    evs = w.collect()
    w.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [
        ("ADDED", "node-2"), ("DELETED", "node-2"), ("ADDED", "node-1"), ("DELETED", "node-1")]
    assert evs[1]["object"]["metadata"]["labels"]["pool"] == "hot"  # DELETED carries the last matching state


def test_watch_too_large_resource_version(fake_api):
    future = fake_api.server.store.current_rv() + 1000
    t0 = time.monotonic()
    w = Watch(fake_api, f"/api/v1/nodes?watch=true&resourceVersion={future}&timeoutSeconds=10")
    evs = w.collect()
    w.close()
    assert evs[0]["type"] == "ERROR" and evs[0]["object"]["code"] == 504
    assert evs[0]["object"]["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    assert 2.5 < time.monotonic() - t0 < 6


def test_watch_send_initial_events_bookmark(fake_api):
    w = Watch(fake_api, "/api/v1/nodes?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1")
    evs = w.collect(until=lambda e: e["type"] == "BOOKMARK")
    w.close()
    assert [e["type"] for e in evs] == ["ADDED", "ADDED", "BOOKMARK"]
    assert evs[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


# =============================================================================================
# authentication


def test_401_without_or_with_rotated_token(fake_api):
    r = fake_api.http("GET", "/api/v1/nodes/node-1", token="")
    assert r.status == 401
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    old = fake_api.token
    assert fake_api.http("GET", "/api/v1/nodes/node-1", token=old).status == 200
    new = fake_api.rotate_token()
    assert new != old and fake_api.token == new
    assert open(fake_api.token_file).read() == new
    assert fake_api.http("GET", "/api/v1/nodes/node-1", token=old).status == 401
    assert fake_api.http("GET", "/api/v1/nodes/node-1", token=new).status == 200
    # grace period: both accepted
    newer = fake_api.rotate_token(keep_old=True)
    assert fake_api.http("GET", "/api/v1/nodes/node-1", token=new).status == 200
    assert fake_api.http("GET", "/api/v1/nodes/node-1", token=newer).status == 200
    assert fake_api.http("GET", "/healthz", token="").status == 200
    assert [r["status"] for r in fake_api.requests("GET", "/api/v1/nodes/node-1")][:2] == [401, 200]


# =============================================================================================
# fault injection


def test_fault_status_with_retry_after_then_recovers(fake_api):
    fake_api.fault(method="PATCH", path=r"^/api/v1/nodes/node-1$", count=2, status=429, retry_after=2)
    for _ in range(2):
        r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP)
        assert r.status == 429
        assert r.headers["Retry-After"] == "2"
        assert r.json()["reason"] == "TooManyRequests" and r.json()["details"]["retryAfterSeconds"] == 2
    assert "taints" not in fake_api.node("node-1")["spec"]  # the faulted writes did not happen
    assert fake_api.http("GET", "/api/v1/nodes/node-1").status == 200  # GET not matched
    r = fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP)
    assert r.status == 200
    log = fake_api.requests("PATCH", "/api/v1/nodes/node-1")
    assert [(e["status"], e["fault"]) for e in log] == [(429, "status"), (429, "status"), (200, None)]
    assert fake_api.faults() == []


@pytest.mark.parametrize("code,reason", [(500, "InternalError"), (503, "ServiceUnavailable"), (504, "Timeout"), (409, "Conflict")])
def test_fault_status_codes(fake_api, code, reason):
    fake_api.fault(method="GET", path="/api/v1/nodes/node-2", count=1, status=code)
    r = fake_api.http("GET", "/api/v1/nodes/node-2")
    assert r.status == code and r.json()["reason"] == reason and r.json()["code"] == code
    assert fake_api.http("GET", "/api/v1/nodes/node-2").status == 200


def test_fault_garbage_and_truncated_bodies(fake_api):
    fake_api.fault(method="GET", path="/api/v1/nodes/node-1", action="garbage")
    r = fake_api.http("GET", "/api/v1/nodes/node-1")
    assert r.status == 200
    with pytest.raises(ValueError):
        json.loads(r.body)
    fake_api.fault(method="PATCH", path="/api/v1/nodes/node-1", action="truncate")
    with pytest.raises((http.client.IncompleteRead, urllib.error.URLError, ConnectionError)):
        fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP)
    # the write itself happened: the client cannot know, it must re-read
    assert fake_api.node("node-1")["spec"]["taints"] == [OUR]


def test_fault_hang_and_reset(fake_api):
    fake_api.fault(method="GET", path="/api/v1/nodes/node-1", action="hang", seconds=1.0)
    t0 = time.monotonic()
    assert fake_api.http("GET", "/api/v1/nodes/node-1").status == 200
    assert 0.9 < time.monotonic() - t0 < 5
    fake_api.fault(method="GET", path="/api/v1/nodes/node-1", action="hang", seconds=5.0)
    t0 = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        fake_api.http("GET", "/api/v1/nodes/node-1", timeout=0.5)
    assert time.monotonic() - t0 < 3
    fake_api.clear_faults()
    fake_api.fault(method="GET", path="/api/v1/nodes/node-1", action="reset")
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, urllib.error.URLError)):
        fake_api.http("GET", "/api/v1/nodes/node-1")
    assert fake_api.http("GET", "/api/v1/nodes/node-1").status == 200


def test_fault_down_refuse_and_close(fake_api):
    fake_api.down(1.0, mode="refuse")
    with pytest.raises(urllib.error.URLError) as ei:
        fake_api.http("GET", "/api/v1/nodes/node-1", timeout=2)
    assert isinstance(ei.value.reason, ConnectionRefusedError)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if fake_api.http("GET", "/api/v1/nodes/node-1", timeout=2).status == 200:
                break
        except urllib.error.URLError:
            time.sleep(0.1)
    else:
        pytest.fail("server did not come back")
    fake_api.down(0.8, mode="close")
    with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
        fake_api.http("GET", "/api/v1/nodes/node-1", timeout=2)
    time.sleep(1.0)
    assert fake_api.http("GET", "/api/v1/nodes/node-1").status == 200


def test_down_ends_open_watches(fake_api):
    w = Watch(fake_api, "/api/v1/nodes?watch=true&timeoutSeconds=30")
    assert w.next()["type"] == "ADDED"
    t0 = time.monotonic()
    fake_api.down(0.5)
    with pytest.raises((http.client.IncompleteRead, ConnectionError, ssl.SSLError, ValueError, OSError)):
        for _ in range(10):
            if w.next() is None:
                raise ConnectionError("stream ended")
    assert time.monotonic() - t0 < 5
    w.close()


def test_concurrent_foreign_writer_with_resource_version(fake_api):
    writer = fake_api.start_foreign_writer("node-1", rate=20, max_taints=2)
    # an agent-like loop: GET, rebuild keeping foreign taints, PATCH with resourceVersion, retry on 409
    conflicts = 0
    deadline = time.monotonic() + 3
    toggles = 0
    while time.monotonic() < deadline:
        for _ in range(20):
            n = fake_api.http("GET", "/api/v1/nodes/node-1").json()
            taints = n["spec"].get("taints", [])
            mine = [t for t in taints if t["key"] == OUR["key"]]
            others = [t for t in taints if t["key"] != OUR["key"]]
            want = others if mine else others + [OUR]
            time.sleep(0.02)  # leave room for the writer to get in between
            r = fake_api.http("PATCH", "/api/v1/nodes/node-1",
                              {"metadata": {"resourceVersion": rv(n)}, "spec": {"taints": want}}, SMP)
            if r.status == 409:
                conflicts += 1
                continue
            assert r.status == 200, r
            toggles += 1
            break
    stats = fake_api.stop_foreign_writer()
    assert toggles > 5
    assert stats["writes"] > 5
    assert conflicts + stats["conflicts"] > 0  # they really raced
    assert stats["lost"] == []  # with resourceVersion nobody erased anybody
    final = fake_api.node("node-1")["spec"].get("taints", [])
    for t in writer.expected_taints():
        assert t in final
    writer_reqs = [q for q in fake_api.requests(include_internal=True) if q["user"] == "foreign-writer"]
    assert writer_reqs and all(q["method"] in ("GET", "PATCH") for q in writer_reqs)
    assert not [q for q in fake_api.requests() if q["user"] == "foreign-writer"]


def test_foreign_writer_detects_erasure_by_unconditional_writes(fake_api):
    fake_api.start_foreign_writer("node-1", rate=20, max_taints=3)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not fake_api.node("node-1")["spec"].get("taints"):
        time.sleep(0.05)
    # a naive agent: last-writer-wins without resourceVersion
    for _ in range(10):
        fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP)
        time.sleep(0.1)
    stats = fake_api.stop_foreign_writer()
    assert stats["lost"], stats


# =============================================================================================
# leases (coordination.k8s.io/v1) and the fleet guard's DaemonSet

LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
SLOT_LABELS = {"app.kubernetes.io/name": "autotaint", "autotaint.dev/role": "fleet-slot"}
MICRO = "2026-12-04T17:32:26.123456Z"


def slot(name="autotaint-slot-0", holder="node-1", **spec):
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "default", "labels": dict(SLOT_LABELS)},
            "spec": dict({"holderIdentity": holder, "leaseDurationSeconds": 120, "acquireTime": MICRO,
                          "renewTime": MICRO, "leaseTransitions": 0}, **spec)}


def write_json(api, name, obj):
    path = os.path.join(api.state_dir, name)
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def conflict_message(name):
    return (f'Operation cannot be fulfilled on leases.coordination.k8s.io "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again")


def test_kubectl_create_and_list_leases_by_label(fake_api):
    out = fake_api.kubectl("create", "-f", write_json(fake_api, "lease.json", slot()))
    assert out.strip() == "lease.coordination.k8s.io/autotaint-slot-0 created"
    other = slot("someone-else")
    other["metadata"]["labels"] = {"app": "other"}
    assert fake_api.http("POST", LEASES, other, "application/json").status == 201
    got = json.loads(fake_api.kubectl("get", "lease", "-l", "autotaint.dev/role=fleet-slot", "-o", "json"))
    assert [i["metadata"]["name"] for i in got["items"]] == ["autotaint-slot-0"]
    item = got["items"][0]
    assert item["spec"] == slot()["spec"] and item["metadata"]["labels"] == SLOT_LABELS
    assert item["metadata"]["uid"] and item["metadata"]["creationTimestamp"]
    assert fake_api.kubectl("get", "lease", "autotaint-slot-0", "-o", "jsonpath={.spec.holderIdentity}") == "node-1"
    # the agent's LIST, exactly as it sends it
    r = fake_api.http("GET", LEASES + "?labelSelector=autotaint.dev%2Frole%3Dfleet-slot")
    assert r.status == 200 and r.json()["kind"] == "LeaseList"
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["autotaint-slot-0"]
    # the node leases of kube-node-lease are still there, and namespaces are kept apart
    assert fake_api.kubectl("get", "lease", "-n", "kube-node-lease", "-o", "name").split() == [
        "lease.coordination.k8s.io/node-1", "lease.coordination.k8s.io/node-2"]
    assert fake_api.http("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases").json()["items"] == []


def test_lease_create_twice_is_409_already_exists(fake_api):
    r = fake_api.http("POST", LEASES, slot(), "application/json")
    assert r.status == 201, r
    created = r.json()
    assert created["kind"] == "Lease" and created["apiVersion"] == "coordination.k8s.io/v1"
    assert created["metadata"]["resourceVersion"].isdigit()
    r = fake_api.http("POST", LEASES, slot(holder="node-2"), "application/json")  # the lost race
    assert r.status == 409
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": 'leases.coordination.k8s.io "autotaint-slot-0" already exists',
                        "reason": "AlreadyExists",
                        "details": {"name": "autotaint-slot-0", "group": "coordination.k8s.io", "kind": "leases"},
                        "code": 409}
    assert fake_api.lease("autotaint-slot-0")["spec"]["holderIdentity"] == "node-1"
    r = fake_api.kubectl_run("create", "-f", write_json(fake_api, "lease.json", slot()))
    assert r.returncode != 0 and "AlreadyExists" in r.stderr and "already exists" in r.stderr
    # a Lease can only be made in a namespace that exists
    r = fake_api.http("POST", "/apis/coordination.k8s.io/v1/namespaces/nowhere/leases",
                      dict(slot(), metadata={"name": "x"}), "application/json")
    assert r.status == 404 and r.json()["message"] == 'namespaces "nowhere" not found'
    r = fake_api.http("GET", LEASES + "/autotaint-slot-9")
    assert r.status == 404
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": 'leases.coordination.k8s.io "autotaint-slot-9" not found', "reason": "NotFound",
                        "details": {"name": "autotaint-slot-9", "group": "coordination.k8s.io", "kind": "leases"},
                        "code": 404}


def test_kubectl_replace_lease_with_stale_resource_version(fake_api):
    fake_api.kubectl("create", "-f", write_json(fake_api, "lease.json", slot()))
    stale = json.loads(fake_api.kubectl("get", "lease", "autotaint-slot-0", "-o", "json"))
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0", {"spec": {"holderIdentity": "node-2"}}, MERGE)
    assert r.status == 200 and int(rv(r.json())) > int(rv(stale))
    stale["spec"]["holderIdentity"] = "node-3"
    r = fake_api.kubectl_run("replace", "-f", write_json(fake_api, "stale.json", stale))
    assert r.returncode != 0
    assert "the object has been modified" in r.stderr and "Conflict" in r.stderr
    assert fake_api.lease("autotaint-slot-0")["spec"]["holderIdentity"] == "node-2"
    # PUT (whole object) with the current resourceVersion replaces everything
    cur = fake_api.lease("autotaint-slot-0")
    body = slot(holder="node-3", leaseTransitions=1)
    body["metadata"]["resourceVersion"] = rv(cur)
    r = fake_api.http("PUT", LEASES + "/autotaint-slot-0", body, "application/json")
    assert r.status == 200, r
    assert r.json()["spec"]["holderIdentity"] == "node-3" and r.json()["spec"]["leaseTransitions"] == 1
    assert int(rv(r.json())) > int(rv(cur)) and r.json()["metadata"]["uid"] == cur["metadata"]["uid"]
    # the same PUT again: stale now
    r = fake_api.http("PUT", LEASES + "/autotaint-slot-0", body, "application/json")
    assert r.status == 409 and r.json()["reason"] == "Conflict"
    assert r.json()["message"] == conflict_message("autotaint-slot-0")
    # leaseStrategy.AllowUnconditionalUpdate() is false: a PUT without resourceVersion is refused
    body["metadata"].pop("resourceVersion")
    r = fake_api.http("PUT", LEASES + "/autotaint-slot-0", body, "application/json")
    assert r.status == 422
    assert r.json()["message"] == ('leases.coordination.k8s.io "autotaint-slot-0" is invalid: metadata.resourceVersion: '
                                   "Invalid value: 0x0: must be specified for an update")
    # ... which is why kubectl replace reads the resourceVersion first when the file has none
    fresh = slot(holder="node-4")
    assert "replaced" in fake_api.kubectl("replace", "-f", write_json(fake_api, "fresh.json", fresh))
    assert fake_api.lease("autotaint-slot-0")["spec"]["holderIdentity"] == "node-4"
    # AllowCreateOnUpdate: a PUT of a missing Lease creates it
    r = fake_api.http("PUT", LEASES + "/autotaint-slot-1", slot("autotaint-slot-1"), "application/json")
    assert r.status == 201 and fake_api.lease("autotaint-slot-1")["spec"]["holderIdentity"] == "node-1"


def test_kubectl_patch_lease_with_stale_resource_version(fake_api):
    fake_api.kubectl("create", "-f", write_json(fake_api, "lease.json", slot()))
    stale = rv(fake_api.lease("autotaint-slot-0"))
    patch = {"metadata": {"resourceVersion": stale}, "spec": {"holderIdentity": "node-2", "leaseTransitions": 1}}
    out = fake_api.kubectl("patch", "lease", "autotaint-slot-0", "--type", "merge", "-p", json.dumps(patch))
    assert "patched" in out
    taken = fake_api.lease("autotaint-slot-0")
    assert taken["spec"]["holderIdentity"] == "node-2" and int(rv(taken)) > int(stale)
    patch["spec"]["holderIdentity"] = "node-3"
    r = fake_api.kubectl_run("patch", "lease", "autotaint-slot-0", "--type", "merge", "-p", json.dumps(patch))
    assert r.returncode != 0 and "the object has been modified" in r.stderr
    assert fake_api.lease("autotaint-slot-0")["spec"]["holderIdentity"] == "node-2"
    # the agent's PATCH as the contract gives it, then the same body again: 409
    body = {"metadata": {"resourceVersion": rv(taken)},
            "spec": {"holderIdentity": "", "leaseDurationSeconds": 120, "acquireTime": MICRO,
                     "renewTime": "2026-12-04T17:33:26.000001Z", "leaseTransitions": 1}}
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0", body, MERGE)
    assert r.status == 200 and r.json()["spec"]["holderIdentity"] == ""
    released = r.json()
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0", body, MERGE)
    assert r.status == 409 and r.json()["message"] == conflict_message("autotaint-slot-0")
    assert r.json()["details"] == {"name": "autotaint-slot-0", "group": "coordination.k8s.io", "kind": "leases"}
    # a patch that changes nothing writes nothing
    same = dict(body, metadata={"resourceVersion": rv(released)})
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0", same, MERGE)
    assert r.status == 200 and rv(r.json()) == rv(released)
    # strategic-merge and JSON patch take the same precondition
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0",
                      {"metadata": {"resourceVersion": stale}, "spec": {"holderIdentity": "x"}}, SMP)
    assert r.status == 409
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0",
                      {"metadata": {"resourceVersion": rv(released)}, "spec": {"holderIdentity": "node-5"}}, SMP)
    assert r.status == 200 and r.json()["spec"]["holderIdentity"] == "node-5"
    now = r.json()
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0",
                      [{"op": "replace", "path": "/metadata/resourceVersion", "value": rv(released)},
                       {"op": "replace", "path": "/spec/holderIdentity", "value": "y"}], JSONPATCH)
    assert r.status == 409
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0",
                      [{"op": "test", "path": "/metadata/resourceVersion", "value": rv(now)},
                       {"op": "replace", "path": "/spec/holderIdentity", "value": "node-6"}], JSONPATCH)
    assert r.status == 200 and r.json()["spec"]["holderIdentity"] == "node-6"


def test_two_writers_from_one_resource_version_exactly_one_wins(fake_api):
    import threading
    assert fake_api.http("POST", LEASES, slot(holder=""), "application/json").status == 201
    base = rv(fake_api.lease("autotaint-slot-0"))
    results = {}
    go = threading.Event()

    def take(node):
        go.wait(5)
        results[node] = fake_api.http("PATCH", LEASES + "/autotaint-slot-0",
                                      {"metadata": {"resourceVersion": base}, "spec": {"holderIdentity": node}}, MERGE)
    threads = [threading.Thread(target=take, args=(f"node-{i}",)) for i in range(1, 5)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(10)
    codes = sorted(r.status for r in results.values())
    assert codes == [200, 409, 409, 409], results
    winner = next(n for n, r in results.items() if r.status == 200)
    assert fake_api.lease("autotaint-slot-0")["spec"]["holderIdentity"] == winner


def test_lease_delete_with_preconditions(fake_api):
    fake_api.http("POST", LEASES, slot(), "application/json")
    lease = fake_api.lease("autotaint-slot-0")
    stale = rv(lease)
    fake_api.http("PATCH", LEASES + "/autotaint-slot-0", {"spec": {"renewTime": "2026-12-04T17:40:00.000000Z"}}, MERGE)
    now = rv(fake_api.lease("autotaint-slot-0"))
    r = fake_api.http("DELETE", LEASES + "/autotaint-slot-0", {"preconditions": {"resourceVersion": stale}},
                      "application/json")
    assert r.status == 409
    assert r.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'Operation cannot be fulfilled on Lease.coordination.k8s.io "autotaint-slot-0": the ResourceVersion '
                   f"in the precondition ({stale}) does not match the ResourceVersion in record ({now}). The object "
                   "might have been modified",
        "reason": "Conflict", "details": {"name": "autotaint-slot-0", "group": "coordination.k8s.io", "kind": "Lease"},
        "code": 409}
    r = fake_api.http("DELETE", LEASES + "/autotaint-slot-0", {"preconditions": {"uid": "not-the-uid"}},
                      "application/json")
    assert r.status == 409 and "The object might have been deleted and then recreated" in r.json()["message"]
    assert fake_api.lease("autotaint-slot-0") is not None
    r = fake_api.http("DELETE", LEASES + "/autotaint-slot-0",
                      {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": now}},
                      "application/json")
    assert r.status == 200
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": "autotaint-slot-0", "group": "coordination.k8s.io", "kind": "leases",
                                    "uid": lease["metadata"]["uid"]}}
    assert fake_api.http("GET", LEASES + "/autotaint-slot-0").status == 404
    assert fake_api.http("DELETE", LEASES + "/autotaint-slot-0").status == 404
    # kubectl delete (no preconditions)
    fake_api.kubectl("create", "-f", write_json(fake_api, "lease.json", slot()))
    assert fake_api.kubectl("delete", "lease", "autotaint-slot-0").strip() == \
        'lease.coordination.k8s.io "autotaint-slot-0" deleted'
    r = fake_api.kubectl_run("get", "lease", "autotaint-slot-0")
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_lease_list_limit_and_continue(fake_api):
    names = [f"autotaint-slot-{i}" for i in range(5)]
    for n in reversed(names):
        assert fake_api.http("POST", LEASES, slot(n), "application/json").status == 201
    other = slot("zz-other")
    other["metadata"]["labels"] = {"app": "other"}
    fake_api.http("POST", LEASES, other, "application/json")
    r = fake_api.http("GET", LEASES + "?limit=2")
    page = r.json()
    assert [i["metadata"]["name"] for i in page["items"]] == names[:2]
    assert page["metadata"]["continue"] and page["metadata"]["remainingItemCount"] == 4
    seen, token = [], None
    for _ in range(10):
        q = "?labelSelector=autotaint.dev%2Frole%3Dfleet-slot&limit=2" + (f"&continue={token}" if token else "")
        page = fake_api.http("GET", LEASES + q).json()
        assert len(page["items"]) <= 2
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert seen == names
    assert len(fake_api.http("GET", LEASES + "?limit=500").json()["items"]) == 6
    assert "continue" not in fake_api.http("GET", LEASES + "?limit=6").json()["metadata"]
    r = fake_api.http("GET", LEASES + "?limit=2&continue=not-a-token")
    assert r.status == 400 and r.json()["message"].startswith("invalid continue token")
    # kubectl pages through it the same way
    out = fake_api.kubectl("get", "lease", "--chunk-size", "2", "-o", "name")
    assert out.split() == [f"lease.coordination.k8s.io/{n}" for n in names + ["zz-other"]]


def test_lease_validation(fake_api):
    r = fake_api.http("POST", LEASES, slot(leaseDurationSeconds=0), "application/json")
    assert r.status == 422
    assert r.json()["message"] == ('Lease.coordination.k8s.io "autotaint-slot-0" is invalid: spec.leaseDurationSeconds: '
                                   "Invalid value: 0: must be greater than 0")
    assert r.json()["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.leaseDurationSeconds",
                                              "message": "Invalid value: 0: must be greater than 0"}]
    r = fake_api.http("POST", LEASES, slot(leaseTransitions=-1), "application/json")
    assert r.status == 422 and "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0" in r.json()["message"]
    bad_name = slot("Autotaint_Slot")
    r = fake_api.http("POST", LEASES, bad_name, "application/json")
    assert r.status == 422 and "metadata.name: Invalid value: \"Autotaint_Slot\": a lowercase RFC 1123 subdomain" in r.json()["message"]
    # a MicroTime needs exactly six fraction digits; a body that does not decode is a 400
    r = fake_api.http("POST", LEASES, slot(renewTime="2026-12-04T17:32:26Z"), "application/json")
    assert r.status == 400
    assert r.json()["message"] == ('Lease in version "v1" cannot be handled as a Lease: parsing time '
                                   '"2026-12-04T17:32:26Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as '
                                   '".000000"')
    r = fake_api.http("POST", LEASES, slot(leaseDurationSeconds="120"), "application/json")
    assert r.status == 400 and "of type int32" in r.json()["message"]
    assert fake_api.leases() == []
    # an offset is accepted and stored in UTC, as MicroTime.MarshalJSON writes it
    r = fake_api.http("POST", LEASES, slot(acquireTime="2026-12-04T18:32:26.123456+01:00"), "application/json")
    assert r.status == 201 and r.json()["spec"]["acquireTime"] == MICRO
    cur = rv(r.json())
    # in a patch, the same decode failure is a 422 on the field "patch"; nothing is written
    for spec in ({"renewTime": "2026-12-04T17:32:26.123Z"}, {"acquireTime": "now"}):
        r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0", {"spec": spec}, MERGE)
        assert r.status == 422 and r.json()["details"]["causes"][0]["field"] == "patch", r
        assert "parsing time" in r.json()["message"]
    r = fake_api.http("PATCH", LEASES + "/autotaint-slot-0", {"spec": {"leaseDurationSeconds": -5}}, MERGE)
    assert r.status == 422 and "spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0" in r.json()["message"]
    assert rv(fake_api.lease("autotaint-slot-0")) == cur


def test_kubectl_get_daemonset_follows_the_nodes(fake_api):
    groups = fake_api.http("GET", "/apis").json()["groups"]
    assert {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}} in groups
    res = fake_api.http("GET", "/apis/apps/v1").json()["resources"]
    assert any(r["name"] == "daemonsets" and r["kind"] == "DaemonSet" and r["namespaced"] for r in res)
    ds = json.loads(fake_api.kubectl("get", "daemonset", "-n", "default", "autotaint", "-o", "json"))
    assert ds["kind"] == "DaemonSet" and ds["apiVersion"] == "apps/v1"
    assert ds["status"]["desiredNumberScheduled"] == 2 and ds["status"]["numberReady"] == 2
    assert ds["status"]["currentNumberScheduled"] == 2 and ds["status"]["numberAvailable"] == 2
    desired = lambda: fake_api.kubectl("get", "daemonset", "autotaint", "-o",  # noqa: E731
                                       "jsonpath={.status.desiredNumberScheduled}")
    fake_api.add_node("node-3")
    assert desired() == "3"
    rv_before = rv(fake_api.daemonset())
    for i in range(4, 26):
        assert _admin_status(fake_api, "POST", "/nodes", {"name": f"node-{i}"}) == 201
    assert _admin_status(fake_api, "POST", "/nodes", {"name": "node-4"}) == 200  # already there: kept
    assert len(_admin(fake_api, "GET", "/nodes")) == 25
    assert desired() == "25"
    assert int(rv(fake_api.daemonset())) > int(rv_before)  # the status write bumped it, as the controller's would
    assert fake_api.kubectl("get", "ds", "-o", "name").split() == ["daemonset.apps/autotaint"]
    # the admin API sets a number, and null goes back to the number of Nodes
    assert _admin(fake_api, "POST", "/daemonsets", {"namespace": "default", "name": "autotaint",
                                                    "desiredNumberScheduled": 7})["status"]["desiredNumberScheduled"] == 7
    assert desired() == "7"
    _admin(fake_api, "POST", "/daemonsets", {"namespace": "default", "name": "autotaint", "desiredNumberScheduled": None})
    assert desired() == "25"
    _admin(fake_api, "POST", "/daemonsets", {"namespace": "kube-system", "name": "other", "desiredNumberScheduled": 3})
    assert fake_api.kubectl("get", "ds", "-A", "-o", "name").split() == ["daemonset.apps/autotaint", "daemonset.apps/other"]
    assert _admin(fake_api, "DELETE", "/daemonsets?namespace=default&name=autotaint") == {}
    r = fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint")
    assert r.status == 404
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": 'daemonsets.apps "autotaint" not found', "reason": "NotFound",
                        "details": {"name": "autotaint", "group": "apps", "kind": "daemonsets"}, "code": 404}
    r = fake_api.kubectl_run("get", "daemonset", "autotaint")
    assert r.returncode != 0 and 'daemonsets.apps "autotaint" not found' in r.stderr
    assert _admin_status(fake_api, "DELETE", "/daemonsets?namespace=default&name=autotaint") == 404


def test_daemonset_template_change_pods_and_deletion_as_kubectl_sees_them(fake_api):
    """What a stopping agent decides on, as the DaemonSet controller and the API server expose
    it: a template change bumps metadata.generation (the status follows), a pod made after
    it carries the new generation in its labels, a foreground deletion keeps the object with
    deletionTimestamp and the foregroundDeletion finalizer, a background one removes it."""
    generation = lambda: fake_api.kubectl("get", "ds", "autotaint", "-o", "jsonpath={.metadata.generation}")  # noqa: E731
    old_pod = fake_api.schedule_pod("node-1")
    assert old_pod["metadata"]["labels"]["pod-template-generation"] == generation() == "1"
    _admin(fake_api, "POST", "/daemonsets", {"name": "autotaint", "image": "autotaint:0.2.0"})
    ds = _ds_json(fake_api)
    assert (ds["metadata"]["generation"], ds["status"]["observedGeneration"]) == (2, 2)
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "autotaint:0.2.0"
    _admin(fake_api, "POST", "/daemonsets", {"name": "autotaint", "image": "autotaint:0.2.0"})
    assert generation() == "2"  # the same template: no bump
    new_pod = _admin(fake_api, "POST", "/daemonset-pods", {"daemonSet": "autotaint", "node": "node-1"})
    assert new_pod["metadata"]["labels"]["pod-template-generation"] == "2"
    # another part of the spec edited: the generation moves, the template's (and pods') do not
    _admin(fake_api, "POST", "/daemonsets", {"name": "autotaint", "generation": 3, "templateGeneration": 2})
    edited = _ds_json(fake_api)
    assert (edited["metadata"]["generation"], edited["metadata"]["annotations"]["deprecated.daemonset.template.generation"]) \
        == (3, "2")
    assert fake_api.schedule_pod("node-1")["metadata"]["labels"]["pod-template-generation"] == "2"
    assert new_pod["metadata"]["labels"]["controller-revision-hash"] != old_pod["metadata"]["labels"]["controller-revision-hash"]
    assert new_pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    assert _admin(fake_api, "DELETE", "/daemonsets?namespace=default&name=autotaint&propagation=Foreground") == {}
    deleting = _ds_json(fake_api)
    assert deleting["metadata"]["deletionTimestamp"] and deleting["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert _admin(fake_api, "DELETE", "/daemonsets?namespace=default&name=autotaint") == {}
    r = fake_api.kubectl_run("get", "daemonset", "autotaint")
    assert r.returncode != 0 and 'daemonsets.apps "autotaint" not found' in r.stderr


def test_node_count_at_construction(make_fake_api):
    api = make_fake_api(nodes=21)
    assert [n["metadata"]["name"] for n in api.nodes()][:3] == ["node-1", "node-10", "node-11"]
    assert len(api.nodes()) == 21
    assert api.kubectl("get", "ds", "autotaint", "-o", "jsonpath={.status.desiredNumberScheduled}") == "21"


def _ds_json(api, name="autotaint"):
    """The DaemonSet as kubectl reads it."""
    return json.loads(api.kubectl("get", "daemonset", "-n", "default", name, "-o", "json"))


def test_daemonset_status_set_as_the_controller_reports_it(fake_api):
    ds = _ds_json(fake_api)
    assert ds["status"] == {"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2,
                            "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2,
                            "numberAvailable": 2}  # numberUnavailable 0: omitted, as Go does
    raw = fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint").json()  # kubectl sorts keys
    assert list(raw["status"]) == ["currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                                  "numberReady", "observedGeneration", "updatedNumberScheduled", "numberAvailable"]
    assert ds["metadata"]["generation"] == 1
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1,
                                                                                         "maxSurge": 0}}
    # a zone of 6 of 20 down: the counts not given follow the ones given
    got = _admin(fake_api, "POST", "/daemonsets", {"name": "autotaint", "desiredNumberScheduled": 20, "numberReady": 14})
    assert got["status"] == _ds_json(fake_api)["status"] == {
        "currentNumberScheduled": 20, "numberMisscheduled": 0, "desiredNumberScheduled": 20, "numberReady": 14,
        "observedGeneration": 1, "updatedNumberScheduled": 20, "numberAvailable": 14, "numberUnavailable": 6}
    # a rolling update, 10 % at a time: generation 2 not yet observed, then 2 pods replaced at once
    before = rv(fake_api.daemonset())
    fake_api.set_daemonset(generation=2, observedGeneration=1, maxUnavailable="10%", numberReady=None)
    ds = _ds_json(fake_api)
    assert int(rv(ds)) > int(before)
    assert ds["metadata"]["generation"] == 2 and ds["status"]["observedGeneration"] == 1
    assert ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    assert fake_api.kubectl("get", "ds", "autotaint", "-o", "jsonpath={.spec.updateStrategy.rollingUpdate.maxUnavailable}") \
        == "10%"
    assert ds["status"]["numberReady"] == 20 and "numberUnavailable" not in ds["status"]  # null: back to the default
    fake_api.set_daemonset(observedGeneration=2, updatedNumberScheduled=0, numberReady=18, numberUnavailable=2)
    st = fake_api.daemonset()["status"]
    assert st == {"currentNumberScheduled": 20, "numberMisscheduled": 0, "desiredNumberScheduled": 20,
                  "numberReady": 18, "observedGeneration": 2, "numberAvailable": 18, "numberUnavailable": 2}
    assert "updatedNumberScheduled" not in st  # 0: omitempty
    same = rv(fake_api.daemonset())
    fake_api.set_daemonset(numberReady=18)  # no change: no write
    assert rv(fake_api.daemonset()) == same
    fake_api.set_daemonset(updatedNumberScheduled=2)  # the rest kept
    assert fake_api.daemonset()["status"]["updatedNumberScheduled"] == 2
    assert fake_api.daemonset()["metadata"]["generation"] == 2
    # numberReady 0 and observedGeneration 0: numberReady stays, the omitempty ones go
    fake_api.set_daemonset(numberReady=0, observedGeneration=0, numberUnavailable=None)
    st = fake_api.daemonset()["status"]
    assert st["numberReady"] == 0 and st["numberUnavailable"] == 20
    assert "numberAvailable" not in st and "observedGeneration" not in st
    fake_api.set_daemonset(updateStrategy="OnDelete")
    assert _ds_json(fake_api)["spec"]["updateStrategy"] == {"type": "OnDelete"}
    # reset: back to the Nodes' count, all ready, generation 1, maxUnavailable 1
    _admin(fake_api, "POST", "/daemonsets", {"name": "autotaint", "reset": True})
    ds = _ds_json(fake_api)
    assert ds["status"]["desiredNumberScheduled"] == 2 and ds["status"]["numberReady"] == 2
    assert ds["metadata"]["generation"] == 1 and ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == 1
    # what the API server would refuse, or a typo: 400, and nothing changes
    for bad in ({"numberReady": -1}, {"numberReady": True}, {"numberReady": "3"}, {"numbrReady": 3},
                {"generation": 0}, {"maxUnavailable": 0}, {"maxUnavailable": "0%"}, {"maxUnavailable": "ten"},
                {"maxUnavailable": 1.5}, {"updateStrategy": "Recreate"}, {"reset": 1}):
        assert _admin_status(fake_api, "POST", "/daemonsets", dict(bad, name="autotaint")) == 400, bad
    assert _admin_status(fake_api, "POST", "/daemonsets", {"numberReady": 1}) == 400  # no name
    with pytest.raises(ValueError):
        fake_api.set_daemonset(numberReady=-1)
    assert _ds_json(fake_api)["status"] == ds["status"]


def test_two_daemonsets_in_one_namespace_each_with_its_own_status(fake_api):
    """Pools: a DaemonSet per pool in the agents' namespace, each with its counts."""
    fake_api.set_daemonset("autotaint-gpu", desired=4)
    _admin(fake_api, "POST", "/daemonsets", {"name": "autotaint", "desiredNumberScheduled": 10, "numberReady": 7})
    listed = json.loads(fake_api.kubectl("get", "ds", "-n", "default", "-o", "json"))["items"]
    assert [(d["metadata"]["name"], d["status"]["desiredNumberScheduled"], d["status"]["numberReady"])
            for d in listed] == [("autotaint", 10, 7), ("autotaint-gpu", 4, 4)]
    got = fake_api.kubectl("get", "ds", "-l", "app.kubernetes.io/name=autotaint-gpu", "-o", "name")
    assert got.split() == ["daemonset.apps/autotaint-gpu"]
    r = fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint-gpu")
    assert r.status == 200 and r.json()["status"]["numberAvailable"] == 4
    fake_api.set_daemonset("autotaint-gpu", numberReady=3)
    assert _ds_json(fake_api)["status"]["numberReady"] == 7  # the other pool's untouched
    fake_api.add_node("node-3")  # neither follows the Nodes: both have desired set
    assert [d["status"]["desiredNumberScheduled"] for d in json.loads(
        fake_api.kubectl("get", "ds", "-o", "json"))["items"]] == [10, 4]
    assert fake_api.delete_daemonset("autotaint-gpu") is not None
    assert fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint-gpu").status == 404
    assert _ds_json(fake_api)["status"]["numberReady"] == 7
    fake_api.set_daemonset("autotaint-gpu")  # made again: the old settings are gone
    assert _ds_json(fake_api, "autotaint-gpu")["status"]["desiredNumberScheduled"] == 3


def test_lease_history_records_holder_changes_not_renewals(fake_api):
    t0 = time.time()
    assert fake_api.http("POST", LEASES, slot(), "application/json").status == 201
    path = LEASES + "/autotaint-slot-0"
    for holder, renew in (("node-1", "2026-12-04T17:32:28.000000Z"), ("node-2", None), ("", None)):
        spec = {"holderIdentity": holder} if renew is None else {"renewTime": renew}
        assert fake_api.http("PATCH", path, {"spec": spec}, MERGE).status == 200
    r = fake_api.http("PATCH", path, {"metadata": {"labels": {"autotaint.dev/slot-state": "free"}}}, MERGE)
    assert r.status == 200
    fake_api.add_node("node-3")  # its kube-node-lease Lease is no entry
    assert fake_api.http("DELETE", path).status == 200
    hist = _admin(fake_api, "GET", "/lease-history")
    assert hist == fake_api.lease_history()
    assert [(e["name"], e["type"], e["previousHolder"], e["holder"]) for e in hist] == [
        ("autotaint-slot-0", "ADDED", None, "node-1"), ("autotaint-slot-0", "MODIFIED", "node-1", "node-2"),
        ("autotaint-slot-0", "MODIFIED", "node-2", ""), ("autotaint-slot-0", "MODIFIED", "", ""),
        ("autotaint-slot-0", "DELETED", "", "")]
    assert hist[3]["labels"]["autotaint.dev/slot-state"] == "free" and hist[0]["namespace"] == "default"
    assert [e["seq"] for e in hist] == sorted(e["seq"] for e in hist) and t0 <= hist[0]["time"] <= time.time()
    assert [int(e["resourceVersion"]) for e in hist] == sorted(int(e["resourceVersion"]) for e in hist)
    assert _admin(fake_api, "DELETE", "/lease-history") == {} and fake_api.lease_history() == []


def test_fault_forbidden_on_leases_every_time(fake_api):
    fake_api.fault(method="GET", path=r"/namespaces/default/leases/", count=None, status=403)
    want = ('leases.coordination.k8s.io "autotaint-slot-0" is forbidden: User "system:serviceaccount:autotaint:autotaint" '
            'cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "default"')
    for _ in range(3):
        r = fake_api.http("GET", LEASES + "/autotaint-slot-0")
        assert r.status == 403
        assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": want,
                            "reason": "Forbidden",
                            "details": {"name": "autotaint-slot-0", "group": "coordination.k8s.io", "kind": "leases"},
                            "code": 403}
    r = fake_api.kubectl_run("get", "lease", "autotaint-slot-0")
    assert r.returncode != 0 and "Forbidden" in r.stderr and 'cannot get resource "leases"' in r.stderr
    assert fake_api.faults()[0]["hits"] == 4 and fake_api.faults()[0]["count"] is None
    fake_api.clear_faults()
    fake_api.fault(method="*", path=r"/daemonsets", count=2, status=403, user="system:serviceaccount:default:x")
    r = fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint")
    assert r.json()["message"] == ('daemonsets.apps "autotaint" is forbidden: User "system:serviceaccount:default:x" '
                                   'cannot get resource "daemonsets" in API group "apps" in the namespace "default"')
    r = fake_api.http("POST", "/apis/apps/v1/namespaces/default/daemonsets", {}, "application/json")
    assert r.json()["message"] == ('daemonsets.apps is forbidden: User "system:serviceaccount:default:x" cannot create '
                                   'resource "daemonsets" in API group "apps" in the namespace "default"')
    assert fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint").status == 200
    # through the admin port, as another process sets it; a 404 fault answers a proper NotFound
    _admin(fake_api, "POST", "/faults", {"method": "GET", "path": "/daemonsets/autotaint$", "count": None, "status": 404})
    for _ in range(2):
        r = fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint")
        assert r.status == 404 and r.json()["message"] == 'daemonsets.apps "autotaint" not found'
    log = [e for e in fake_api.requests() if "/daemonsets" in e["path"]]
    assert [(e["status"], e["fault"]) for e in log][-2:] == [(404, "status"), (404, "status")]


def test_taint_history(fake_api):
    hist = fake_api.taint_history()
    assert [(e["seq"], e["node"], e["taints"]) for e in hist] == [(0, "node-1", []), (0, "node-2", [])]
    t0 = time.time()
    fake_api.kubectl("taint", "node", "node-1", "autotaint.dev/cpu-pressure=true:NoSchedule")
    n1 = fake_api.node("node-1")
    # a write that does not touch the taints is no entry, nor is a no-op patch
    fake_api.http("PATCH", "/api/v1/nodes/node-1/status", {"status": {"conditions": [cpu_condition()]}}, SMP)
    fake_api.http("PATCH", "/api/v1/nodes/node-1", {"spec": {"taints": [OUR]}}, SMP)
    set_taints(fake_api, "node-2", [FOREIGN, dict(OUR, effect="PreferNoSchedule")])
    fake_api.kubectl("taint", "node", "node-1", "autotaint.dev/cpu-pressure-")
    _admin_status(fake_api, "POST", "/nodes", {"name": "node-3"})
    fake_api.delete_node("node-3")
    hist = _admin(fake_api, "GET", "/taint-history")
    assert [e["seq"] for e in hist] == [0, 0, 1, 2, 3, 4, 5]
    assert [(e["node"], e["type"], e["taints"]) for e in hist[2:]] == [
        ("node-1", "MODIFIED", [OUR]), ("node-2", "MODIFIED", [FOREIGN, dict(OUR, effect="PreferNoSchedule")]),
        ("node-1", "MODIFIED", []), ("node-3", "ADDED", []), ("node-3", "DELETED", [])]
    assert hist[2]["resourceVersion"] == rv(n1)
    times = [e["time"] for e in hist[2:]]
    assert times == sorted(times) and t0 <= times[0] <= time.time()
    rvs = [int(e["resourceVersion"]) for e in hist[2:]]
    assert rvs == sorted(rvs)  # commit order
    assert _admin(fake_api, "DELETE", "/taint-history") == {}
    hist = fake_api.taint_history()
    assert [(e["seq"], e["node"], e["taints"]) for e in hist] == [
        (0, "node-1", []), (0, "node-2", [FOREIGN, dict(OUR, effect="PreferNoSchedule")])]


def test_request_log_shows_lease_and_daemonset_requests_with_bytes(fake_api):
    fake_api.clear_requests()
    body = json.dumps(slot()).encode()
    r = fake_api.http("POST", LEASES, body, "application/json")
    fake_api.http("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint")
    fake_api.http("GET", LEASES + "/nope")
    log = fake_api.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", LEASES, 201), ("GET", "/apis/apps/v1/namespaces/default/daemonsets/autotaint", 200),
        ("GET", LEASES + "/nope", 404)]
    assert log[0]["request_bytes"] == len(body) and log[0]["response_bytes"] == len(r.body)
    assert log[1]["request_bytes"] == 0 and log[1]["response_bytes"] > 100
    assert log[2]["response_bytes"] > 0
    assert _admin(fake_api, "GET", "/requests")[0]["request_bytes"] == len(body)


# =============================================================================================
# request log, admin interface, CLI


def test_request_log_fields(fake_api):
    fake_api.clear_requests()
    fake_api.http("PATCH", "/api/v1/nodes/node-1?fieldManager=autotaint", {"spec": {}}, SMP)
    (e,) = fake_api.requests()
    assert e["method"] == "PATCH" and e["path"] == "/api/v1/nodes/node-1"
    assert e["query"] == "fieldManager=autotaint" and e["params"] == {"fieldManager": "autotaint"}
    assert e["content_type"] == SMP and e["status"] == 200
    assert e["time"] > 0 and e["duration"] >= 0 and json.loads(e["body"]) == {"spec": {}}


def _admin(api, method, path, body=None):
    req = urllib.request.Request(api.admin_url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def _admin_status(api, method, path, body=None):
    req = urllib.request.Request(api.admin_url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_admin_interface(fake_api):
    fid = _admin(fake_api, "POST", "/faults", {"method": "GET", "path": "/api/v1/nodes/node-1", "status": 503, "count": 1})["id"]
    assert [f["id"] for f in _admin(fake_api, "GET", "/faults")] == [fid]
    assert fake_api.http("GET", "/api/v1/nodes/node-1").status == 503
    log = _admin(fake_api, "GET", "/requests")
    assert log[-1]["status"] == 503 and log[-1]["fault"] == "status"
    tok = _admin(fake_api, "POST", "/tokens/rotate", {})["token"]
    assert fake_api.token == tok
    assert _admin(fake_api, "GET", "/nodes/node-2")["metadata"]["name"] == "node-2"
    _admin(fake_api, "POST", "/writer/start", {"node": "node-2", "rate": 20})
    time.sleep(0.5)
    stats = _admin(fake_api, "POST", "/writer/stop")
    assert stats["writes"] >= 1
    state = _admin(fake_api, "GET", "/state")
    assert state["url"] == fake_api.url and state["token"] == tok


def test_cli_subprocess(tmp_path):
    state = tmp_path / "state"
    p = subprocess.Popen([sys.executable, "-m", "fakeapi", "--port", "0", "--state-dir", str(state),
                          "--node", "alpha", "--node", "beta"], cwd=HERE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("fakeapi listening on https://127.0.0.1:")
        info = json.loads((state / "server.json").read_text())
        assert int((state / "port").read_text()) == info["port"]
        out = subprocess.run(["kubectl", "--kubeconfig", info["kubeconfig"], "--cache-dir", str(tmp_path / "c"),
                              "get", "nodes", "-o", "name"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["node/alpha", "node/beta"]
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            assert p.wait(timeout=10) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
