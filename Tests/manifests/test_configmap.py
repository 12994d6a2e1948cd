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
