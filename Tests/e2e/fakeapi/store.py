"""In-memory object store with etcd-like semantics: one global, monotonically increasing
resourceVersion; every write bumps it; a bounded history of watch events."""
import collections
import copy
import datetime
import secrets
import threading
import uuid


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def generate_name(prefix):
    return prefix + "".join(secrets.choice(NAME_CHARS) for _ in range(5))


class Event:
    __slots__ = ("rv", "type", "resource", "obj", "prev")

    def __init__(self, rv, type_, resource, obj, prev):
        self.rv, self.type, self.resource, self.obj, self.prev = rv, type_, resource, obj, prev


class Store:
    def __init__(self, history_size=1000, start_rv=100):
        self.cond = threading.Condition()
        self.rv = start_rv
        self.objects = {}  # (resource, namespace, name) -> obj
        self.history = collections.deque()
        self.history_size = history_size
        self.compacted_rv = start_rv  # events with rv <= this are gone from history
        self.hooks = []  # fn(type_, resource, obj, prev), called under the lock at every commit

    # -- reads (callers get deep copies) --
    def get(self, resource, ns, name):
        with self.cond:
            o = self.objects.get((resource, ns, name))
            return copy.deepcopy(o) if o is not None else None

    def list(self, resource, ns=None):
        with self.cond:
            items = [copy.deepcopy(o) for (r, n, _), o in self.objects.items()
                     if r == resource and (ns is None or ns == n)]
            return items, self.rv

    def current_rv(self):
        with self.cond:
            return self.rv

    # -- writes --
    def _record(self, type_, resource, obj, prev):
        self.history.append(Event(self.rv, type_, resource, copy.deepcopy(obj), prev))
        for hook in self.hooks:
            hook(type_, resource, obj, prev)
        while len(self.history) > self.history_size:
            old = self.history.popleft()
            self.compacted_rv = old.rv
        self.cond.notify_all()

    def create(self, resource, ns, obj):
        with self.cond:
            md = obj["metadata"]
            key = (resource, ns, md["name"])
            if key in self.objects:
                return None
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            md.setdefault("uid", str(uuid.uuid4()))
            md.setdefault("creationTimestamp", now_rfc3339())
            self.objects[key] = copy.deepcopy(obj)
            self._record("ADDED", resource, obj, None)
            return copy.deepcopy(obj)

    def replace(self, resource, ns, name, obj, expect_rv=None):
        """Store obj (bumping the resourceVersion). expect_rv: compare-and-swap on the stored rv."""
        with self.cond:
            key = (resource, ns, name)
            prev = self.objects.get(key)
            if prev is None:
                return None, "notfound"
            if expect_rv is not None and prev["metadata"]["resourceVersion"] != expect_rv:
                return None, "conflict"
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.objects[key] = obj
            self._record("MODIFIED", resource, obj, copy.deepcopy(prev))
            return copy.deepcopy(obj), None

    def delete(self, resource, ns, name):
        with self.cond:
            prev = self.objects.pop((resource, ns, name), None)
            if prev is None:
                return None
            self.rv += 1
            gone = copy.deepcopy(prev)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self._record("DELETED", resource, gone, copy.deepcopy(prev))
            return gone

    def compact(self):
        """Forget the whole watch history (as an etcd compaction + watch-cache roll-over would):
        a watch from any older resourceVersion then gets 410 Gone."""
        with self.cond:
            self.history.clear()
            self.compacted_rv = self.rv
            self.cond.notify_all()

    def events_since(self, rv):
        """Events with rv > given; None if rv is older than the retained history."""
        if rv < self.compacted_rv:
            return None
        return [e for e in self.history if e.rv > rv]
