"""The fake kube-apiserver: HTTPS + bearer tokens, discovery, nodes (+/status), events (core and
events.k8s.io/v1), leases in every namespace, DaemonSets (get/list; status as tests set it, by
default following the Nodes), empty pods, watch, a request log, a Node taint history, a Lease
holder history and run-time fault injection."""
import base64
import copy
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
import uuid

from . import patch as patchmod
from . import http2
from . import resources as R
from . import schema as sc
from . import status as st
from . import tables
from . import validation as val
from .certs import ensure_certs
from .exchange import CloseConnection
from .selectors import (check_fields, match_fields, match_labels, parse_field_selector,
                        parse_label_selector)
from .store import Store, generate_name, now_rfc3339

ALPN = ("h2", "http/1.1")
# What Go's HTTP/2 server may answer before it reads a request body (authentication, RBAC, an
# admission or precondition refusal, API priority and fairness): with the early-answer switch on,
# these statuses of injected faults, and a failed authentication, are answered that way over h2.
EARLY_STATUSES = (401, 403, 409, 422, 429)
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json"]
SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]
WATCH_DEFAULT_TIMEOUT = 1800


class StreamDone(Exception):
    """Raised when a handler has already written (or deliberately not written) its response."""


# ---------------------------------------------------------------------------------------------
# fault injection


class Fault:
    _ids = iter(range(1, 1 << 30))

    def __init__(self, method="*", path=".*", count=1, action="status", status=500, retry_after=None,
                 body=None, seconds=0.0, then="respond", message=None, user=None):
        if action not in ("status", "garbage", "truncate", "hang", "reset"):
            raise ValueError(f"unknown fault action {action!r}")
        self.id = next(Fault._ids)
        self.method = method.upper()
        self.path = path
        self._re = re.compile(path)
        self.count = count  # None = unlimited
        self.action = action
        self.status = int(status)
        self.retry_after = retry_after
        self.body = body
        self.seconds = float(seconds)
        self.then = then
        self.message = message
        self.user = user  # a 403 without body/message names this user, as an RBAC denial does
        self.hits = 0

    def matches(self, method, path):
        return (self.method in ("*", method)) and self._re.search(path) is not None

    def describe(self):
        return {k: getattr(self, k) for k in ("id", "method", "path", "count", "action", "status",
                                               "retry_after", "seconds", "then", "hits", "user")}


DEFAULT_FORBIDDEN_USER = "system:serviceaccount:autotaint:autotaint"
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
_MESSAGES = {429: "Too many requests, please try again later.",
             500: "Internal error occurred: injected by fakeapi",
             502: "Bad Gateway", 503: "the server is currently unable to handle the request",
             504: "Timeout: request did not complete within the allotted timeout",
             409: "Operation cannot be fulfilled: the object has been modified; please apply your changes to the "
                  "latest version and try again"}


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class _TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, app, addr, ssl_ctx):
        self.app = app
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, _Handler)

    def finish_request(self, request, client_address):
        app = self.app
        if app._down_mode == "close" and time.monotonic() < app._down_until:
            _hard_close(request)
            return
        request.settimeout(app.idle_timeout)
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Go's net.TCPConn is by default
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            _hard_close(request)
            return
        if not app._track(tls, True):
            _hard_close(tls)  # accepted just before the listening socket closed: down like the rest
            return
        abort = False
        try:
            if tls.selected_alpn_protocol() == "h2":
                http2.H2Connection(app, tls).serve()
            else:
                _Handler(tls, client_address, self)
        except CloseConnection:
            abort = True
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            app._track(tls, False)
            if abort:
                _hard_close(tls)  # RST: the client sees a reset / truncated response
            else:
                try:
                    tls.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):  # keep test output quiet
        pass


def _hard_close(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    """An HTTP/1.1 connection: its requests one after another, each the exchange (exchange.py)
    that FakeAPIServer._dispatch serves."""
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi"
    sys_version = ""
    http_version = "1.1"
    answers_early = False  # the body must be read for the connection's next request anyway

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.app._dispatch(self, "GET")

    def do_POST(self):
        self.server.app._dispatch(self, "POST")

    def do_PUT(self):
        self.server.app._dispatch(self, "PUT")

    def do_PATCH(self):
        self.server.app._dispatch(self, "PATCH")

    def do_DELETE(self):
        self.server.app._dispatch(self, "DELETE")

    # -- the exchange --
    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def respond(self, code, headers, body):
        self._head(code, [*headers, ("Content-Length", str(len(body)))])
        self.wfile.write(body)
        self.wfile.flush()

    def respond_truncated(self, code, headers, body, keep):
        self._head(code, [*headers, ("Content-Length", str(len(body)))])
        self.wfile.write(body[:keep])
        self.wfile.flush()
        raise CloseConnection()

    def start_stream(self, code, headers):
        self._head(code, [*headers, ("Transfer-Encoding", "chunked")])
        self.wfile.flush()

    def stream_write(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def client_gone(self):
        return False

    def _head(self, code, headers):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()


def _read_chunked(rfile, limit=3 * 1024 * 1024):
    out = b""
    for _ in range(100000):
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline().strip():  # trailers
                pass
            return out
        out += rfile.read(size)
        rfile.readline()
        if len(out) > limit:
            raise st.APIError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
    return out


class Request:
    def __init__(self, handler, method):
        self.h = handler
        self.method = method
        u = urllib.parse.urlsplit(handler.path)
        self.path = u.path.rstrip("/") or "/"
        self.raw_query = u.query
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        self.content_type = handler.headers.get("Content-Type", "")
        self.accept = handler.headers.get("Accept", "")
        self.body = None  # read_body(); an early answer never reads it
        self.user = None
        self.warnings = []
        self.headers_sent = False
        self.status = None
        self.response_bytes = 0
        self.entry, self.t0 = None, None  # its request log entry, its start (set by _dispatch)

    def read_body(self):
        if self.body is None:
            self.body = self.h.read_body()
        return self.body

    def json_body(self):
        try:
            return json.loads(self.body.decode("utf-8") if self.body else "")
        except (ValueError, UnicodeDecodeError) as e:
            raise st.bad_request(f"error decoding request body: {e}")


# ---------------------------------------------------------------------------------------------
# what tests may set on a DaemonSet (FakeAPIServer.set_daemonset)

UNSET = object()  # an argument not given (None means "back to the default")
DAEMONSET_FIELDS = ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "numberAvailable",
                    "numberUnavailable", "updatedNumberScheduled", "numberMisscheduled", "observedGeneration",
                    "generation", "templateGeneration", "maxUnavailable", "updateStrategy", "image")


_LEAST = {"generation": 1, "templateGeneration": 1}  # the counts may be 0


def _check_daemonset_field(key, value):
    """ValueError unless `value` may be set as DaemonSet field `key` (None: its default)."""
    if key not in DAEMONSET_FIELDS:
        raise ValueError(f"unknown DaemonSet field {key!r}; known: {', '.join(DAEMONSET_FIELDS)}")
    if value is None:
        return
    if key == "image":
        if not isinstance(value, str) or not value:
            raise ValueError(f"image must be a non-empty string, not {value!r}")
    elif key == "updateStrategy":
        if value not in ("RollingUpdate", "OnDelete"):
            raise ValueError(f"updateStrategy must be RollingUpdate or OnDelete, not {value!r}")
    elif key == "maxUnavailable":
        # the API server's validation: an int or a percentage, not 0 while maxSurge is 0
        if isinstance(value, str):
            if not re.fullmatch(r"[0-9]+%", value) or int(value[:-1]) > 100:
                raise ValueError(f"maxUnavailable must be an integer or a percentage (\"10%\"), not {value!r}")
            amount = int(value[:-1])
        elif isinstance(value, int) and not isinstance(value, bool):
            amount = value
        else:
            raise ValueError(f"maxUnavailable must be an integer or a percentage (\"10%\"), not {value!r}")
        if amount <= 0:
            raise ValueError(f"maxUnavailable may not be {value!r} while maxSurge is 0")
    elif isinstance(value, bool) or not isinstance(value, int) or value < _LEAST.get(key, 0):
        raise ValueError(f"{key} must be an integer >= {_LEAST.get(key, 0)} or null, not {value!r}")


# ---------------------------------------------------------------------------------------------
# the application


class FakeAPIServer:
    def __init__(self, state_dir, nodes=("node-1",), port=0, admin_port=0, token=None, history_size=1000,
                 bookmark_interval=60.0, idle_timeout=90.0, alpn=ALPN, early_answer=False):
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        # nodes: names, or a count (node-1 … node-N)
        self.node_names = [f"node-{i}" for i in range(1, nodes + 1)] if isinstance(nodes, int) else list(nodes)
        self.requested_port = port
        self.requested_admin_port = admin_port
        self.token = token or secrets.token_hex(24)
        self._tokens = {self.token}
        self._internal_token = "fakeapi-internal-" + secrets.token_hex(16)
        self.bookmark_interval = float(bookmark_interval)
        self.idle_timeout = idle_timeout
        self.alpn = tuple(alpn)  # offered by ALPN, in order of preference: ("http/1.1",) forces HTTP/1.1
        self.early_answer = bool(early_answer)  # set_early_answer()
        self.store = Store(history_size=history_size)
        self._lock = threading.Lock()
        self._log = []
        self._faults = []
        self._down_mode = None
        self._down_until = 0.0
        self._down_timer = None
        self._conns = set()
        self._watches = 0
        self._stop = threading.Event()
        self._httpd = None
        self._thread = None
        self._admin = None
        self.writer = None
        self.port = None
        self.admin_port = None
        self.audit_ids = 0
        self._ds_settings = {}  # (namespace, name) -> DaemonSet fields set (set_daemonset)
        self._ds_pods = {}  # (namespace, pod name) -> the DaemonSet pod made for a Node (schedule_pod)
        self._taint_history = []
        self._taint_seq = 0
        self._lease_history = []
        self._lease_seq = 0

    # -- lifecycle --
    def start(self):
        self.ca_path, crt, key = ensure_certs(self.state_dir)
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(crt, key)
        self._ssl.set_alpn_protocols(list(self.alpn))
        for i, n in enumerate(self.node_names):
            self.add_node(n, index=i)
        for ns in SYSTEM_NAMESPACES:
            self.store.create("namespaces", "", R.new_namespace(ns))
        self.set_daemonset("default", "autotaint")
        self.store.hooks.append(self._on_commit)
        self.reset_taint_history()
        self._listen(self.requested_port)
        self.port = self._httpd.server_address[1]
        if self.requested_admin_port is not None:
            from .admin import start_admin
            self._admin = start_admin(self, self.requested_admin_port)
            self.admin_port = self._admin.server_address[1]
        self._write_state_files()
        return self

    def _listen(self, port):
        self._httpd = _TLSServer(self, ("127.0.0.1", port), self._ssl)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakeapi-https", daemon=True)
        self._thread.start()

    def _unlisten(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def stop(self):
        self._stop.set()
        with self.store.cond:
            self.store.cond.notify_all()
        if self.writer:
            self.writer.stop()
        if self._down_timer:
            self._down_timer.cancel()
        self._unlisten()
        self._kill_connections()
        if self._admin:
            self._admin.shutdown()
            self._admin.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}" if self.admin_port else None

    @property
    def kubeconfig(self):
        return os.path.join(self.state_dir, "kubeconfig")

    @property
    def kubeconfig_tokenfile(self):
        return os.path.join(self.state_dir, "kubeconfig-tokenfile")

    @property
    def token_file(self):
        return os.path.join(self.state_dir, "token")

    def _write_state_files(self):
        def atomic(path, text):
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, path)

        def kubeconfig(user_line):
            return ("apiVersion: v1\nkind: Config\nclusters:\n- name: fakeapi\n  cluster:\n"
                    f"    server: {self.url}\n    certificate-authority: {self.ca_path}\n"
                    "users:\n- name: fakeapi-user\n  user:\n"
                    f"    {user_line}\n"
                    "contexts:\n- name: fakeapi\n  context:\n    cluster: fakeapi\n    user: fakeapi-user\n"
                    "current-context: fakeapi\npreferences: {}\n")

        atomic(self.token_file, self.token)
        atomic(self.kubeconfig, kubeconfig(f"token: {self.token}"))
        atomic(self.kubeconfig_tokenfile, kubeconfig(f"tokenFile: {self.token_file}"))
        atomic(os.path.join(self.state_dir, "port"), f"{self.port}\n")
        info = {"url": self.url, "port": self.port, "admin_url": self.admin_url, "admin_port": self.admin_port,
                "kubeconfig": self.kubeconfig, "kubeconfig_tokenfile": self.kubeconfig_tokenfile,
                "token_file": self.token_file, "ca": self.ca_path, "token": self.token, "pid": os.getpid()}
        atomic(os.path.join(self.state_dir, "server.json"), json.dumps(info, indent=2) + "\n")

    # -- connections --
    def _track(self, conn, add):
        """Adds or drops an open connection; refuses to add one while down, so a connection
        accepted in the moment before down() closed the listening socket cannot outlive it."""
        with self._lock:
            if not add:
                self._conns.discard(conn)
                return True
            if self._down_mode is not None:
                return False
            self._conns.add(conn)
            return True

    def _kill_connections(self):
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                socket.socket.shutdown(c, socket.SHUT_RDWR)  # the TCP socket: TLS state left to its thread
            except OSError:
                pass

    # -- state API (in-process) --
    def node(self, name):
        return self.store.get("nodes", "", name)

    def add_node(self, name, index=None):
        n = R.new_node(name, len(self.store.list("nodes")[0]) if index is None else index)
        created = self.store.create("nodes", "", n)
        if created is None:
            raise ValueError(f"node {name} exists")
        self.store.create("leases", "kube-node-lease", R.new_lease(name, created["metadata"]["uid"]))
        return created

    def ensure_node(self, name):
        """Add Node `name` unless it exists: (node, created)."""
        with self.store.cond:
            cur = self.store.get("nodes", "", name)
            if cur is not None:
                return cur, False
            return self.add_node(name), True

    def nodes(self):
        items, _ = self.store.list("nodes")
        return sorted(items, key=lambda n: n["metadata"]["name"])

    def delete_node(self, name):
        return self.store.delete("nodes", "", name)

    def add_namespace(self, name):
        """Create Namespace NAME if missing, as `kubectl apply` of a manifest's Namespace would
        (the fake serves namespaces read-only to clients)."""
        with self.store.cond:
            if self.store.get("namespaces", "", name) is None:
                self.store.create("namespaces", "", R.new_namespace(name))
            return self.store.get("namespaces", "", name)

    # -- DaemonSets: status as the DaemonSet controller would write it --
    def set_daemonset(self, namespace, name, desired=UNSET, *, reset=False, **fields):
        """Create DaemonSet NAMESPACE/NAME if missing and set what the DaemonSet controller (the
        status) and `kubectl apply` (generation, update strategy) would have left on it. `fields`
        (see DAEMONSET_FIELDS), each kept until set again: the status counts by their JSON names,
        `desired` being desiredNumberScheduled; `generation` (metadata.generation, default 1),
        `templateGeneration` (the `deprecated.daemonset.template.generation` annotation, which
        pods are labelled with; default: the generation, as if every spec change so far had
        been a template change), `maxUnavailable` (an int or "N%", default 1), `updateStrategy`
        ("RollingUpdate", the default, or "OnDelete"), `image` (the pod template's image: a
        change of it is a template change, which bumps metadata.generation and the template
        generation by one each, as the API server does, unless `generation` is given too).
        None puts a field back to its default; `reset` clears them all first. What is not set follows: desiredNumberScheduled the number of Nodes, the other
        counts desiredNumberScheduled (numberAvailable numberReady, numberUnavailable desired −
        available, observedGeneration the generation)."""
        if desired is not UNSET:
            if "desiredNumberScheduled" in fields:
                raise ValueError("desired and desiredNumberScheduled both given")
            fields["desiredNumberScheduled"] = desired
        for key, value in fields.items():
            _check_daemonset_field(key, value)
        with self.store.cond:
            if self.store.get("namespaces", "", namespace) is None:
                raise ValueError(f"namespace {namespace} does not exist")
            settings = {} if reset else self._ds_settings.get((namespace, name), {})
            current = self.store.get("daemonsets", namespace, name)
            if current is not None and "image" in fields and "generation" not in fields \
                    and fields["image"] != current["spec"]["template"]["spec"]["containers"][0]["image"]:
                fields["generation"] = current["metadata"]["generation"] + 1
                fields["templateGeneration"] = int(
                    current["metadata"]["annotations"]["deprecated.daemonset.template.generation"]) + 1
            settings = dict(settings, **fields)
            self._ds_settings[(namespace, name)] = {k: v for k, v in settings.items() if v is not None}
            if self.store.get("daemonsets", namespace, name) is None:
                self.store.create("daemonsets", namespace, R.new_daemonset(namespace, name))
            self._sync_daemonsets()
            return self.store.get("daemonsets", namespace, name)

    def delete_daemonset(self, namespace, name, propagation="Background"):
        """`kubectl delete`: Background (its default) removes the DaemonSet at once, its pods
        then go; Foreground sets metadata.deletionTimestamp and the foregroundDeletion finalizer
        and keeps it until the pods are gone (a later Background delete here). None if there
        was no such DaemonSet."""
        if propagation not in ("Background", "Foreground"):
            raise ValueError(f"propagation must be Background or Foreground, not {propagation!r}")
        with self.store.cond:
            if propagation == "Foreground":
                ds = self.store.get("daemonsets", namespace, name)
                if ds is None:
                    return None
                md = ds["metadata"]
                if "deletionTimestamp" not in md:
                    md["deletionTimestamp"] = now_rfc3339()
                    md["deletionGracePeriodSeconds"] = 0
                    md["finalizers"] = md.get("finalizers", []) + ["foregroundDeletion"]
                    self.store.replace("daemonsets", namespace, name, ds)
                return self.store.get("daemonsets", namespace, name)
            self._ds_settings.pop((namespace, name), None)
            return self.store.delete("daemonsets", namespace, name)

    def schedule_pod(self, namespace, daemonset, node):
        """The pod the DaemonSet controller makes for `node` now: labelled with the template's
        `pod-template-generation` (the template generation annotation) and `controller-revision-hash`,
        which the agent's downward API reads. Pods are not served through the API; tests read
        the labels here to start the agent as kubelet would."""
        with self.store.cond:
            self._sync_daemonsets()
            ds = self.store.get("daemonsets", namespace, daemonset)
            if ds is None:
                raise ValueError(f"no DaemonSet {namespace}/{daemonset}")
            template = json.dumps(ds["spec"]["template"], sort_keys=True).encode()
            revision = hashlib.sha256(template).hexdigest()[:10]
            name = f"{daemonset}-{secrets.token_hex(3)[:5]}"
            pod = {"kind": "Pod", "apiVersion": "v1",
                   "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                                "creationTimestamp": now_rfc3339(),
                                "labels": dict(ds["spec"]["template"]["metadata"].get("labels", {}),
                                               **{"controller-revision-hash": revision,
                                                  "pod-template-generation": ds["metadata"]["annotations"][
                                                      "deprecated.daemonset.template.generation"]}),
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": daemonset,
                                                     "uid": ds["metadata"]["uid"], "controller": True,
                                                     "blockOwnerDeletion": True}]},
                   "spec": {"nodeName": node}}
            self._ds_pods[(namespace, name)] = pod
            return copy.deepcopy(pod)

    def daemonset_pods(self):
        with self.store.cond:
            return [copy.deepcopy(p) for p in self._ds_pods.values()]

    def daemonset(self, namespace, name):
        with self.store.cond:
            self._sync_daemonsets()
            return self.store.get("daemonsets", namespace, name)

    def _sync_daemonsets(self):
        with self.store.cond:
            n_nodes = len(self.store.list("nodes")[0])
            for ds in self.store.list("daemonsets")[0]:
                key = (ds["metadata"]["namespace"], ds["metadata"]["name"])
                settings = dict(self._ds_settings.get(key, {}))
                generation = settings.pop("generation", 1)
                strategy = R.daemonset_update_strategy(settings.pop("updateStrategy", "RollingUpdate"),
                                                       settings.pop("maxUnavailable", 1))
                want = copy.deepcopy(ds)
                want["metadata"]["generation"] = generation
                # Spec.TemplateGeneration, which apps/v1 keeps in this annotation: the API server
                # bumps it on a template change only, metadata.generation on any spec change; the
                # controller labels each pod with it (pod-template-generation).
                want["metadata"].setdefault("annotations", {})["deprecated.daemonset.template.generation"] = \
                    str(settings.pop("templateGeneration", generation))
                want["spec"]["updateStrategy"] = strategy
                image = settings.pop("image", None)
                if image:
                    want["spec"]["template"]["spec"]["containers"][0]["image"] = image
                want["status"] = R.daemonset_status(settings.pop("desiredNumberScheduled", n_nodes), generation,
                                                    **settings)
                if want != ds:
                    self.store.replace("daemonsets", key[0], key[1], want)

    # -- taint history: every committed change of a Node's spec.taints --
    def _on_commit(self, type_, resource, obj, prev):  # called by the store under its lock
        if resource == "leases":
            return self._on_lease_commit(type_, obj, prev)
        if resource != "nodes":
            return
        new = [] if type_ == "DELETED" else ((obj.get("spec") or {}).get("taints") or [])
        if type_ == "MODIFIED" and ((prev.get("spec") or {}).get("taints") or []) == new:
            return
        self._taint_seq += 1
        self._taint_history.append({"time": time.time(), "seq": self._taint_seq, "node": obj["metadata"]["name"],
                                    "resourceVersion": obj["metadata"]["resourceVersion"],
                                    "taints": copy.deepcopy(new), "type": type_})

    def reset_taint_history(self):
        """Start the history again: one seq 0 entry per Node with its taints now."""
        with self.store.cond:
            self._taint_history = []
            self._taint_seq = 0
            now = time.time()
            for n in self.nodes():
                self._taint_history.append({"time": now, "seq": 0, "node": n["metadata"]["name"],
                                            "resourceVersion": n["metadata"]["resourceVersion"],
                                            "taints": (n.get("spec") or {}).get("taints") or [],
                                            "type": "INITIAL"})

    def taint_history(self):
        with self.store.cond:
            return copy.deepcopy(self._taint_history)

    # -- lease history: who holds which Lease (outside kube-node-lease), change by change --
    def _on_lease_commit(self, type_, obj, prev):  # called by the store under its lock
        md = obj["metadata"]
        if md.get("namespace") == "kube-node-lease":
            return
        holder = (obj.get("spec") or {}).get("holderIdentity")
        labels = md.get("labels") or {}
        if type_ == "MODIFIED" and ((prev.get("spec") or {}).get("holderIdentity") == holder
                                    and (prev["metadata"].get("labels") or {}) == labels):
            return  # a renewal
        self._lease_seq += 1
        self._lease_history.append({
            "time": time.time(), "seq": self._lease_seq, "namespace": md.get("namespace"), "name": md["name"],
            "type": type_, "holder": holder,
            "previousHolder": None if prev is None else (prev.get("spec") or {}).get("holderIdentity"),
            "labels": copy.deepcopy(labels), "resourceVersion": md["resourceVersion"]})

    def lease_history(self):
        """Every committed change of a Lease's holderIdentity or labels outside kube-node-lease,
        its creation and its deletion, in commit order (renewals are left out)."""
        with self.store.cond:
            return copy.deepcopy(self._lease_history)

    def reset_lease_history(self):
        with self.store.cond:
            self._lease_history = []

    def update_node(self, name, fn):
        """Write a node directly (as kubelet or another controller would), bumping resourceVersion.
        fn(node) mutates the dict in place or returns a new one."""
        for _ in range(50):
            cur = self.store.get("nodes", "", name)
            if cur is None:
                raise KeyError(name)
            rv = cur["metadata"]["resourceVersion"]
            work = copy.deepcopy(cur)
            res = fn(work)
            new = res if res is not None else work
            stored, err = self.store.replace("nodes", "", name, new, expect_rv=rv)
            if err is None:
                return stored
        raise RuntimeError("update_node: too many conflicts")

    def events(self, namespace=None):
        items, _ = self.store.list("events", namespace)
        return sorted(items, key=lambda e: int(e["metadata"]["resourceVersion"]))

    def compact(self):
        self.store.compact()

    # -- request log --
    def requests(self, include_internal=False):
        with self._lock:
            return [dict(e) for e in self._log if include_internal or not e["internal"]]

    def clear_requests(self):
        with self._lock:
            self._log.clear()

    # -- faults --
    def add_fault(self, **kw):
        f = Fault(**kw)
        with self._lock:
            self._faults.append(f)
        return f.id

    def faults(self):
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method, path):
        with self._lock:
            for f in self._faults:
                if f.matches(method, path) and (f.count is None or f.count > 0):
                    if f.count is not None:
                        f.count -= 1
                    f.hits += 1
                    if f.count == 0:
                        self._faults.remove(f)
                    return f
        return None

    def down(self, seconds, mode="refuse"):
        """Make the server unreachable for `seconds`: mode 'refuse' closes the listening socket
        (connection refused) and every open connection; 'close' accepts and closes at once."""
        if mode not in ("refuse", "close"):
            raise ValueError(mode)
        with self._lock:
            self._down_mode = mode
            self._down_until = time.monotonic() + seconds
            if self._down_timer:
                self._down_timer.cancel()
            self._down_timer = threading.Timer(seconds, self.up)
            self._down_timer.daemon = True
        self._kill_connections()
        if mode == "refuse":
            self._unlisten()
        self._down_timer.start()

    def up(self):
        with self._lock:
            mode = self._down_mode
            self._down_mode = None
            self._down_until = 0.0
            if self._down_timer:
                self._down_timer.cancel()
                self._down_timer = None
        if mode == "refuse" and not self._stop.is_set() and self._httpd is None:
            for _ in range(50):
                try:
                    self._listen(self.port)
                    break
                except OSError:
                    time.sleep(0.1)

    def _count_watch(self, change):
        with self._lock:
            self._watches += change

    def open_watches(self):
        """Watches being served now: one ends when its client resets the stream or closes the
        connection (seen within a second), the server's timeout passes, or the fake stops."""
        with self._lock:
            return self._watches

    def is_down(self):
        return self._down_mode is not None

    # -- tokens --
    def set_tokens(self, tokens):
        tokens = list(tokens)
        with self._lock:
            self._tokens = set(tokens)
            if tokens:
                self.token = tokens[0]
        self._write_state_files()

    def rotate_token(self, keep_old=False):
        """New token; the old one stops working unless keep_old. Rewrites kubeconfig and token file."""
        new = secrets.token_hex(24)
        with self._lock:
            self._tokens = (self._tokens | {new}) if keep_old else {new}
            self.token = new
        self._write_state_files()
        return new

    # -- misc --
    def set_early_answer(self, on=True):
        """Over h2, answer a request refused before its body is read (401, a fault status in
        EARLY_STATUSES) on its HEADERS frame, then RST_STREAM NO_ERROR, as Go's server does
        (http2.py); for requests from now on."""
        self.early_answer = bool(on)

    def set_bookmark_interval(self, seconds):
        self.bookmark_interval = float(seconds)

    def start_foreign_writer(self, node, rate=5.0, prefix="foreign.example.com/writer", max_taints=3,
                             effect="NoSchedule"):
        from .writer import ForeignWriter
        if self.writer:
            self.writer.stop()
        self.writer = ForeignWriter(self, node, rate, prefix, max_taints, effect).start()
        return self.writer

    def stop_foreign_writer(self):
        if not self.writer:
            return None
        stats = self.writer.stop()
        return stats

    # =========================================================================================
    # dispatch

    def _dispatch(self, h, method):
        t0 = time.monotonic()
        req = Request(h, method)
        auth = h.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        internal = token == self._internal_token
        entry = {"time": time.time(), "method": method, "path": req.path, "query": req.raw_query,
                 "params": dict(req.query), "content_type": req.content_type, "status": None,
                 "user": "foreign-writer" if internal else None, "internal": internal, "fault": None,
                 "body": "", "duration": None, "user_agent": h.headers.get("User-Agent", ""),
                 "request_bytes": 0, "response_bytes": 0, "http": h.http_version}
        req.entry, req.t0 = entry, t0
        with self._lock:
            self._log.append(entry)

        def read_body():
            entry["body"] = req.read_body().decode("utf-8", "replace")[:4096]
            entry["request_bytes"] = len(req.body)
        try:
            fault = None if internal else self._take_fault(method, req.path)
            if not (h.answers_early and _refused_before_the_body(fault)):
                read_body()
            if fault:
                entry["fault"] = fault.action
                self._apply_fault_pre(h, req, fault)  # may raise StreamDone / CloseConnection
            if not self._authenticated(req, token, internal):
                raise st.unauthorized()
            read_body()
            if fault and fault.action == "truncate":
                self._respond_truncated(h, req, self._route(req))
                entry["status"] = req.status
                raise StreamDone()
            result = self._route(req)
            if result is not None:
                code, obj = result
                self._send_json(h, req, code, obj)
        except StreamDone:
            pass
        except st.APIError as e:
            if not req.headers_sent:
                self._send_json(h, req, e.code, e.status(), e.headers)
        except CloseConnection:  # ResetStream too: over h2 the fault drops the stream alone
            entry["status"] = entry["status"] or 0
            entry["duration"] = time.monotonic() - t0
            entry["response_bytes"] = req.response_bytes
            raise
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            raise
        except Exception as e:  # a bug in the fake: answer 500 rather than hang the client
            import traceback
            traceback.print_exc()
            if not req.headers_sent:
                err = st.internal_error(f"fakeapi: {type(e).__name__}: {e}")
                self._send_json(h, req, 500, err.status())
        entry["status"] = req.status
        entry["duration"] = time.monotonic() - t0
        entry["response_bytes"] = req.response_bytes

    def _authenticated(self, req, token, internal):
        if internal:
            req.user = "foreign-writer"
            return True
        if token is None and req.path in ("/healthz", "/livez", "/readyz", "/version"):
            return True
        with self._lock:
            ok = token is not None and token in self._tokens
        req.user = "agent" if ok else None
        return ok

    def _apply_fault_pre(self, h, req, f):
        if f.action == "hang":
            end = time.monotonic() + f.seconds
            while not self._stop.is_set() and time.monotonic() < end:
                time.sleep(min(0.05, max(0.0, end - time.monotonic())))
            if f.then == "close":
                req.status = 0
                raise CloseConnection()
            return
        if f.action == "reset":
            req.status = 0
            raise CloseConnection()
        if f.action == "status":
            if f.body is not None:
                body = f.body.encode() if isinstance(f.body, str) else f.body
                ctype = "application/json"
            elif f.message is None and f.status in (403, 404):
                body = json.dumps(_fault_status(f, req)).encode()
                ctype = "application/json"
            else:
                msg = f.message or _MESSAGES.get(f.status, f"injected status {f.status}")
                details = None
                if f.retry_after is not None:
                    details = {"retryAfterSeconds": int(f.retry_after)}
                body = json.dumps(st.status_body(f.status, _REASONS.get(f.status, ""), msg, details)).encode()
                ctype = "application/json"
            headers = {}
            if f.retry_after is not None:
                headers["Retry-After"] = str(f.retry_after)
            self._send_raw(h, req, f.status, body, ctype, headers)
            raise StreamDone()
        if f.action == "garbage":
            body = f.body if f.body is not None else '{"kind":"Node","apiVersion":"v1","metadata":{"na<<<garbage>>>\x00\xff'
            body = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
            self._send_raw(h, req, f.status if f.status != 500 else 200, body, "application/json", {})
            raise StreamDone()
        # truncate is handled after routing

    def _respond_truncated(self, h, req, result):
        if result is None:
            return
        code, obj = result
        body = json.dumps(obj).encode()
        keep = max(1, len(body) // 2)
        req.status = code
        req.headers_sent = True
        req.response_bytes += keep
        self._log_answer(req, 0)
        h.respond_truncated(code, [("Content-Type", "application/json")], body, keep)  # raises

    def _common_headers(self):
        self.audit_ids += 1
        return [("Audit-Id", str(uuid.uuid4())), ("Cache-Control", "no-cache, private"),
                ("X-Kubernetes-Pf-Flowschema-Uid", "fakeapi-flowschema"),
                ("X-Kubernetes-Pf-Prioritylevel-Uid", "fakeapi-prioritylevel")]

    def _log_answer(self, req, status):
        """Completes the request's log entry before its answer goes out: a client that has its
        answer finds the entry complete (`_dispatch` brings it up to date once more at the end)."""
        req.entry.update(status=status, duration=time.monotonic() - req.t0, response_bytes=req.response_bytes)

    def _send_raw(self, h, req, code, body, ctype, headers):
        req.status = code
        req.headers_sent = True
        req.response_bytes += len(body)
        self._log_answer(req, code)
        h.respond(code, [*self._common_headers(), ("Content-Type", ctype), *(headers or {}).items()], body)

    def _send_json(self, h, req, code, obj, headers=None):
        body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        req.status = code
        req.headers_sent = True
        req.response_bytes += len(body)
        self._log_answer(req, code)
        h.respond(code, [*self._common_headers(), ("Content-Type", "application/json"),
                         *(("Warning", '299 - ' + json.dumps(w)) for w in req.warnings),
                         *(headers or {}).items()], body)

    # =========================================================================================
    # routing

    def _route(self, req):
        p = req.path
        parts = [x for x in p.split("/") if x]
        m = req.method
        if p in ("/healthz", "/livez", "/readyz"):
            self._send_raw(req.h, req, 200, b"ok", "text/plain; charset=utf-8", {})
            raise StreamDone()
        if p == "/version":
            return 200, R.version_info()
        if p == "/api":
            return 200, R.api_versions(f"127.0.0.1:{self.port}")
        if p == "/api/v1":
            return 200, R.CORE_V1
        if p == "/apis":
            return 200, R.api_group_list()
        if len(parts) == 2 and parts[0] == "apis":
            for g, v in R.GROUPS:
                if parts[1] == g:
                    d = R.api_group(g, v)
                    d.update(kind="APIGroup", apiVersion="v1")
                    return 200, d
        if p == "/apis/events.k8s.io/v1":
            return 200, R.EVENTS_V1
        if p == "/apis/coordination.k8s.io/v1":
            return 200, R.COORDINATION_V1
        if p == "/apis/apps/v1":
            return 200, R.APPS_V1
        if p == "/openapi/v3":
            return 200, R.openapi_v3_root()
        if p.startswith("/openapi/v3/"):
            doc = R.openapi_v3_doc(p[len("/openapi/v3/"):])
            if doc is None:
                raise _not_found_path()
            return 200, doc

        group = ""
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis" and (parts[1], parts[2]) in R.GROUPS:
            group = parts[1]
            rest = parts[3:]
        else:
            raise _not_found_path()
        watch_path = False
        if rest and rest[0] == "watch":
            watch_path = True
            rest = rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns = rest[1]
            rest = rest[2:]
        if not rest:
            raise _not_found_path()
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3:
            raise _not_found_path()
        key = (group, resource)
        kinds = {("", "nodes"): False, ("", "events"): True, ("events.k8s.io", "events"): True,
                 ("coordination.k8s.io", "leases"): True, ("", "pods"): True, ("", "namespaces"): False,
                 ("apps", "daemonsets"): True}
        if key not in kinds:
            raise _not_found_path()
        if kinds[key] is False and ns is not None:
            raise _not_found_path()
        if sub and not (key == ("", "nodes") and sub == "status"):
            raise _not_found_path()
        is_watch = watch_path or req.query.get("watch") in ("true", "1")
        ctx = _Ctx(self, req, group, resource, ns, name, sub)
        if name is None:
            if m == "GET":
                return ctx.watch() if is_watch else ctx.list()
            if m == "POST":
                return ctx.create()
            raise st.method_not_allowed()
        if is_watch and m == "GET":
            # /watch/nodes/NAME == list-watch with fieldSelector metadata.name=NAME
            ctx.name_filter = name
            ctx.name = None
            return ctx.watch()
        if m == "GET":
            return ctx.get()
        if m == "PATCH":
            return ctx.patch()
        if m == "PUT":
            return ctx.put()
        if m == "DELETE":
            return ctx.delete()
        raise st.method_not_allowed()


def _not_found_path():
    return st.APIError(404, "NotFound", "the server could not find the requested resource", {})


_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def request_attributes(req):
    """What the authorizer sees of a request (apiserver RequestInfo): a dict with verb, and for a
    resource request group, resource, subresource, namespace, name; else path."""
    parts = [x for x in req.path.split("/") if x]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        rest = None
    watch = req.query.get("watch") in ("true", "1")
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
    if not rest:
        return {"resource_request": False, "verb": req.method.lower(), "path": req.path}
    ns = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) == 2:
        ns = rest[1]  # RequestInfo: a namespace's own namespace is its name
    resource, name, sub = rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""
    m = req.method
    if m == "GET":
        verb = "watch" if watch else ("get" if name else "list")
    elif m == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS.get(m, m.lower())
    return {"resource_request": True, "verb": verb, "group": group, "resource": resource, "subresource": sub,
            "namespace": ns, "name": name}


def forbidden_status(attrs, user):
    """responsewriters.Forbidden + errors.NewForbidden, as an RBAC denial (no reason) renders."""
    if not attrs["resource_request"]:
        msg = f'forbidden: User "{user}" cannot {attrs["verb"]} path "{attrs["path"]}"'
        return st.status_body(403, "Forbidden", msg, {})
    res = attrs["resource"] + ("/" + attrs["subresource"] if attrs["subresource"] else "")
    why = f'User "{user}" cannot {attrs["verb"]} resource "{res}" in API group "{attrs["group"]}"'
    why += f' in the namespace "{attrs["namespace"]}"' if attrs["namespace"] else " at the cluster scope"
    qual = st.qualified(attrs["resource"], attrs["group"])
    msg = f'{qual} "{attrs["name"]}" is forbidden: {why}' if attrs["name"] else f"{qual} is forbidden: {why}"
    return st.status_body(403, "Forbidden", msg, st._details(attrs["name"], attrs["resource"], attrs["group"]))


def _fault_status(f, req):
    attrs = request_attributes(req)
    if f.status == 403:
        return forbidden_status(attrs, f.user or DEFAULT_FORBIDDEN_USER)
    if attrs["resource_request"] and attrs["name"]:
        return st.not_found(attrs["resource"], attrs["name"], attrs["group"]).status()
    return _not_found_path().status()


def _encode_continue(rv, start):
    token = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        if d.get("v") != "meta.k8s.io/v1" or not isinstance(d.get("start"), str) or not isinstance(d.get("rv"), int):
            raise ValueError("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        return d["rv"], d["start"].rstrip("\x00")
    except (ValueError, UnicodeDecodeError) as e:
        msg = str(e) if str(e).startswith("continue key") else f"continue key is not valid: {e}"
        raise st.bad_request(f"invalid continue token: {msg}")


class _Ctx:
    """One resource request."""

    def __init__(self, app, req, group, resource, ns, name, sub):
        self.app, self.req, self.group, self.resource = app, req, group, resource
        self.ns, self.name, self.sub = ns, name, sub
        self.name_filter = None
        self.store = app.store
        self.v1events = group == "events.k8s.io"
        self.skey = {"pods": "pods", "events": "events", "nodes": "nodes", "leases": "leases",
                     "namespaces": "namespaces", "daemonsets": "daemonsets"}[resource]
        self.kind = {"pods": "Pod", "events": "Event", "nodes": "Node", "leases": "Lease",
                     "namespaces": "Namespace", "daemonsets": "DaemonSet"}[resource]
        self.api_version = {"": "v1", "events.k8s.io": "events.k8s.io/v1",
                            "coordination.k8s.io": "coordination.k8s.io/v1", "apps": "apps/v1"}[group]
        self.store_ns = ns if ns is not None else ""
        if resource == "namespaces":
            self.store_ns = ""

    # -- representation --
    def out(self, obj, in_list=False):
        if obj is None:
            return None
        o = R.event_core_to_v1(obj) if self.v1events else copy.deepcopy(obj)
        if in_list:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        else:
            o["kind"] = self.kind
            o["apiVersion"] = self.api_version
        return o

    def schema(self):
        return R.SCHEMAS["events.v1" if self.v1events else self.skey] if self.skey in ("nodes", "events", "leases") else sc.ANY

    def fields_of(self, o):
        if self.skey == "nodes":
            return R.node_fields(o)
        if self.skey == "events":
            return R.event_fields(o)
        return R.ns_name_fields(o)

    def supported_fields(self):
        if self.skey == "nodes":
            return {"metadata.name", "spec.unschedulable"}
        if self.skey == "events":
            s = {"metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
                 "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
                 "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent",
                 "source", "type"}
            return s
        if self.skey == "pods":
            return R.POD_FIELDS
        if self.skey == "namespaces":
            return {"metadata.name", "status.phase"}
        return {"metadata.name", "metadata.namespace"}

    def matcher(self):
        fs = parse_field_selector(self.req.query.get("fieldSelector", ""))
        if self.v1events:
            fs = [(R.EVENTS_V1_FIELD_ALIASES.get(f, f), op, v) for f, op, v in fs]
        check_fields(fs, self.supported_fields(), self.resource)
        ls = parse_label_selector(self.req.query.get("labelSelector", ""))
        if self.name_filter is not None:
            fs = fs + [("metadata.name", "=", self.name_filter)]

        def match(o):
            if o is None:
                return False
            if self.ns is not None and self.skey != "namespaces" and o["metadata"].get("namespace", "") != self.ns:
                return False
            return match_fields(fs, self.fields_of(o)) and match_labels(ls, o["metadata"].get("labels"))
        return match

    def wants_table(self):
        return "as=Table" in self.req.accept and self.skey in ("nodes", "events") and not self.v1events

    # -- verbs --
    def get(self):
        if self.skey == "pods":
            raise st.not_found("pods", self.name)
        if self.skey == "daemonsets":
            self.app._sync_daemonsets()
        o = self.store.get(self.skey, self.store_ns, self.name)
        if o is None:
            raise st.not_found(self.resource, self.name, self.group)
        if self.wants_table():
            return 200, tables.to_table(self.kind, [o], o["metadata"]["resourceVersion"],
                                        self.req.query.get("includeObject", "Metadata"))
        return 200, self.out(o)

    def list(self):
        match = self.matcher()
        q = self.req.query
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise st.bad_request(f'strconv.ParseInt: parsing "{q.get("limit")}": invalid syntax')
        if self.skey == "daemonsets":
            self.app._sync_daemonsets()
        if self.skey == "pods":
            items, rv = [], self.store.current_rv()
        else:
            items, rv = self.store.list(self.skey, self.ns if self.skey != "namespaces" else None)
            items = [o for o in items if match(o)]
        # the order of etcd keys: /registry/<resource>/<namespace>/<name>
        key = (lambda o: o["metadata"]["name"]) if self.ns is not None or self.skey in ("nodes", "namespaces") \
            else (lambda o: o["metadata"].get("namespace", "") + "/" + o["metadata"]["name"])
        items.sort(key=key)
        lmeta = {"resourceVersion": str(rv)}
        if q.get("continue"):
            rv, start = _decode_continue(q["continue"])
            lmeta["resourceVersion"] = str(rv)
            items = [o for o in items if key(o) > start]
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            lmeta["continue"] = _encode_continue(int(lmeta["resourceVersion"]), key(items[-1]))
            if not q.get("labelSelector") and not q.get("fieldSelector"):
                lmeta["remainingItemCount"] = rest
        if self.wants_table():
            t = tables.to_table(self.kind, items, rv, self.req.query.get("includeObject", "Metadata"))
            t["metadata"] = lmeta
            return 200, t
        return 200, {"kind": self.kind + "List", "apiVersion": self.api_version, "metadata": lmeta,
                     "items": [self.out(o, in_list=True) for o in items]}

    def create(self):
        if self.skey == "leases":
            return self._create_lease(self.req.json_body())
        if self.skey not in ("events",):
            raise st.method_not_allowed()
        body = self.req.json_body()
        if not isinstance(body, dict):
            raise st.bad_request("error decoding request body: expected an object")
        obj = R.event_v1_to_core(body) if self.v1events else copy.deepcopy(body)
        md = obj.setdefault("metadata", {})
        if md.get("namespace") and md["namespace"] != self.ns:
            raise st.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        md["namespace"] = self.ns
        if md.get("resourceVersion"):
            raise st.bad_request("resourceVersion should not be set on objects to be created")
        obj, unknown, type_errs = sc.prune(obj, R.SCHEMAS["events"])
        if type_errs:
            raise st.bad_request("error decoding request body: " + type_errs[0])
        self._unknown_fields(unknown, create=True)
        md = obj["metadata"]
        for f in ("uid", "creationTimestamp", "generation", "selfLink", "managedFields", "deletionTimestamp"):
            md.pop(f, None)
        if not md.get("name") and md.get("generateName"):
            md["name"] = generate_name(md["generateName"])
        self._normalize_event(obj)
        errs = val.legacy_validate_event(obj, core_v1=not self.v1events)
        if self.v1events:
            errs += val.strict_validate_events_v1(obj)
        errs += self._meta_create_errors(obj)
        if errs:
            raise st.invalid_error("Event", md.get("name", ""), errs, "events.k8s.io" if self.v1events else "")
        if self.req.query.get("dryRun") == "All":
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_rfc3339()
            return 201, self.out(obj)
        created = self.store.create("events", self.ns, obj)
        if created is None:
            raise st.already_exists("events", md["name"], self.group)
        return 201, self.out(created)

    def _decode_error(self, body, err):
        """handlers.transformDecodeError: a body that does not decode into the type is a 400."""
        if isinstance(body, dict) and body.get("kind"):
            version = (body.get("apiVersion") or "").split("/")[-1]
            return st.bad_request(f'{body["kind"]} in version "{version}" cannot be handled as a {self.kind}: {err}')
        raw = self.req.body.decode(errors="replace")
        summary = raw[:30] + " ..." if len(raw) > 30 else raw
        return st.bad_request(f"the object provided is unrecognized (must be of type {self.kind}): {err} ({summary})")

    def _create_lease(self, body, via_put=False):
        if not isinstance(body, dict):
            raise self._decode_error(body, "json: cannot unmarshal array into Go value of type struct")
        obj = copy.deepcopy(body)
        md = obj.get("metadata")
        if not isinstance(md, dict):
            md = obj["metadata"] = {} if md is None else md
        obj, unknown, type_errs = sc.prune(obj, R.SCHEMAS["leases"])
        if type_errs:
            raise self._decode_error(body, type_errs[0])
        self._unknown_fields(unknown, create=True)
        md = obj.setdefault("metadata", {})
        if md.get("namespace") and md["namespace"] != self.ns:
            raise st.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        md["namespace"] = self.ns
        if via_put:
            md.pop("resourceVersion", None)
        elif md.get("resourceVersion"):
            raise st.bad_request("resourceVersion should not be set on objects to be created")
        for f in ("uid", "creationTimestamp", "generation", "selfLink", "managedFields", "deletionTimestamp",
                  "deletionGracePeriodSeconds"):
            md.pop(f, None)
        if not md.get("name") and md.get("generateName"):
            md["name"] = generate_name(md["generateName"])
        obj["kind"], obj["apiVersion"] = "Lease", "coordination.k8s.io/v1"
        errs = self._meta_create_errors(obj, dns_subdomain=True) + val.validate_lease_spec(obj.get("spec"))
        if errs:
            raise st.invalid_error("Lease", md.get("name", ""), errs, self.group)
        if self.store.get("namespaces", "", self.ns) is None:  # NamespaceLifecycle admission
            raise st.not_found("namespaces", self.ns)
        if self.req.query.get("dryRun") == "All":
            if self.store.get("leases", self.ns, md["name"]) is not None:
                raise st.already_exists(self.resource, md["name"], self.group)
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_rfc3339()
            return 201, self.out(obj)
        created = self.store.create("leases", self.ns, obj)
        if created is None:
            raise st.already_exists(self.resource, md["name"], self.group)
        return 201, self.out(created)

    def _meta_create_errors(self, obj, dns_subdomain=False):
        md = obj["metadata"]
        errs = []
        if not md.get("name"):
            errs.append(st.required("metadata.name", "name or generateName is required"))
        elif dns_subdomain:
            errs += [st.invalid("metadata.name", md["name"], m) for m in val.is_dns1123_subdomain(md["name"])]
        else:
            errs += val.validate_path_segment_name(md["name"], "metadata.name")
        errs += val.validate_labels(md.get("labels"), "metadata.labels")
        errs += val.validate_annotations(md.get("annotations"), "metadata.annotations")
        return errs

    @staticmethod
    def _normalize_event(obj):
        # fields a core/v1 Event always carries in its JSON form (no omitempty in the Go types)
        obj.setdefault("involvedObject", {})
        obj.setdefault("source", {})
        for f in ("firstTimestamp", "lastTimestamp", "eventTime"):
            obj.setdefault(f, None)
        obj.setdefault("reportingComponent", "")
        obj.setdefault("reportingInstance", "")
        obj["kind"] = "Event"
        obj["apiVersion"] = "v1"

    def _unknown_fields(self, unknown, create=False):
        mode = self.req.query.get("fieldValidation", "Warn") or "Warn"
        if mode not in ("Ignore", "Warn", "Strict"):
            raise st.invalid_error("PatchOptions" if self.req.method == "PATCH" else
                                   ("CreateOptions" if create else "UpdateOptions"), "", [
                st.not_supported("fieldValidation", mode, ["Ignore", "Strict", "Warn"])], "meta.k8s.io")
        msgs = [f'unknown field "{u}"' for u in unknown]
        if not msgs or mode == "Ignore":
            return
        if mode == "Warn":
            self.req.warnings.extend(msgs)
            return
        text = "strict decoding error: " + ", ".join(msgs)
        if self.req.method == "PATCH":
            raise st.invalid_error("", "", [st.invalid("patch", st.raw(json.dumps(self.req.body.decode(errors="replace"))), text)])
        raise st.bad_request(text)

    def patch(self):
        ctype = self.req.content_type.split(";")[0].strip()
        if ctype not in PATCH_TYPES:
            raise st.unsupported_media_type(PATCH_TYPES)
        if self.skey not in ("nodes", "events", "leases"):
            raise st.method_not_allowed()
        patch_doc = self.req.json_body()
        sch = self.schema()

        def compute(cur):
            base = self.out(cur)
            if ctype == "application/strategic-merge-patch+json":
                new = patchmod.strategic_merge(base, patch_doc, sch)
            elif ctype == "application/merge-patch+json":
                if not isinstance(patch_doc, dict):
                    raise st.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
                new = patchmod.merge_patch(base, patch_doc)
            else:
                new = patchmod.json_patch(base, patch_doc)
            if not isinstance(new, dict):
                raise st.invalid_error("", "", [st.invalid("patch", st.raw(json.dumps(json.dumps(new))),
                                                           "json: cannot unmarshal into Go value of type struct")])
            return new
        return self._update(compute, is_patch=True)

    def put(self):
        if self.skey not in ("nodes", "events", "leases"):
            raise st.method_not_allowed()
        body = self.req.json_body()
        if not isinstance(body, dict):
            raise st.bad_request("error decoding request body")
        bname = (body.get("metadata") or {}).get("name", "")
        if bname != self.name:
            raise st.bad_request(f"the name of the object ({bname}) does not match the name on the URL ({self.name})")
        return self._update(lambda cur: copy.deepcopy(body), is_patch=False, body=body)

    def _update(self, compute, is_patch, body=None):
        q = self.req.query
        dry = q.get("dryRun") == "All"
        sch = self.schema()
        for _attempt in range(20):
            cur = self.store.get(self.skey, self.store_ns, self.name)
            if cur is None:
                if self.skey == "leases" and not is_patch:  # leaseStrategy.AllowCreateOnUpdate
                    try:
                        return self._create_lease(body, via_put=True)
                    except st.APIError as e:
                        if e.reason == "AlreadyExists":
                            continue  # created meanwhile: update it
                        raise
                raise st.not_found(self.resource, self.name, self.group)
            cur_rv = cur["metadata"]["resourceVersion"]
            self.req.warnings = []
            new = compute(cur)
            new, unknown, type_errs = sc.prune(new, sch)
            if type_errs:
                if is_patch:
                    raise st.invalid_error("", "", [st.invalid("patch", st.raw(json.dumps(self.req.body.decode(errors="replace"))), type_errs[0])])
                if self.skey == "leases":
                    raise self._decode_error(body, type_errs[0])
                raise st.bad_request("error decoding request body: " + type_errs[0])
            self._unknown_fields(unknown)
            md = new.setdefault("metadata", {}) or {}
            new["metadata"] = md
            if self.v1events:
                new = R.event_v1_to_core(new)
                md = new["metadata"]
            # patcher.applyPatch: namespace / name must match the request
            if md.get("namespace", "") not in ("", self.store_ns) and self.skey != "nodes":
                raise st.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            if (md.get("name") or "") != self.name:
                raise st.bad_request(f"the name of the object ({md.get('name') or ''}) does not match the name on "
                                     f"the URL ({self.name})")
            # optimistic concurrency: a resourceVersion in the resulting object is a precondition
            want_rv = md.get("resourceVersion") or ""
            if want_rv == "0":
                want_rv = ""  # APIObjectVersioner: "0" is no resourceVersion
            if not want_rv and not is_patch and self.skey == "leases":
                # leaseStrategy.AllowUnconditionalUpdate() is false
                raise st.invalid_error(self.resource, self.name, [
                    st.invalid("metadata.resourceVersion", st.raw("0x0"), "must be specified for an update")],
                    self.group)
            if want_rv:
                if not want_rv.isdigit():
                    raise st.bad_request(f'invalid resource version: strconv.ParseUint: parsing "{want_rv}": invalid syntax')
                if want_rv != cur_rv:
                    raise st.conflict(self.resource, self.name, self.group)
            # strategy.PrepareForUpdate + rest.BeforeUpdate
            new["kind"], new["apiVersion"] = cur.get("kind"), cur.get("apiVersion")
            if self.skey == "nodes":
                if self.sub == "":
                    if "status" in cur:
                        new["status"] = copy.deepcopy(cur["status"])
                    else:
                        new.pop("status", None)
                else:
                    if "spec" in cur:
                        new["spec"] = copy.deepcopy(cur["spec"])
                    else:
                        new.pop("spec", None)
            cmd = cur["metadata"]
            for f in ("creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp"):
                if f in cmd:
                    md[f] = cmd[f]
                else:
                    md.pop(f, None)
            if not md.get("uid"):
                md["uid"] = cmd.get("uid")
            md["resourceVersion"] = cur_rv
            if self.skey == "events":
                self._normalize_event(new)
            errs = []
            if self.skey == "nodes":
                errs = val.validate_node_update(new, cur, self.sub)
            elif self.skey == "events":
                errs = val.validate_object_meta_update(new, cur) + val.legacy_validate_event(new, not self.v1events)
            elif self.skey == "leases":
                errs = val.validate_object_meta_update(new, cur) + val.validate_lease_spec(new.get("spec"))
            else:
                errs = val.validate_object_meta_update(new, cur)
            if errs:
                raise st.invalid_error(self.kind, self.name, errs, self.group)
            if _canon(new) == _canon(cur):
                return 200, self.out(cur)  # no-op: nothing written, resourceVersion unchanged
            if dry:
                return 200, self.out(new)
            stored, err = self.store.replace(self.skey, self.store_ns, self.name, new, expect_rv=cur_rv)
            if err == "notfound":
                raise st.not_found(self.resource, self.name, self.group)
            if err == "conflict":
                continue  # GuaranteedUpdate: re-read and re-apply (a precondition then fails above)
            return 200, self.out(stored)
        raise st.APIError(409, "Conflict", f'Operation cannot be fulfilled on {self.resource} "{self.name}": too many retries')

    def delete(self):
        if self.skey not in ("nodes", "events", "leases"):
            raise st.method_not_allowed()
        opts = self.req.json_body() if self.req.body.strip() else {}
        if not isinstance(opts, dict):
            raise st.bad_request("json: cannot unmarshal array into Go value of type v1.DeleteOptions")
        pre = opts.get("preconditions") or {}
        if not isinstance(pre, dict):
            raise st.bad_request("json: cannot unmarshal into Go struct field DeleteOptions.preconditions of type v1.Preconditions")
        dry = self.req.query.get("dryRun") == "All" or opts.get("dryRun") == ["All"]
        with self.store.cond:  # check and delete in one step, as GuaranteedDelete does
            cur = self.store.get(self.skey, self.store_ns, self.name)
            if cur is None:
                raise st.not_found(self.resource, self.name, self.group)
            cmd = cur["metadata"]
            # rest.BeforeDelete: the conflict names the Kind, not the resource
            if pre.get("uid") is not None and pre["uid"] != cmd.get("uid"):
                raise st.APIError(409, "Conflict", f'Operation cannot be fulfilled on {st.qualified(self.kind, self.group)} '
                                  f'"{self.name}": the UID in the precondition ({pre["uid"]}) does not match the UID '
                                  f'in record ({cmd.get("uid")}). The object might have been deleted and then recreated',
                                  st._details(self.name, self.kind, self.group))
            if pre.get("resourceVersion") is not None and pre["resourceVersion"] != cmd["resourceVersion"]:
                raise st.APIError(409, "Conflict", f'Operation cannot be fulfilled on {st.qualified(self.kind, self.group)} '
                                  f'"{self.name}": the ResourceVersion in the precondition ({pre["resourceVersion"]}) '
                                  f'does not match the ResourceVersion in record ({cmd["resourceVersion"]}). The object '
                                  "might have been modified", st._details(self.name, self.kind, self.group))
            gone = cur if dry else self.store.delete(self.skey, self.store_ns, self.name)
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                     "details": {"name": self.name, "group": self.group, "kind": self.resource,
                                 "uid": gone["metadata"]["uid"]}}

    # -- watch --
    def watch(self):
        q = self.req.query
        match = self.matcher()
        rv_param = q.get("resourceVersion", "")
        try:
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else WATCH_DEFAULT_TIMEOUT
        except ValueError:
            raise st.bad_request(f"invalid timeoutSeconds: {q.get('timeoutSeconds')}")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        send_initial = q.get("sendInitialEvents") in ("true", "1")
        if rv_param not in ("", "0") and not rv_param.isdigit():
            raise st.bad_request(f'invalid resource version: strconv.ParseUint: parsing "{rv_param}": invalid syntax')
        if send_initial and (q.get("resourceVersionMatch") != "NotOlderThan" or not bookmarks):
            detail = ("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
                      if q.get("resourceVersionMatch") != "NotOlderThan" else
                      "sendInitialEvents requires allowWatchBookmarks")
            raise st.invalid_error("ListOptions", "", [st.FieldError("FieldValueForbidden", "sendInitialEvents",
                                                                     st._OMIT, detail)], "meta.k8s.io")
        h = self.req.h
        app = self.app
        self.req.status = 200
        self.req.headers_sent = True
        h.start_stream(200, [*app._common_headers(), ("Content-Type", "application/json")])

        def send(type_, obj):  # one JSON line: a chunk over HTTP/1.1, a DATA frame over h2
            line = (json.dumps({"type": type_, "object": obj}, separators=(",", ":")) + "\n").encode()
            h.stream_write(line)
            self.req.response_bytes += len(line)

        def bookmark(rv, initial_end=False):
            md = {"resourceVersion": str(rv), "creationTimestamp": None}
            if initial_end:
                md["annotations"] = {"k8s.io/initial-events-end": "true"}
            send("BOOKMARK", {"kind": self.kind, "apiVersion": self.api_version, "metadata": md})

        def error(e):
            send("ERROR", e.status())

        start = time.monotonic()
        deadline = start + timeout
        app._count_watch(+1)
        try:
            store = self.store
            initial = []
            with store.cond:
                if rv_param in ("", "0") or send_initial:
                    my_rv = store.rv
                    if self.skey != "pods":
                        items, _ = store.list(self.skey, None)
                        initial = [o for o in items if match(o)]
                        initial.sort(key=lambda o: int(o["metadata"]["resourceVersion"]))
                    pending_err = None
                else:
                    want = int(rv_param)
                    pending_err = None
                    if want > store.rv:
                        store.cond.wait_for(lambda: store.rv >= want or app._stop.is_set(),
                                            timeout=min(3.0, timeout))
                        if want > store.rv:
                            e = st.timeout_error(f"Too large resource version: {want}, current: {store.rv}", 1)
                            e.details["causes"] = [{"reason": "ResourceVersionTooLarge",
                                                    "message": "Too large resource version"}]
                            pending_err = e
                    if pending_err is None and store.events_since(want) is None:
                        pending_err = st.expired(f"too old resource version: {want} ({store.compacted_rv})")
                    my_rv = want
            if pending_err is not None:
                error(pending_err)
                raise _EndWatch()
            for o in initial:
                send("ADDED", self.out(o))
            if send_initial:
                bookmark(my_rv, initial_end=True)
            interval = max(0.05, app.bookmark_interval)
            next_bm = start + interval
            pre_deadline_bm = deadline - 1.0 if timeout > 2 else None
            while not app._stop.is_set() and not h.client_gone():
                now = time.monotonic()
                if now >= deadline:
                    break
                wake = min(deadline, next_bm if bookmarks else deadline,
                           pre_deadline_bm if (bookmarks and pre_deadline_bm and pre_deadline_bm > now) else deadline)
                with store.cond:
                    store.cond.wait_for(lambda: store.rv > my_rv or app._stop.is_set(),
                                        timeout=max(0.0, min(wake - now, 1.0)))
                    evs = store.events_since(my_rv)
                    latest = store.rv
                if evs is None:
                    error(st.expired(f"too old resource version: {my_rv} ({store.compacted_rv})"))
                    break
                for e in evs:
                    if e.resource != self.skey:
                        continue
                    now_m, was_m = match(e.obj), match(e.prev) if e.prev is not None else False
                    if e.type == "ADDED" and now_m:
                        send("ADDED", self.out(e.obj))
                    elif e.type == "DELETED" and was_m:
                        send("DELETED", self.out(e.obj))
                    elif e.type == "MODIFIED":
                        if now_m and was_m:
                            send("MODIFIED", self.out(e.obj))
                        elif now_m:
                            send("ADDED", self.out(e.obj))
                        elif was_m:
                            gone = copy.deepcopy(e.prev)
                            gone["metadata"]["resourceVersion"] = str(e.rv)
                            send("DELETED", self.out(gone))
                my_rv = latest
                now = time.monotonic()
                if bookmarks:
                    if now >= next_bm:
                        bookmark(my_rv)
                        next_bm = now + max(0.05, app.bookmark_interval)
                    elif pre_deadline_bm and now >= pre_deadline_bm:
                        bookmark(my_rv)
                        pre_deadline_bm = None
        except _EndWatch:
            pass
        finally:
            app._count_watch(-1)
        try:
            h.end_stream()  # the last chunk / END_STREAM
        except OSError:
            pass
        raise StreamDone()


class _EndWatch(Exception):
    pass


def _refused_before_the_body(fault):
    """Whether the request may yet be refused before its body is read: no fault (authentication
    may still refuse it) or a fault status that Go's server gives before reading (EARLY_STATUSES)."""
    return fault is None or (fault.action == "status" and fault.status in EARLY_STATUSES)


def _canon(o):
    return json.dumps(o, sort_keys=True)
