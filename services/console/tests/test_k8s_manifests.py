"""The console's Kubernetes manifests (deploy/k8s/base/services/console): valid for Kubernetes, restricted,
probed, spread across nodes, and wired to what the console reads."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

HERE = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "base" / "services" / "console"
K8S_VERSION = "1.30.0"


def _objects(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((HERE / name).read_text(encoding="utf-8")) if doc]


def _deployment() -> dict:
    (deployment,) = [o for o in _objects("console.yaml") if o["kind"] == "Deployment"]
    return deployment


@pytest.mark.parametrize("name", ["console.yaml", "ingress.yaml"])
def test_every_object_is_valid_for_kubernetes(name):
    objects = _objects(name)
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "beauty-academy"


def test_the_kustomization_lists_the_manifests_but_not_the_ingress():
    kustomization = yaml.safe_load((HERE / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["namespace"] == "beauty-academy"
    assert kustomization["resources"] == ["console.yaml"]


def test_the_pod_is_restricted_probed_sized_and_spread():
    deployment = _deployment()
    template = deployment["spec"]["template"]
    spec = template["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["securityContext"]["runAsNonRoot"] is True
    (spread,) = spec["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["image"].rpartition(":")[2] not in {"", "latest"}
    assert container["command"] == ["academy-console"]
    assert container["args"] == ["api"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][kind].keys()
    assert template["metadata"]["labels"]["beauty-academy.io/api-client"] == "true"


def test_the_console_reads_its_key_and_accounts_from_its_own_secret_and_every_service_url():
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    env = {var["name"]: var for var in container["env"]}
    # The accounts with hashes are the Secret's CONSOLE_OPERATOR_ACCOUNTS: academy-config's OPERATOR_ACCOUNTS
    # (roles only, for the services) is a ConfigMap key, and no key name is in both.
    for name, key in (
        ("OPERATOR_SIGNING_KEY", "OPERATOR_SIGNING_KEY"),
        ("OPERATOR_ACCOUNTS", "CONSOLE_OPERATOR_ACCOUNTS"),
    ):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "academy-console", "key": key}
    from academy_console.settings import SERVICES

    for service in SERVICES:
        assert env[f"{service.upper().replace('-', '_')}_URL"]["value"] == f"http://{service}"


def test_the_service_and_the_budget_select_the_console_pods():
    objects = {o["kind"]: o for o in _objects("console.yaml") if o["kind"] in {"Service", "PodDisruptionBudget"}}
    labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    assert objects["Service"]["spec"]["selector"].items() <= labels.items()
    assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
