"""Lint of the Grafana dashboard: structure, data source, PromQL syntax, and a round trip
through the grafana-foundation-sdk models so a misspelt field fails."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard
from prometheus_client.metrics import MetricWrapperBase

from shared.bus import metrics
from tests.integration.deploy.monitoring import (
    NOT_EXPORTED_YET,
    check_parses,
    dashboard,
    dashboard_expressions,
    metric_name,
    rule_expressions,
    selectors,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def test_data_source_is_a_template_variable() -> None:
    (variable,) = [v for v in dashboard()["templating"]["list"] if v["name"] == "datasource"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"


def test_every_panel_and_target_uses_the_data_source_variable() -> None:
    for panel in dashboard()["panels"]:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_panel_ids_are_unique_and_the_grid_is_valid() -> None:
    panels = dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert set(grid) == {"x", "y", "w", "h"} and all(isinstance(v, int) for v in grid.values()), panel["title"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0 and grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_expression_parses(tmp_path: Path) -> None:
    result = check_parses(dashboard_expressions(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


SERVICES_WITH_METRICS = ["fetcher", "processor", "qc", "certifier", "ingestor", "portal"]


def test_every_metric_read_is_exported_or_known_to_come() -> None:
    """A typo in a metric name fails here, without a running chain."""
    exported = {"up"} | set(NOT_EXPORTED_YET)
    modules = [metrics, *(importlib.import_module(f"services.{name}.metrics") for name in SERVICES_WITH_METRICS)]
    collectors = [v for module in modules for v in vars(module).values() if isinstance(v, MetricWrapperBase)]
    for collector in collectors:
        for family in collector.describe():
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "info": ["_info"]}
            exported |= {family.name + s for s in suffixes.get(family.type, [""])}
    recorded = {e.name for e in rule_expressions() if e.kind == "record"}
    for expression in dashboard_expressions() + rule_expressions():
        for selector in selectors(expression.promql):
            assert metric_name(selector) in exported | recorded, f"{expression.where}: unknown metric {selector}"


def test_round_trip_through_grafana_foundation_sdk_keeps_every_field() -> None:
    register_default_plugins()
    original = dashboard()
    decoded = Dashboard.from_json(original)
    round_tripped = json.loads(json.dumps(decoded.to_json(), default=lambda o: o.to_json()))
    lost = _lost_fields(original, round_tripped, "")
    assert not lost, "fields the Grafana schema does not know (misspelt?): " + ", ".join(lost)


def test_the_round_trip_catches_a_misspelt_field() -> None:
    register_default_plugins()
    broken = dashboard()
    broken["panels"][0]["targets"][0]["legendformat"] = broken["panels"][0]["targets"][0].pop("legendFormat")
    round_tripped = json.loads(json.dumps(Dashboard.from_json(broken).to_json(), default=lambda o: o.to_json()))
    assert _lost_fields(broken, round_tripped, "") == ["/panels[0]/targets[0]/legendformat"]


def _lost_fields(original: object, copy: object, path: str) -> list[str]:
    if isinstance(original, dict):
        if not isinstance(copy, dict):
            return [path]
        return [lost for key, value in original.items()
                for lost in ([f"{path}/{key}"] if key not in copy else _lost_fields(value, copy[key], f"{path}/{key}"))]
    if isinstance(original, list):
        if not isinstance(copy, list) or len(copy) != len(original):
            return [path]
        return [lost for i, (a, b) in enumerate(zip(original, copy)) for lost in _lost_fields(a, b, f"{path}[{i}]")]
    return [] if original == copy else [f"{path} ({original!r} became {copy!r})"]
