"""deploy/integrations/descheduler-policy.yaml: the shape of the descheduler's own example
policies (descheduler/v1alpha2: profiles of pluginConfig and plugins by extension point, as
pkg/api/v1alpha2/types.go declares them) and every taint key of ours excluded;
docs/other-controllers.md shows the same policy."""
import os
import re

import yaml

from manifest_files import REPO

POLICY_PATH = os.path.join(REPO, "deploy", "integrations", "descheduler-policy.yaml")
# descheduler/v1alpha2's fields (DeschedulerPolicy, DeschedulerProfile, Plugins, PluginSet)
# and RemovePodsViolatingNodeTaints' arguments (its README's parameter table).
POLICY_FIELDS = {"apiVersion", "kind", "profiles", "nodeSelector", "maxNoOfPodsToEvictPerNode",
                 "maxNoOfPodsToEvictPerNamespace", "maxNoOfPodsToEvictTotal", "metricsCollector",
                 "metricsProviders", "evictionFailureEventNotification", "gracePeriodSeconds"}
PROFILE_FIELDS = {"name", "pluginConfig", "plugins"}
EXTENSION_POINTS = {"presort", "sort", "deschedule", "balance", "filter", "preevictionfilter"}
TAINTS_PLUGIN_ARGS = {"excludedTaints", "includedTaints", "includePreferNoSchedule", "namespaces", "labelSelector"}


def load_policy():
    with open(POLICY_PATH) as handle:
        return yaml.safe_load(handle)


def test_the_policy_has_the_descheduler_v1alpha2_shape():
    policy = load_policy()
    assert policy["apiVersion"] == "descheduler/v1alpha2" and policy["kind"] == "DeschedulerPolicy"
    assert set(policy) <= POLICY_FIELDS
    for profile in policy["profiles"]:
        assert set(profile) == PROFILE_FIELDS and isinstance(profile["name"], str)
        assert set(profile["plugins"]) <= EXTENSION_POINTS
        for plugin_set in profile["plugins"].values():
            assert set(plugin_set) <= {"enabled", "disabled"}
            assert all(isinstance(name, str) for names in plugin_set.values() for name in names)
        configured = {entry["name"] for entry in profile["pluginConfig"]}
        enabled = {name for plugin_set in profile["plugins"].values() for name in plugin_set.get("enabled", [])}
        assert configured <= enabled, "a plugin configured but not enabled does nothing"
    # RemovePodsViolatingNodeTaints is a deschedule plugin (it evicts pods one node at a time).
    assert "RemovePodsViolatingNodeTaints" in policy["profiles"][0]["plugins"]["deschedule"]["enabled"]


def test_every_one_of_our_taint_keys_is_excluded(own_taint_keys):
    [entry] = [e for e in load_policy()["profiles"][0]["pluginConfig"] if e["name"] == "RemovePodsViolatingNodeTaints"]
    assert set(entry["args"]) <= TAINTS_PLUGIN_ARGS
    # An entry "key" excludes the key whatever its value; "key=value" only that value.
    assert sorted(entry["args"]["excludedTaints"]) == own_taint_keys
    assert not entry["args"].get("includePreferNoSchedule")


def test_the_docs_show_this_policy():
    with open(os.path.join(REPO, "docs", "other-controllers.md")) as handle:
        page = handle.read()
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", page, re.S)
              if "DeschedulerPolicy" in block]
    assert blocks == [load_policy()]
