"""Plain-HTTP admin interface on 127.0.0.1 (JSON in, JSON out) for driving the fake from another
process, e.g. when it runs as `python3 -m fakeapi`.

  GET    /state                  -> server.json content
  GET    /requests[?all=1]       -> request log;  DELETE /requests clears it
  GET    /nodes                  -> [node, ...] every Node as stored, by name
  GET    /nodes/NAME             -> node as stored
  POST   /nodes    {name}        -> the Node (201 when added, 200 when it already existed)
  GET    /taint-history          -> [{time, seq, node, resourceVersion, taints, type}, ...] every committed
                                    change of a Node's spec.taints in commit order; seq 0 entries (type
                                    INITIAL) hold each Node's taints at start / at the last reset;
                                    type ADDED / MODIFIED / DELETED (taints [] once deleted)
  DELETE /taint-history          -> starts it again (new seq 0 entries from the Nodes as they are)
  GET    /lease-history          -> [{time, seq, namespace, name, type, holder, previousHolder, labels,
                                    resourceVersion}, ...] every committed change of a Lease's
                                    holderIdentity or labels outside kube-node-lease (type ADDED /
                                    MODIFIED / DELETED), in commit order; renewals are left out
  DELETE /lease-history          -> empties it
  POST   /daemonsets {namespace, name, reset, FIELD: value, ...} -> the DaemonSet (created if missing),
                                    as its controller and `kubectl apply` would leave it. FIELDs, each
                                    kept until set again (null: back to its default; reset: true
                                    clears them all first; an unknown one is 400):
                                    status counts desiredNumberScheduled (default: the number of
                                    Nodes), currentNumberScheduled, numberReady, updatedNumberScheduled
                                    (default: desired), numberAvailable (default: numberReady),
                                    numberUnavailable (default: desired - available),
                                    numberMisscheduled (0), observedGeneration (default: generation);
                                    generation (metadata.generation, 1), maxUnavailable (an int or
                                    "10%"; 1), updateStrategy (RollingUpdate | OnDelete). Go's
                                    omitempty: observedGeneration, updatedNumberScheduled,
                                    numberAvailable and numberUnavailable are absent at 0. E.g. a zone
                                    of 6 of 20 down: {"name": "autotaint", "numberReady": 14}
                                    templateGeneration (the deprecated.daemonset.template.generation
                                    annotation, which pods are labelled with; default: generation);
                                    image (the template's; a change bumps both generations)
  DELETE /daemonsets?namespace=NS&name=N[&propagation=Foreground]
                                 -> {} (404 if there was none); Background (the default, kubectl's)
                                    removes it, a GET is then 404; Foreground sets
                                    metadata.deletionTimestamp and keeps it
  POST   /daemonset-pods {namespace, daemonSet, node} -> the pod the DaemonSet controller makes for
                                    the Node now, labelled pod-template-generation (the DaemonSet's
                                    generation) and controller-revision-hash (not served by the API)
  GET    /daemonset-pods         -> every pod made so far
  POST   /faults   {method, path, count, action, status, retry_after, body, seconds, then, message, user}
                                 -> {id}; count null = every matching request; status 403 without
                                    body/message answers an RBAC denial naming `user` (default
                                    system:serviceaccount:autotaint:autotaint), 404 a NotFound
  GET    /faults;  DELETE /faults
  POST   /down     {seconds, mode: refuse|close};  POST /up
  POST   /tokens/rotate {keep_old} -> {token};  POST /tokens {tokens: [...]}
  POST   /writer/start {node, rate, prefix, max_taints};  POST /writer/stop -> stats;  GET /writer
  POST   /compact;  POST /bookmark-interval {seconds}
  GET    /early-answer -> {enabled};  POST /early-answer {enabled}: over h2, answer a request
                                    refused before its body is read, then RST_STREAM NO_ERROR (Go)
"""
import http.server
import json
import threading
import urllib.parse


def start_admin(app, port):
    histories = {"/taint-history": (app.taint_history, app.reset_taint_history),
                 "/lease-history": (app.lease_history, app.reset_lease_history)}

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            return json.loads(raw) if raw else {}

        def _send(self, code, obj):
            data = (json.dumps(obj) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method):
            u = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(u.query)
            p = u.path.rstrip("/")
            try:
                b = self._body() if method in ("POST", "PUT") else {}
                if method == "GET" and p == "/state":
                    with open(app.state_dir + "/server.json") as f:
                        return self._send(200, json.load(f))
                if method == "GET" and p == "/watches":
                    return self._send(200, {"open": app.open_watches()})
                if p == "/requests":
                    if method == "DELETE":
                        app.clear_requests()
                        return self._send(200, {})
                    return self._send(200, app.requests(include_internal=bool(q.get("all"))))
                if method == "GET" and p.startswith("/nodes/"):
                    n = app.node(p[len("/nodes/"):])
                    return self._send(200 if n else 404, n or {})
                if p == "/nodes":
                    if method == "GET":
                        return self._send(200, app.nodes())
                    if method == "POST":
                        name = b["name"]
                        if not isinstance(name, str) or not name:
                            raise ValueError("name must be a non-empty string")
                        node, created = app.ensure_node(name)
                        return self._send(201 if created else 200, node)
                if p in histories:
                    read, reset = histories[p]
                    if method == "GET":
                        return self._send(200, read())
                    if method == "DELETE":
                        reset()
                        return self._send(200, {})
                if p == "/daemonsets":
                    if method == "POST":
                        fields = dict(b)
                        namespace, name = fields.pop("namespace", "default"), fields.pop("name")
                        reset = fields.pop("reset", False)
                        if not isinstance(reset, bool):
                            raise ValueError("reset must be true or false")
                        return self._send(200, app.set_daemonset(namespace, name, reset=reset, **fields))
                    if method == "DELETE":
                        gone = app.delete_daemonset(q["namespace"][0], q["name"][0],
                                                    q.get("propagation", ["Background"])[0])
                        return self._send(200 if gone else 404, {} if gone else {"error": "no such DaemonSet"})
                if p == "/daemonset-pods":
                    if method == "POST":
                        pod = app.schedule_pod(b.get("namespace", "default"), b["daemonSet"], b["node"])
                        return self._send(201, pod)
                    if method == "GET":
                        return self._send(200, app.daemonset_pods())
                if p == "/faults":
                    if method == "POST":
                        return self._send(200, {"id": app.add_fault(**b)})
                    if method == "DELETE":
                        app.clear_faults()
                        return self._send(200, {})
                    return self._send(200, app.faults())
                if method == "POST" and p == "/down":
                    app.down(float(b.get("seconds", 1)), b.get("mode", "refuse"))
                    return self._send(200, {})
                if method == "POST" and p == "/up":
                    app.up()
                    return self._send(200, {})
                if method == "POST" and p == "/tokens/rotate":
                    return self._send(200, {"token": app.rotate_token(bool(b.get("keep_old")))})
                if method == "POST" and p == "/tokens":
                    app.set_tokens(b["tokens"])
                    return self._send(200, {})
                if method == "POST" and p == "/writer/start":
                    app.start_foreign_writer(**b)
                    return self._send(200, {})
                if method == "POST" and p == "/writer/stop":
                    return self._send(200, app.stop_foreign_writer() or {})
                if method == "GET" and p == "/writer":
                    return self._send(200, app.writer.stats() if app.writer else {})
                if method == "POST" and p == "/compact":
                    app.compact()
                    return self._send(200, {})
                if p == "/early-answer":
                    if method == "POST":
                        if not isinstance(b.get("enabled"), bool):
                            raise ValueError("enabled must be true or false")
                        app.set_early_answer(b["enabled"])
                    return self._send(200, {"enabled": app.early_answer})
                if method == "POST" and p == "/bookmark-interval":
                    app.set_bookmark_interval(float(b["seconds"]))
                    return self._send(200, {})
                return self._send(404, {"error": "no such admin endpoint"})
            except (TypeError, ValueError, KeyError) as e:
                return self._send(400, {"error": str(e)})

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_DELETE(self):
            self._handle("DELETE")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                     name="fakeapi-admin").start()
    return srv
