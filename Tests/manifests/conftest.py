"""Fixtures over daemonset.yaml, rbac.yaml, the Dockerfile and the ConfigMap's config.yaml.

Run: `python3 -m pytest -q -p no:cacheprovider Tests/manifests`
(dependencies: scripts/install-manifest-test-deps.sh; AUTOTAINT_BIN: the release binary).
"""
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from manifest_files import DOCKERFILE, REPO, find, load_docs  # noqa: E402


@pytest.fixture(scope="session")
def binary():
    """The release binary: $AUTOTAINT_BIN, else .build/release/autotaint (skipped without one)."""
    path = os.environ.get("AUTOTAINT_BIN") or os.path.join(REPO, ".build", "release", "autotaint")
    if not os.path.exists(path):
        if os.environ.get("AUTOTAINT_BIN"):
            pytest.fail(f"AUTOTAINT_BIN={path} does not exist")
        pytest.skip("no release binary (make release)")
    return path


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
