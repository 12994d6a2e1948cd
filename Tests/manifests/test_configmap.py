"""The ConfigMap's config.yaml is the documented defaults, commented, and the agent accepts it."""
from manifest_files import check_config


def test_agent_accepts_it_and_it_is_the_defaults(binary, config_text, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(config_text)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    checked, defaults = check_config(binary, str(config)), check_config(binary, str(empty))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert defaults.returncode == 0, defaults.stderr
    assert checked.stdout == defaults.stdout, "the ConfigMap must spell out the product defaults"


def test_a_typo_in_it_would_be_rejected(binary, config_text, tmp_path):
    """check-config is strict, so the test above really compares what the agent parsed."""
    config = tmp_path / "config.yaml"
    config.write_text(config_text.replace("highPercent: 80", "highPrecent: 80"))
    result = check_config(binary, str(config))
    assert result.returncode == 1
    assert "highPrecent" in result.stdout + result.stderr


def test_text_is_commented_and_uses_the_product_interval(config_text, agent_config):
    assert agent_config["sampling"]["interval"] == "5s"
    assert agent_config["nodeName"] == "", "the node name comes from NODE_NAME (downward API)"
    assert agent_config["dryRun"] is False
    comments = [line for line in config_text.splitlines() if line.lstrip().startswith("#") or " # " in line]
    assert len(comments) >= 20


# product.md's config file, fleet section: the guard on at 30 %.
FLEET_DEFAULTS = {"maxTaintedPercent": 30, "maxTainted": 0, "overflowEffect": "PreferNoSchedule",
                  "leaseDuration": "2m", "daemonSet": "autotaint"}


def test_fleet_guard_is_on_with_the_product_defaults(agent_config):
    assert agent_config["fleet"] == FLEET_DEFAULTS
    assert list(agent_config["fleet"]) == list(FLEET_DEFAULTS), "in product.md's order"
    keys = list(agent_config)
    assert keys.index("heartbeat") + 1 == keys.index("fleet") == keys.index("shutdown") - 1


def test_fleet_section_is_commented(config_text):
    lines = config_text.splitlines()
    start = lines.index("fleet:                       # the fleet guard: how much of the fleet may be hard-tainted at once")
    section = lines[start + 1:start + 1 + len(FLEET_DEFAULTS)]
    assert [line.split(":")[0].strip() for line in section] == list(FLEET_DEFAULTS)
    assert all(" # " in line for line in section)
