"""Grafana's dashboards (deploy/grafana/dashboards) load as provisioned and show metrics that exist (issue 12).

* each file is a dashboard Grafana's file provider accepts: JSON with a unique uid (≤ 40 characters) and
  title, panels with unique ids on the 24-column grid, every panel and query on the provisioned
  Prometheus datasource (by uid);
* every metric a query reads is registered by the code — the names and label names are read from the
  `Counter`/`Gauge`/`Histogram` definitions in libs/*/src and services/*/src — so a renamed counter or
  label breaks this test instead of leaving a panel empty for ever;
* every query parses as PromQL (`promtool check rules` on the queries as recording rules, Grafana's
  variables replaced by sample values; promtool comes with Debian's `prometheus` package);
* the business dashboard shows the counters issue 12 names: registrations, enrolments, completions,
  payments by provider and status, revenue by currency, wallet top-ups, broadcasts.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# Labels Prometheus' scrape configurations put on every series (deploy/prometheus/*.yml).
TARGET_LABELS = {"job", "instance", "app", "component", "pod", "namespace"}
_KINDS = {"Counter", "Gauge", "Histogram", "Summary"}
_PROMQL_KEYWORDS = {"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring"}


def registered_metrics() -> dict[str, set[str]]:
    """Series name → label names, for every metric the platform's code defines (prometheus_client's
    naming: a Counter `x` or `x_total` is exposed as x_total; a Histogram `x` as x_bucket (with `le`),
    x_sum and x_count)."""
    metrics: dict[str, set[str]] = {}
    for source in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _KINDS):
                continue
            if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                continue
            name = node.args[0].value
            labels_node = node.args[2] if len(node.args) > 2 else None
            for keyword in node.keywords:
                if keyword.arg == "labelnames":
                    labels_node = keyword.value
            labels = (
                {e.value for e in labels_node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if isinstance(labels_node, (ast.List, ast.Tuple))
                else set()
            )
            if node.func.id == "Counter":
                base = name.removesuffix("_total")
                metrics[f"{base}_total"] = labels
            elif node.func.id in {"Histogram", "Summary"}:
                metrics[f"{name}_bucket"] = labels | {"le"}
                metrics[f"{name}_sum"] = metrics[f"{name}_count"] = labels
            else:
                metrics[name] = labels
    return metrics


# Outside the code: Prometheus' own `up`, and RabbitMQ's rabbitmq_prometheus plugin (job `rabbitmq`,
# /metrics/detailed with the families queue_coarse_metrics and queue_consumer_count).
_QUEUE = {"vhost", "queue"}
EXTERNAL = {
    "up": set[str](),
    "rabbitmq_detailed_queue_messages_ready": _QUEUE,
    "rabbitmq_detailed_queue_messages": _QUEUE,
    "rabbitmq_detailed_queue_consumers": _QUEUE,
}


def promql_selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched) of each selector in a PromQL expression."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    found = []
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()(\s*\{[^}]*\})?", expr):
        name, matchers = match.group(1), match.group(2) or ""
        if name in _PROMQL_KEYWORDS:
            continue
        found.append((name, set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))))
    return found


def promql_grouping_labels(expr: str) -> set[str]:
    """Label names of `by (...)` clauses."""
    return {
        label.strip()
        for clause in re.findall(r"\bby\s*\(([^)]*)\)", expr)
        for label in clause.split(",")
        if label.strip()
    }


def _datasource_uid() -> str:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text("utf-8"))
    [datasource] = provisioned["datasources"]
    return str(datasource["uid"])


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # a collapsed row keeps its panels inside
    return panels


def _expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in _panels(dashboard) for target in panel.get("targets", [])]


def _load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_promql_selectors_reads_names_and_matchers() -> None:
    expr = (
        'sum by (currency) (increase(academy_billing_revenue_total{currency!="", method=~"$m"}[$__range])) '
        "/ max(academy_broadcast_recipients_pending) or vector(0)"
    )
    assert promql_selectors(expr) == [
        ("academy_billing_revenue_total", {"currency", "method"}),
        ("academy_broadcast_recipients_pending", set()),
    ]
    assert promql_grouping_labels(expr) == {"currency"}


def test_the_provider_loads_the_folder_compose_mounts() -> None:
    [provider] = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "beauty-academy.yml").read_text("utf-8"))[
        "providers"
    ]
    assert provider["type"] == "file"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert len(DASHBOARDS) >= 2


def test_dashboards_are_valid_for_provisioning() -> None:
    uid = _datasource_uid()
    uids, titles = set(), set()
    for path in DASHBOARDS:
        dashboard = _load(path)
        assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"]), path.name
        assert dashboard["title"].strip(), path.name
        assert dashboard["uid"] not in uids, f"{path.name}: uid reused"
        assert dashboard["title"] not in titles, f"{path.name}: title reused"
        uids.add(dashboard["uid"])
        titles.add(dashboard["title"])
        assert isinstance(dashboard["schemaVersion"], int)
        panels = _panels(dashboard)
        assert len({p["id"] for p in panels}) == len(panels), f"{path.name}: panel ids repeat"
        for panel in panels:
            grid = panel["gridPos"]
            assert 0 <= grid["x"] < grid["x"] + grid["w"] <= 24, (path.name, panel["title"])
            assert panel["title"].strip()
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, (path.name, panel["title"])
            targets = panel["targets"]
            assert targets, (path.name, panel["title"])
            assert len({t["refId"] for t in targets}) == len(targets), (path.name, panel["title"])
            for target in targets:
                assert target["datasource"] == {"type": "prometheus", "uid": uid}, (path.name, panel["title"])
                assert target["expr"].count("(") == target["expr"].count(")"), (path.name, target["expr"])


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_reads_metrics_and_labels_the_code_registers(path: Path) -> None:
    known = {**registered_metrics(), **EXTERNAL}
    for expr in _expressions(_load(path)):
        selected = promql_selectors(expr)
        assert selected, expr
        labels: set[str] = set(TARGET_LABELS)
        for name, matched in selected:
            assert name in known, f"{path.name}: no code registers {name} ({expr})"
            assert matched <= known[name] | TARGET_LABELS, f"{path.name}: {name} has no label {matched - known[name]}"
            labels |= known[name]
        assert promql_grouping_labels(expr) <= labels, f"{path.name}: grouping by an unknown label in {expr}"


def test_the_business_dashboard_shows_the_business_counters() -> None:
    dashboard = _load(GRAFANA / "dashboards" / "beauty-academy-business.json")
    expressions = _expressions(dashboard)
    selected = {name for expr in expressions for name, _ in promql_selectors(expr)}
    assert {
        "academy_users_registrations_total",
        "academy_progress_enrolments_total",
        "academy_progress_lessons_completed_total",
        "academy_progress_courses_completed_total",
        "academy_billing_payments_total",
        "academy_billing_revenue_total",
        "academy_billing_wallet_coins_total",
        "academy_broadcast_deliveries_total",
        "academy_broadcast_recipients_pending",
    } <= selected
    joined = " ".join(expressions)
    assert "sum by (currency) (increase(academy_billing_revenue_total" in joined
    assert "sum by (method, outcome) (increase(academy_billing_payments_total" in joined
    assert 'academy_billing_payments_total{purpose="top_up", outcome="succeeded"}' in joined
    assert "sum by (outcome) (rate(academy_broadcast_deliveries_total" in joined


def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: `sudo apt-get install prometheus` (scripts/bootstrap.sh installs it)")
    rules = []
    for path in DASHBOARDS:
        for index, expr in enumerate(_expressions(_load(path))):
            sample = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
            sample = re.sub(r"\$\w+", "x", sample)
            rules.append({"record": f"dashboard:{path.stem.replace('-', '_')}:{index}", "expr": sample})
    file = tmp_path / "dashboards.rules.yml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
