"""The Prometheus configuration and rules pass promtool: syntax, and the rule unit tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.integration.deploy.monitoring import (
    PROMETHEUS_CONFIG,
    RULE_TESTS,
    RULES,
    check_parses,
    rule_expressions,
    run_promtool,
)

SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]


def test_config_passes_promtool_check_config() -> None:
    result = run_promtool("check", "config", PROMETHEUS_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_promtool_check_rules() -> None:
    result = run_promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_their_unit_tests() -> None:
    result = run_promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test() -> None:
    tested = {t["alertname"] for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for t in case.get("alert_rule_test", [])}
    alerts = {e.name for e in rule_expressions() if e.kind == "alert"}
    assert alerts <= tested, f"alerts without a promtool test: {sorted(alerts - tested)}"


def test_a_broken_expression_fails_the_syntax_check(tmp_path: Path) -> None:
    from tests.integration.deploy.monitoring import Expression

    result = check_parses([Expression("bad", "panel", "sum by (service (rate(x[1m]))")], tmp_path)
    assert result.returncode != 0


def test_every_service_is_scraped_through_dns_discovery() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service in SERVICES:
        (discovery,) = jobs[service]["dns_sd_configs"]
        assert discovery == {"names": [service], "type": "A", "port": 9100, "refresh_interval": "15s"}
    assert jobs["kafka-exporter"]["static_configs"] == [{"targets": ["kafka-exporter:9308"]}]
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
