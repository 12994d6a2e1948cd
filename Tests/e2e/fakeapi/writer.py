"""A concurrent foreign writer: another controller that keeps adding and removing its own taints on
a node, through the same HTTPS PATCH path an agent uses (GET, rebuild the full list, strategic-merge
PATCH with metadata.resourceVersion, re-GET and retry on 409). It also notices when one of its
taints vanished without it removing it, i.e. when somebody else erased a foreign taint."""
import http.client
import json
import ssl
import threading


class ForeignWriter:
    def __init__(self, app, node, rate, prefix, max_taints, effect):
        self.app = app
        self.node = node
        self.period = 1.0 / max(0.01, float(rate))
        self.prefix = prefix
        self.max_taints = max(1, int(max_taints))
        self.effect = effect
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self.counter = 0
        self.owned = []  # keys this writer believes are on the node, oldest first
        self.stats_ = {"writes": 0, "conflicts": 0, "errors": 0, "lost": [], "gets": 0}

    def start(self):
        self._thread = threading.Thread(target=self._run, name="fakeapi-foreign-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        return self.stats()

    def stats(self):
        with self._lock:
            s = dict(self.stats_)
            s["lost"] = list(s["lost"])
            s["owned"] = list(self.owned)
            return s

    def expected_taints(self):
        with self._lock:
            return [{"key": k, "value": "x", "effect": self.effect} for k in self.owned]

    def _conn(self):
        ctx = ssl.create_default_context(cafile=self.app.ca_path)
        return http.client.HTTPSConnection("127.0.0.1", self.app.port, context=ctx, timeout=5)

    def _req(self, conn, method, path, body=None, ctype=None):
        headers = {"Authorization": f"Bearer {self.app._internal_token}", "Accept": "application/json",
                   "User-Agent": "fakeapi-foreign-writer"}
        if ctype:
            headers["Content-Type"] = ctype
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)

    def _run(self):
        conn = None
        while not self._stop.wait(self.period):
            try:
                if conn is None:
                    conn = self._conn()
                self._tick(conn)
            except (OSError, http.client.HTTPException, ValueError):
                with self._lock:
                    self.stats_["errors"] += 1
                try:
                    if conn:
                        conn.close()
                except OSError:
                    pass
                conn = None
        if conn:
            conn.close()

    def _tick(self, conn):
        path = f"/api/v1/nodes/{self.node}"
        for _ in range(5):
            code, node = self._req(conn, "GET", path)
            with self._lock:
                self.stats_["gets"] += 1
            if code != 200:
                with self._lock:
                    self.stats_["errors"] += 1
                return
            taints = (node.get("spec") or {}).get("taints") or []
            present = {t.get("key") for t in taints if t.get("effect") == self.effect}
            with self._lock:
                for k in list(self.owned):
                    if k not in present:
                        self.stats_["lost"].append(k)
                        self.owned.remove(k)
                owned = list(self.owned)
            if len(owned) >= self.max_taints:
                drop = owned[0]
                new = [t for t in taints if not (t.get("key") == drop and t.get("effect") == self.effect)]
                after = owned[1:]
            else:
                with self._lock:
                    self.counter += 1
                    n = self.counter
                add = f"{self.prefix}-{n}"
                new = list(taints) + [{"key": add, "value": "x", "effect": self.effect}]
                after = owned + [add]
            body = {"metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                    "spec": {"taints": new}}
            code, _ = self._req(conn, "PATCH", path, body, "application/strategic-merge-patch+json")
            if code == 200:
                with self._lock:
                    self.owned = after
                    self.stats_["writes"] += 1
                return
            if code == 409:
                with self._lock:
                    self.stats_["conflicts"] += 1
                continue
            with self._lock:
                self.stats_["errors"] += 1
            return
