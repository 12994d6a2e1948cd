"""Shared loading of deploy/*.yaml, the Dockerfile and the ConfigMap's config.yaml.

Run from anywhere: `python3 -m pytest -q -p no:cacheprovider Tests/manifests`
(dependencies: scripts/install-manifest-test-deps.sh).
"""
import os
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")
DOCKERFILE = os.path.join(REPO, "Dockerfile")
sys.path.insert(0, os.path.join(REPO, "scripts"))


def load_docs(name):
    with open(os.path.join(DEPLOY, name)) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def find(docs, kind, name=None):
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


@pytest.fixture(scope="session")
def daemonset_docs():
    return load_docs("daemonset.yaml")


@pytest.fixture(scope="session")
def rbac_docs():
    return load_docs("rbac.yaml")


@pytest.fixture(scope="session")
def daemonset(daemonset_docs):
    return find(daemonset_docs, "DaemonSet", "autotaint")


@pytest.fixture(scope="session")
def pod_spec(daemonset):
    return daemonset["spec"]["template"]["spec"]


@pytest.fixture(scope="session")
def container(pod_spec):
    containers = pod_spec["containers"]
    assert [c["name"] for c in containers] == ["autotaint"]
    return containers[0]


@pytest.fixture(scope="session")
def config_text(daemonset_docs):
    return find(daemonset_docs, "ConfigMap", "autotaint")["data"]["config.yaml"]


@pytest.fixture(scope="session")
def agent_config(config_text):
    return yaml.safe_load(config_text)


@pytest.fixture(scope="session")
def own_taint_keys(agent_config):
    """Taint keys of every signal in the ConfigMap, enabled or not (memory can be switched on)."""
    return sorted(signal["taint"]["key"] for signal in agent_config["signals"].values())


@pytest.fixture(scope="session")
def own_condition_types(agent_config):
    return sorted(signal["condition"] for signal in agent_config["signals"].values())


@pytest.fixture(scope="session")
def dockerfile_text():
    with open(DOCKERFILE) as handle:
        return handle.read()
