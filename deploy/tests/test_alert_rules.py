"""The alert rules in deploy/prometheus/alerts.yml are valid, unit-tested and watch metrics that exist (issue 12).

* `promtool check rules` accepts the file and `promtool test rules` passes every file in
  deploy/prometheus/tests/ (promtool comes with Debian's `prometheus` package; scripts/bootstrap.sh
  installs it; without it this module fails rather than skips, so the rules are never left untested);
* every alert has in those files at least one case where it fires and one where it stays quiet, so a rule
  added later without its tests fails here;
* every `academy_*` metric a rule reads is registered by the code (a renamed counter would otherwise leave
  its alert silent for ever), and every other metric is one of the documented outside sources
  (rabbitmq_prometheus, kube-state-metrics, Prometheus' own `up`);
* each rule carries what wakes an operator needs: severity, summary, description and a runbook.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))

# Metrics that come from outside the platform's code, by source (deploy/README.md, "Alerts and dashboards").
EXTERNAL_METRICS = {
    # Prometheus itself
    "up",
    # RabbitMQ's rabbitmq_prometheus plugin, /metrics/detailed families queue_coarse_metrics and
    # queue_consumer_count
    "rabbitmq_detailed_queue_messages_ready",
    "rabbitmq_detailed_queue_messages",
    "rabbitmq_detailed_queue_consumers",
    # kube-state-metrics (Kubernetes only)
    "kube_job_failed",
    "kube_job_status_start_time",
    "kube_cronjob_status_last_successful_time",
    "kube_cronjob_created",
}
_METRIC_DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
_PROMQL_KEYWORDS = {"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring"}


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed: `sudo apt-get install prometheus` (Debian's package ships "
            "/usr/bin/promtool; scripts/bootstrap.sh installs it). The alert rules' unit tests need it."
        )
    return path


def exposed_metric_names() -> set[str]:
    """Every series name the platform's code exposes: `Counter("x_total")` → x_total (and x_created),
    `Histogram("x")` → x_bucket, x_sum, x_count, `Gauge("x")` → x; read from libs/*/src and services/*/src."""
    names: set[str] = set()
    for source in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        for kind, name in _METRIC_DEFINITION.findall(source.read_text(encoding="utf-8")):
            if kind == "Counter":
                base = name.removesuffix("_total")
                names |= {f"{base}_total", f"{base}_created"}
            elif kind in {"Histogram", "Summary"}:
                names |= {name, f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            else:
                names.add(name)
    return names


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, labels, keywords or numbers)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    found = re.findall(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
    return {name for name in found if name not in _PROMQL_KEYWORDS}


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promql_metric_names_reads_selectors_only() -> None:
    expr = (
        'max by (vhost, queue) (rabbitmq_detailed_queue_messages{queue=~".+\\\\.dlq"} offset 15m) > 0 and on () '
        "(sum(increase(academy_bot_updates_total[1h])) or vector(0)) == 0 unless time() - up > 1e9"
    )
    assert promql_metric_names(expr) == {"rabbitmq_detailed_queue_messages", "academy_bot_updates_total", "up"}


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run([_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_unit_tests_pass() -> None:
    assert TESTS, "no promtool test files in deploy/prometheus/tests"
    result = subprocess.run(
        [_promtool(), "test", "rules", *map(str, TESTS)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TESTS), result.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in TESTS:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert document["rule_files"] == ["../alerts.yml"], path.name
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    alerts = {rule["alert"] for rule in _rules()}
    assert not alerts - firing, f"alerts never shown firing in deploy/prometheus/tests: {sorted(alerts - firing)}"
    assert not alerts - quiet, f"alerts never shown quiet in deploy/prometheus/tests: {sorted(alerts - quiet)}"
    assert not (firing | quiet) - alerts, f"tests of alerts that do not exist: {sorted((firing | quiet) - alerts)}"


def test_the_rules_read_metrics_that_exist() -> None:
    exposed = exposed_metric_names()
    for rule in _rules():
        for name in promql_metric_names(rule["expr"]):
            if name.startswith("academy_"):
                assert name in exposed, f"{rule['alert']}: no code registers {name}"
            else:
                assert name in EXTERNAL_METRICS, f"{rule['alert']}: {name} is neither the platform's nor a known source"


def test_every_rule_tells_the_operator_what_to_do() -> None:
    rules = _rules()
    assert len({rule["alert"] for rule in rules}) == len(rules), "an alert name is used twice"
    for rule in rules:
        assert re.fullmatch(r"Academy[A-Z][A-Za-z0-9]+", rule["alert"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        for annotation in ("summary", "description", "runbook"):
            assert rule["annotations"].get(annotation, "").strip(), f"{rule['alert']}: no {annotation}"
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]


@pytest.mark.parametrize("config", ["prometheus.yml", "kubernetes-scrape.yml"])
def test_the_broker_is_scraped_for_the_queue_metrics_the_rules_read(config: str) -> None:
    """rabbitmq_detailed_queue_messages(_ready) come with the family queue_coarse_metrics and
    rabbitmq_detailed_queue_consumers with queue_consumer_count (rabbitmq_prometheus' /metrics/detailed)."""
    jobs = yaml.safe_load((PROMETHEUS / config).read_text(encoding="utf-8"))["scrape_configs"]
    [broker] = [job for job in jobs if job["job_name"] == "rabbitmq"]
    assert broker["metrics_path"] == "/metrics/detailed"
    assert {"queue_coarse_metrics", "queue_consumer_count"} <= set(broker["params"]["family"])
    assert all(target.endswith(":15692") for group in broker["static_configs"] for target in group["targets"])
    expressions = " ".join(rule["expr"] for rule in _rules())
    assert 'up{job="rabbitmq"}' in expressions
