"""Paths and loaders for the root daemonset.yaml and rbac.yaml and the Dockerfile (imported by conftest and the tests)."""
import os
import subprocess
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCKERFILE = os.path.join(REPO, "Dockerfile")
sys.path.insert(0, os.path.join(REPO, "scripts"))


def load_docs(name):
    with open(os.path.join(REPO, name)) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def find(docs, kind, name=None):
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def check_config(binary, path, environment=None):
    """`autotaint check-config PATH` in a clean environment plus `environment` (AUTOTAINT_*
    variables override the file, so none may leak in from the test's own)."""
    return subprocess.run([binary, "check-config", path], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", **(environment or {})})
