"""pytest fixtures for end-to-end tests against the fake Kubernetes API server (fakeapi/).

`fake_api` starts one server in-process (HTTPS on 127.0.0.1, random port, temp state dir, nodes
node-1 and node-2, HTTP/2 and HTTP/1.1 by ALPN) and stops it afterwards; `make_fake_api(**kw)`
builds more with other options.

A test marked `http1` runs twice: `[h2]` as every test does, and `[http1.1]` with every fake it
starts offering HTTP/1.1 alone (in-process ones, and `python3 -m fakeapi` ones through
$FAKEAPI_ALPN), so that the agent speaks HTTP/1.1 to it.
"""
import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeapi import FakeAPIServer  # noqa: E402
from fakeapi.server import ALPN, UNSET  # noqa: E402

PROTOCOLS = {"h2": ALPN, "http1.1": ("http/1.1",)}  # a run of a test marked http1 -> the fake's ALPN

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


class HTTPResult:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"HTTPResult({self.status}, {self.body[:300]!r})"


class FakeAPI:
    """Handle on a running fake API server."""

    def __init__(self, server):
        self.server = server

    # -- where it is --
    @property
    def url(self):
        return self.server.url

    @property
    def port(self):
        return self.server.port

    @property
    def kubeconfig(self):
        return self.server.kubeconfig

    @property
    def kubeconfig_tokenfile(self):
        return self.server.kubeconfig_tokenfile

    @property
    def token(self):
        return self.server.token

    @property
    def token_file(self):
        return self.server.token_file

    @property
    def ca(self):
        return self.server.ca_path

    @property
    def state_dir(self):
        return self.server.state_dir

    @property
    def admin_url(self):
        return self.server.admin_url

    # -- state --
    def node(self, name):
        return self.server.node(name)

    def update_node(self, name, fn):
        return self.server.update_node(name, fn)

    def add_node(self, name):
        return self.server.add_node(name)

    def ensure_node(self, name):
        """Add Node `name` unless it exists; returns (node, created)."""
        return self.server.ensure_node(name)

    def nodes(self):
        """Every Node as stored, by name."""
        return self.server.nodes()

    def taint_history(self):
        """[{time, seq, node, resourceVersion, taints, type}]: seq 0 = each Node's taints at start
        (or at the last reset), then every committed change of a Node's spec.taints in order."""
        return self.server.taint_history()

    def reset_taint_history(self):
        self.server.reset_taint_history()

    def lease_history(self):
        """[{time, seq, namespace, name, type, holder, previousHolder, labels, resourceVersion}]: every
        change of a Lease's holder or labels (not kube-node-lease's), renewals left out."""
        return self.server.lease_history()

    def add_namespace(self, name):
        return self.server.add_namespace(name)

    def set_daemonset(self, name="autotaint", desired=UNSET, namespace="default", reset=False, **fields):
        """Create DaemonSet NAMESPACE/NAME if missing and set its status counts, generation,
        maxUnavailable or updateStrategy (FakeAPIServer.set_daemonset: each kept until set again,
        None = back to the default; desired=None: desiredNumberScheduled follows the Nodes)."""
        return self.server.set_daemonset(namespace, name, desired, reset=reset, **fields)

    def delete_daemonset(self, name="autotaint", namespace="default", propagation="Background"):
        return self.server.delete_daemonset(namespace, name, propagation)

    def schedule_pod(self, node, daemonset="autotaint", namespace="default"):
        """The DaemonSet pod made for `node` now, with its generation labels."""
        return self.server.schedule_pod(namespace, daemonset, node)

    def daemonset(self, name="autotaint", namespace="default"):
        return self.server.daemonset(namespace, name)

    def lease(self, name, namespace="default"):
        return self.server.store.get("leases", namespace, name)

    def leases(self, namespace="default"):
        items, _ = self.server.store.list("leases", namespace)
        return sorted(items, key=lambda o: o["metadata"]["name"])

    def delete_node(self, name):
        return self.server.delete_node(name)

    def events(self, namespace=None):
        return self.server.events(namespace)

    def requests(self, method=None, path=None, include_internal=False):
        out = self.server.requests(include_internal=include_internal)
        if method:
            out = [r for r in out if r["method"] == method]
        if path:
            out = [r for r in out if r["path"] == path]
        return out

    def clear_requests(self):
        self.server.clear_requests()

    def compact(self):
        self.server.compact()

    def set_bookmark_interval(self, seconds):
        self.server.set_bookmark_interval(seconds)

    def set_early_answer(self, on=True):
        """Over h2, answer a request refused before its body is read (401, an injected 401/403/
        409/422/429) on its HEADERS frame, then RST_STREAM NO_ERROR, as Go's server does."""
        self.server.set_early_answer(on)

    @property
    def early_answer(self):
        return self.server.early_answer

    # -- faults --
    def fault(self, method="*", path=".*", count=1, action="status", status=500, retry_after=None,
              body=None, seconds=0.0, then="respond", message=None, user=None):
        """count=None: every matching request. status=403 without body/message answers as an RBAC
        denial of `user` (default system:serviceaccount:autotaint:autotaint) for that verb/resource."""
        return self.server.add_fault(method=method, path=path, count=count, action=action, status=status,
                                     retry_after=retry_after, body=body, seconds=seconds, then=then,
                                     message=message, user=user)

    def faults(self):
        return self.server.faults()

    def clear_faults(self):
        self.server.clear_faults()

    def down(self, seconds, mode="refuse"):
        self.server.down(seconds, mode)

    def up(self):
        self.server.up()

    def rotate_token(self, keep_old=False):
        return self.server.rotate_token(keep_old)

    def set_tokens(self, tokens):
        self.server.set_tokens(tokens)

    def start_foreign_writer(self, node="node-1", rate=5.0, prefix="foreign.example.com/writer",
                             max_taints=3, effect="NoSchedule"):
        return self.server.start_foreign_writer(node, rate, prefix, max_taints, effect)

    def stop_foreign_writer(self):
        return self.server.stop_foreign_writer()

    # -- clients --
    def kubectl_run(self, *args, timeout=30, kubeconfig=None):
        env = dict(os.environ, KUBECONFIG=kubeconfig or self.kubeconfig, HOME=self.state_dir)
        return subprocess.run([KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig,
                               "--cache-dir", os.path.join(self.state_dir, "kubectl-cache"),
                               "--request-timeout", "20s", *args],
                              capture_output=True, text=True, timeout=timeout, env=env)

    def kubectl(self, *args, timeout=30):
        """Run kubectl against the fake; returns stdout, raises AssertionError with stderr on failure."""
        r = self.kubectl_run(*args, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r.stdout

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca)

    def http(self, method, path, body=None, content_type=None, token=None, timeout=10, headers=None):
        """One HTTPS request with the current token (token="" sends none). Returns HTTPResult;
        never raises for HTTP error codes."""
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            data = data.encode() if isinstance(data, str) else data
        req = urllib.request.Request(self.url + path, data=data, method=method)
        tok = self.token if token is None else token
        if tok:
            req.add_header("Authorization", f"Bearer {tok}")
        if content_type:
            req.add_header("Content-Type", content_type)
        req.add_header("Accept", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(), timeout=timeout) as r:
                return HTTPResult(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return HTTPResult(e.code, e.headers, e.read())


def pytest_configure(config):
    config.addinivalue_line("markers", "http1: run the test a second time with the fake API server offering "
                                       "HTTP/1.1 alone (ids [h2] and [http1.1])")


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("http1"):
        metafunc.parametrize("fake_protocol", list(PROTOCOLS), indirect=True)


@pytest.fixture(autouse=True)
def fake_protocol(request, monkeypatch):
    """"h2" (every test) or "http1.1" (the second run of a test marked http1): the protocols the
    fakes this test starts offer, through $FAKEAPI_ALPN, which `python3 -m fakeapi` and `_make`
    read."""
    name = getattr(request, "param", "h2")
    if PROTOCOLS[name] != ALPN:
        monkeypatch.setenv("FAKEAPI_ALPN", ",".join(PROTOCOLS[name]))
    return name


def _make(tmp_path_factory, **kw):
    state = tmp_path_factory.mktemp("fakeapi")
    kw.setdefault("nodes", ["node-1", "node-2"])
    kw.setdefault("admin_port", 0)
    if os.environ.get("FAKEAPI_ALPN"):
        kw.setdefault("alpn", os.environ["FAKEAPI_ALPN"].split(","))
    srv = FakeAPIServer(str(state), **kw).start()
    return FakeAPI(srv)


@pytest.fixture
def fake_api(tmp_path_factory):
    api = _make(tmp_path_factory)
    try:
        yield api
    finally:
        api.server.stop()


@pytest.fixture
def make_fake_api(tmp_path_factory):
    made = []

    def make(**kw):
        api = _make(tmp_path_factory, **kw)
        made.append(api)
        return api
    try:
        yield make
    finally:
        for a in made:
            a.server.stop()
