"""What the deployment's monitoring reads: every PromQL expression of the Grafana dashboard
and the Prometheus rules, taken from the files themselves, and the metrics they select."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "deploy/grafana/dashboards/phoenix.json"
PROMETHEUS_CONFIG = REPO / "deploy/prometheus/prometheus.yml"
RULES = REPO / "deploy/prometheus/rules/phoenix.rules.yml"
RULE_TESTS = REPO / "deploy/prometheus/tests/phoenix.rules.test.yml"

# Grafana replaces these before sending a query; tests put a fixed duration in their place.
GRAFANA_VARIABLES = {"$__range": "5m", "$__rate_interval": "1m", "$__interval": "15s"}

# Metrics the dashboard and rules already use but that no service exports yet, with the issue
# that adds them. Nothing else may be missing from a live chain.
NOT_EXPORTED_YET = {
    "phoenix_campaign_nights": "issue 8 (campaigns: nights by state)",
    "kafka_consumergroup_lag": "kafka-exporter, which runs only in docker-compose (issue 8 deployment)",
}


@dataclass(frozen=True)
class Expression:
    where: str  # "panel 3 'title' target A", "alert PhoenixDeadLetters", ...
    kind: str  # "panel", "record" or "alert"
    promql: str
    name: str = ""  # the recording rule's or alert's name


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_expressions() -> list[Expression]:
    found = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            found.append(Expression(f"panel {panel['id']} {panel['title']!r} target {target['refId']}", "panel",
                                    substitute(target["expr"])))
    return found


def rule_expressions() -> list[Expression]:
    found = []
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            kind, name = ("record", rule["record"]) if "record" in rule else ("alert", rule["alert"])
            found.append(Expression(f"{kind} {name}", kind, rule["expr"].strip(), name))
    return found


def substitute(promql: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        promql = promql.replace(variable, value)
    return promql


_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
             "and", "or", "unless", "atan2", "inf", "nan"}
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_TOKEN = re.compile(r'\s+|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|\[[^\]]*\]|\{[^}]*\}|[A-Za-z_:][A-Za-z0-9_:]*|\d[\w.]*|.')


def selectors(promql: str) -> list[str]:
    """Vector selectors (`name{matchers}`) of an expression, without range or offset."""
    tokens = [t for t in _TOKEN.findall(promql) if not t.isspace()]
    found: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in _LABEL_LISTS and following == "(":
            i = tokens.index(")", i) + 1  # skip the label list
            continue
        # An identifier followed by `(`, `by` or `without` is a function or an aggregation.
        if re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", token) and token not in _KEYWORDS and following not in ("(", "by", "without"):
            found.append(token + following if following.startswith("{") else token)
        i += 1
    return found


def metric_name(selector: str) -> str:
    return selector.split("{", 1)[0]


def promtool() -> str:
    """promtool from Debian's `prometheus` package; a missing one fails the test, never skips it."""
    path = shutil.which("promtool")
    if path is None:
        raise AssertionError(
            "promtool is not installed: the deployment tests need Debian's `prometheus` package "
            "(apt-get install -y prometheus), which brings prometheus and promtool"
        )
    return path


def prometheus_binary() -> str:
    path = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if path is None:
        raise AssertionError("prometheus is not installed: apt-get install -y prometheus")
    return path


def run_promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd)


def check_parses(expressions: list[Expression], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """PromQL syntax check: each expression as a recording rule, through `promtool check rules`."""
    rules = {"groups": [{"name": "syntax", "rules": [
        {"record": f"syntax:check_{n}", "expr": e.promql} for n, e in enumerate(expressions)]}]}
    path = tmp_path / "syntax.rules.yml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return run_promtool("check", "rules", path)
