"""Deployment artefacts, checked offline in a few seconds.

* Kubernetes: the kustomize base and overlays are rendered by a small renderer (below) that implements
  exactly the kustomize features the manifests use and refuses anything else; every object is
  validated against the Kubernetes 1.30 OpenAPI schemas (strict: unknown fields fail) and checked
  against the platform's invariants. Where `kubectl` or `kustomize` is installed, the renderer's
  output is also compared with the real kustomize.
* docker-compose.yml, the Dockerfile, Prometheus/Grafana/OpenTelemetry configuration.
* The backup and restore scripts, run against stub clients (pg_dump, aws/mc...) that keep the
  "bucket" in a temporary directory; deploy/README.md describes the test against real servers.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BACKUP = DEPLOY / "backup"
K8S_VERSION = "1.30.0"
NAMESPACE = "beauty-academy"
DATABASE = "beauty_academy"
SERVICES = ("users", "catalog", "progress", "gamification", "billing", "gateway-bot")
VARIANTS = ("base", "overlays/staging", "overlays/production")
OVERLAYS = ("overlays/staging", "overlays/production")
# Standard ports of the host's own PostgreSQL, Redis, RabbitMQ (+UI), MariaDB, Mosquitto, NATS.
FORBIDDEN_HOST_PORTS = {5432, 6379, 5672, 15672, 3306, 1883, 4222}
METRICS = (
    "academy_http_requests_total",
    "academy_http_request_duration_seconds",
    "academy_events_published_total",
    "academy_events_consumed_total",
    "academy_outbox_oldest_unpublished_age_seconds",
    "academy_dead_letters",
)

Obj = dict[str, Any]


def schema_of(service: str) -> str:
    return service.replace("-", "_")


# ================================================================== kustomize, the subset we use

KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "resources", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass", "IngressClass"}
# patchMergeKey of the lists the patches touch; any other list is replaced, as in a strategic merge.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":  # containerPort in a container, port in a Service
        return "containerPort" if all(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def strategic_merge(base: Any, patch: Any) -> Any:
    """A strategic merge patch: maps merge, keyed lists merge by key, other values are replaced."""
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(base)
    for field, value in patch.items():
        if field.startswith("$"):
            raise NotImplementedError(f"directive {field} inside a patch")
        key = _merge_key(field, value) if isinstance(value, list) else None
        if value is None:
            merged.pop(field, None)
        elif isinstance(value, dict) and isinstance(merged.get(field), dict):
            merged[field] = strategic_merge(merged[field], value)
        elif key and isinstance(merged.get(field), list):
            items = merged[field]
            for item in value:
                match = next((i for i, old in enumerate(items) if old.get(key) == item.get(key)), None)
                if match is None:
                    items.append(copy.deepcopy(item))
                else:
                    items[match] = strategic_merge(items[match], item)
        else:
            merged[field] = copy.deepcopy(value)
    return merged


def _label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for raw in re.split(r",(?![^()]*\))", selector):
        term = raw.strip()
        if not term:
            continue
        if m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", term):
            values = {v.strip() for v in m.group(3).split(",")}
            if (labels.get(m.group(1)) in values) != (m.group(2) == "in"):
                return False
        elif m := re.fullmatch(r"([\w./-]+)\s*(!=|==|=)\s*([\w./-]*)", term):
            if (labels.get(m.group(1)) == m.group(3)) != (m.group(2) != "!="):
                return False
        elif m := re.fullmatch(r"(!?)([\w./-]+)", term):
            if (m.group(2) in labels) == bool(m.group(1)):
                return False
        else:
            raise NotImplementedError(f"label selector term {term!r}")
    return True


def _selected(obj: Obj, target: dict[str, str]) -> bool:
    unsupported = set(target) - {"kind", "name", "namespace", "labelSelector", "group", "version"}
    if unsupported:
        raise NotImplementedError(f"patch target fields {unsupported}")
    group, _, version = obj["apiVersion"].rpartition("/")
    meta = obj["metadata"]
    return (
        target.get("kind", obj["kind"]) == obj["kind"]
        and target.get("group", group) == group
        and target.get("version", version) == version
        and re.fullmatch(target.get("name", ".*"), meta.get("name", "")) is not None
        and re.fullmatch(target.get("namespace", ".*"), meta.get("namespace", "")) is not None
        and _label_selector_matches(target.get("labelSelector", ""), meta.get("labels") or {})
    )


def _apply_patches(objects: list[Obj], entries: list[dict[str, Any]], directory: Path) -> list[Obj]:
    for entry in entries:
        if "path" in entry:
            path = directory / entry["path"]
            assert _inside(path, directory), f"{path}: kustomize only loads patches below {directory}"
            text = path.read_text(encoding="utf-8")
        else:
            text = entry["patch"]
        docs = [d for d in yaml.safe_load_all(text) if d]
        if any(not isinstance(d, dict) for d in docs):
            raise NotImplementedError(f"JSON 6902 patch in {directory}: extend the renderer first")
        target = entry.get("target")
        for patch in docs:
            if patch.get("$patch") not in {None, "delete"}:
                raise NotImplementedError(f"$patch: {patch['$patch']}")
            if target:
                chosen = [o for o in objects if _selected(o, target)]
            else:  # matched by kind and name; kustomize then applies the patch's own identity
                chosen = [
                    o
                    for o in objects
                    if (o["kind"], o["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"])
                ]
            assert chosen, f"patch {entry} in {directory} matches no resource"
            chosen_ids = {id(o) for o in chosen}
            if patch.get("$patch") == "delete":
                objects = [o for o in objects if id(o) not in chosen_ids]
                continue
            # With a target, the patch's name and namespace are replaced by each chosen resource's.
            body = {k: v for k, v in patch.items() if k not in {"apiVersion", "kind"}}
            body["metadata"] = {
                k: v for k, v in (patch.get("metadata") or {}).items() if k not in {"name", "namespace"}
            }
            objects = [strategic_merge(o, body) if id(o) in chosen_ids else o for o in objects]
    return objects


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    image, _, digest = image.partition("@")
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, None, digest or None
    return name, tag, digest or None


def pod_specs(obj: Obj) -> Iterator[Obj]:
    if obj["kind"] in POD_TEMPLATE_KINDS:
        yield obj["spec"]["template"]["spec"]
    elif obj["kind"] == "CronJob":
        yield obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    elif obj["kind"] == "Pod":
        yield obj["spec"]


def containers(obj: Obj) -> Iterator[Obj]:
    for spec in pod_specs(obj):
        yield from spec.get("initContainers", [])
        yield from spec["containers"]


def _apply_images(objects: list[Obj], images: list[dict[str, str]]) -> None:
    for obj in objects:
        for container in containers(obj):
            name, tag, digest = _split_image(container["image"])
            for rule in images:
                if rule["name"] == name:
                    name, tag = rule.get("newName", name), rule.get("newTag", tag)
                    digest = rule.get("digest", digest)
                    container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _render(directory: Path) -> list[Obj]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    assert spec["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert spec["kind"] == "Kustomization"
    unsupported = set(spec) - KUSTOMIZATION_FIELDS
    if unsupported:
        raise NotImplementedError(f"{directory}: kustomize fields {sorted(unsupported)}: extend the renderer")
    objects: list[Obj] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects += _render(path.resolve())
        else:
            assert _inside(path, directory), f"{path}: kustomize only loads files below {directory}"
            objects += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    # The order of kustomize's built-in transformers: patches, namespace, labels, images.
    objects = _apply_patches(objects, spec.get("patches", []), directory)
    if namespace := spec.get("namespace"):
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    for rule in spec.get("labels", []):
        if rule.get("includeSelectors") or rule.get("includeTemplates"):
            raise NotImplementedError("labels with includeSelectors/includeTemplates")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(rule["pairs"])
    _apply_images(objects, spec.get("images", []))
    ids = [resource_id(o) for o in objects]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"{directory}: duplicate resources {duplicates}"
    return objects


def resource_id(obj: Obj) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return obj["apiVersion"].rpartition("/")[0], obj["kind"], meta.get("namespace", ""), meta["name"]


@functools.cache
def _rendered_json(variant: str) -> str:
    return json.dumps(_render(K8S / variant))


def render(variant: str) -> list[Obj]:
    """The objects `kustomize build deploy/k8s/<variant>` produces (a fresh copy for every caller)."""
    objects: list[Obj] = json.loads(_rendered_json(variant))
    return objects


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def component(obj: Obj) -> str | None:
    return (obj["metadata"].get("labels") or {}).get("app.kubernetes.io/component")


def resolved_env(objects: list[Obj], container: Obj) -> dict[str, str]:
    """The container's environment as the kubelet builds it (envFrom, then env with $(VAR) expansion).

    A value from a Secret reads `<secret:name/key>`: the overlays carry no Secrets.
    """
    config_maps = {o["metadata"]["name"]: o.get("data", {}) for o in of_kind(objects, "ConfigMap")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]])
        else:
            name = source["secretRef"]["name"]
            env.update({key: f"<secret:{name}/{key}>" for key in base_secret_keys()[name]})
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), var["value"])
        elif ref := var["valueFrom"].get("configMapKeyRef"):
            env[var["name"]] = config_maps[ref["name"]][ref["key"]]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = f"<secret:{ref['name']}/{ref['key']}>"
    return env


@functools.cache
def base_secret_keys() -> dict[str, frozenset[str]]:
    return {o["metadata"]["name"]: frozenset(o["stringData"]) for o in of_kind(render("base"), "Secret")}


# ------------------------------------------------------------------ the renderer itself


def test_strategic_merge_follows_kubernetes_semantics() -> None:
    base = {
        "spec": {
            "replicas": 1,
            "containers": [{"name": "app", "image": "x:1", "args": ["a", "b"], "env": [{"name": "A", "value": "1"}]}],
        }
    }
    patch = {
        "spec": {
            "replicas": None,
            "containers": [{"name": "app", "args": ["c"], "env": [{"name": "B", "value": "2"}]}, {"name": "side"}],
        }
    }
    assert strategic_merge(base, patch) == {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "x:1",
                    "args": ["c"],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                },
                {"name": "side"},
            ]
        }
    }
    assert _label_selector_matches("a=1,b in (x, y),!c", {"a": "1", "b": "y"})
    assert not _label_selector_matches("a=1,b notin (x,y)", {"a": "1", "b": "y"})
    assert _split_image("registry:5000/a/b:1.2@sha256:ff") == ("registry:5000/a/b", "1.2", "sha256:ff")
    assert _split_image("registry:5000/a/b") == ("registry:5000/a/b", None, None)


@pytest.mark.parametrize("variant", VARIANTS)
def test_renderer_matches_real_kustomize(variant: str) -> None:
    """Where kustomize is installed, the renderer must agree with it object for object."""
    if kustomize := shutil.which("kustomize"):
        command = [kustomize, "build", str(K8S / variant)]
    elif kubectl := shutil.which("kubectl"):
        command = [kubectl, "kustomize", str(K8S / variant)]
    else:
        pytest.skip("neither kustomize nor kubectl is installed")
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"{' '.join(command)} failed: {getattr(exc, 'stderr', exc)}")
    real = {resource_id(d): d for d in yaml.safe_load_all(out) if d}
    ours = {resource_id(d): d for d in render(variant)}
    assert sorted(ours) == sorted(real)
    for rid, obj in ours.items():
        assert obj == real[rid], f"{rid} differs from kustomize's rendering"


# ================================================================== Kubernetes manifests


@functools.cache
def _validate(doc: str) -> None:
    kubernetes_validate.validate(json.loads(doc), K8S_VERSION, strict=True)


def validate(obj: Obj) -> None:
    try:
        _validate(json.dumps(obj, sort_keys=True))
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{obj['kind']}/{obj['metadata'].get('name')}: {exc}")


def test_the_schema_validation_is_strict() -> None:
    deployment = find(render("base"), "Deployment", "users-api")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_is_valid_for_kubernetes(variant: str) -> None:
    objects = render(variant)
    assert len(objects) > 50
    for obj in objects:
        validate(obj)


@pytest.mark.parametrize("variant", VARIANTS)
def test_everything_lives_in_the_namespace(variant: str) -> None:
    objects = render(variant)
    find(objects, "Namespace", NAMESPACE)
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE, resource_id(obj)
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == NAMESPACE, resource_id(obj)


def _quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match, value
    return float(match[1]) * units.get(match[2], 1)


def check_pod(obj: Obj, where: str) -> None:
    """Pod Security "restricted", a pinned image and cpu/memory requests <= limits for every container."""
    for spec in pod_specs(obj):
        pod_sc = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, where
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        assert not any("hostPath" in v for v in spec.get("volumes", [])), where
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            sc = container.get("securityContext", {})
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
            assert sc.get("runAsUser", pod_sc.get("runAsUser", 0)) != 0, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            _, tag, digest = _split_image(container["image"])
            assert digest or (tag and tag != "latest"), f"{where}: image {container['image']} is not pinned"
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request = resources.get("requests", {}).get(resource)
                limit = resources.get("limits", {}).get(resource)
                assert request, f"{where}: {resource} request"
                assert limit, f"{where}: {resource} limit"
                assert _quantity(request) <= _quantity(limit), f"{where}: {resource} request > limit"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_is_restricted_pinned_and_sized(variant: str) -> None:
    for obj in render(variant):
        check_pod(obj, f"{variant}: {obj['kind']}/{obj['metadata']['name']}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_deployment_has_probes(variant: str) -> None:
    deployments = of_kind(render(variant), "Deployment")
    # The six services' API and worker, and the operators' console (an API of its own, no worker).
    expected = {f"{s}-{p}" for s in SERVICES for p in ("api", "worker")} | {"console"}
    assert {d["metadata"]["name"] for d in deployments} == expected
    for deployment in deployments:
        template = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        annotations = template["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true"
        (container,) = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            assert get["port"] in ports, f"{deployment['metadata']['name']} {probe} port"
        if component(deployment) in ("api", "console"):
            assert ports == {"http": 8000}
            assert annotations["prometheus.io/port"] == "8000"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["args"] == ["api"]
        else:
            assert ports == {"metrics": 9100}
            assert annotations["prometheus.io/port"] == "9100"
            assert container["args"] == ["worker"]
            # The worker's own probes: the relay and the consumers, not just a metrics thread.
            assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_api_has_a_service_an_autoscaler_and_a_disruption_budget(variant: str) -> None:
    objects = render(variant)
    for service in SERVICES:
        api = find(objects, "Deployment", f"{service}-api")
        pod_labels = api["spec"]["template"]["metadata"]["labels"]
        assert "replicas" not in api["spec"], "the HorizontalPodAutoscaler owns the replica count"

        svc = find(objects, "Service", service)
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [("http", 80, "http")]

        metrics = find(objects, "Service", f"{service}-worker-metrics")
        worker = find(objects, "Deployment", f"{service}-worker")
        assert metrics["spec"]["selector"].items() <= worker["spec"]["template"]["metadata"]["labels"].items()

        hpa = find(objects, "HorizontalPodAutoscaler", f"{service}-api")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"{service}-api",
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]

        pdb = find(objects, "PodDisruptionBudget", f"{service}-api")
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        assert pdb["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_service_has_a_migration_job_and_its_own_database_role(variant: str) -> None:
    objects = render(variant)
    for service in SERVICES:
        schema = schema_of(service)
        job = find(objects, "Job", f"{service}-migrate")
        assert job["spec"]["ttlSecondsAfterFinished"] > 0
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        processes = [
            job,
            find(objects, "Deployment", f"{service}-api"),
            find(objects, "Deployment", f"{service}-worker"),
        ]
        for obj in processes:
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            assert container["command"] == [f"academy-{service}"]
            assert container["image"].rpartition(":")[0].endswith(f"beauty-academy/{service}")
            env = resolved_env(objects, container)
            assert env["DATABASE_URL"] == (
                f"postgresql+asyncpg://academy_{schema}:<secret:academy-db-passwords/DB_PASSWORD_{schema.upper()}>"
                f"@postgres:5432/{DATABASE}"
            )
            assert env["DB_SCHEMA"] == schema
            assert env["SERVICE_NAME"] == service
            assert env["HTTP_HOST"] == "0.0.0.0"
            assert env["HTTP_PORT"] == "8000"
            assert env["WORKER_METRICS_PORT"] == "9100"
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
            assert env["EVENTS_EXCHANGE"] == "academy.events"
            assert env["S3_BUCKET"] == "beauty-academy"
            assert {"SERVICE_PUBLIC_KEYS", "RABBITMQ_URL", "REDIS_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY"} <= env.keys()
            service_key = schema.upper() + "_SIGNING_KEY"
            assert env["SERVICE_SIGNING_KEY"] == f"<secret:academy-signing-keys/{service_key}>", "its own key only"
        (migrate,) = job["spec"]["template"]["spec"]["containers"]
        assert migrate["args"] == ["migrate", "upgrade", "head"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_reference_resolves(variant: str) -> None:
    """ConfigMaps exist with the keys used; Secrets are those (names, keys) that base/secrets.yaml documents."""
    objects = render(variant)
    config_maps = {o["metadata"]["name"]: o.get("data", {}) for o in of_kind(objects, "ConfigMap")}
    secrets = base_secret_keys()
    for obj in objects:
        for container in containers(obj):
            defined: set[str] = set()
            for source in container.get("envFrom", []):
                if ref := source.get("configMapRef"):
                    defined |= set(config_maps[ref["name"]])
                else:
                    defined |= secrets[source["secretRef"]["name"]]
            for var in container.get("env", []):
                for name in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", var.get("value", "")):
                    assert name in defined, f"{obj['metadata']['name']}: $({name}) is not defined before {var['name']}"
                if ref := var.get("valueFrom", {}).get("configMapKeyRef"):
                    assert ref["key"] in config_maps[ref["name"]]
                if ref := var.get("valueFrom", {}).get("secretKeyRef"):
                    assert ref["key"] in secrets[ref["name"]]
                defined.add(var["name"])
            name = obj["metadata"]["name"]
            assert not {"BOT_MODE", "TELEGRAM_WEBHOOK_SECRET"} & defined or name.startswith("gateway-bot")
            # The bot token: the gateway-bot, and billing (it refunds Stars); nobody else.
            assert "TELEGRAM_BOT_TOKEN" not in defined or name.startswith(("gateway-bot", "billing"))


def test_the_provisioning_job_creates_every_role() -> None:
    objects = render("base")
    job = find(objects, "Job", "academy-db-provision")
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert [*container["command"], *container["args"]] == ["academy-platform", "provision"]
    env = resolved_env(objects, container)
    admin = "academy-postgres-admin"
    assert (
        env["POSTGRES_ADMIN_URL"]
        == f"postgresql://<secret:{admin}/PGUSER>:<secret:{admin}/PGPASSWORD>@postgres:5432/postgres"
    )
    assert env["DATABASE_NAME"] == DATABASE
    assert env["ROLE_PREFIX"] == "academy_"
    assert {f"DB_PASSWORD_{schema_of(s).upper()}" for s in SERVICES} <= env.keys()


def test_placeholder_secrets_only_in_the_base() -> None:
    secrets = of_kind(render("base"), "Secret")
    assert {s["metadata"]["name"] for s in secrets} == {
        "academy-shared-secrets",
        "academy-signing-keys",
        "academy-personal-data-keys",
        "academy-db-passwords",
        "academy-bus-passwords",
        "academy-postgres-admin",
        "academy-rabbitmq-admin",
        "academy-backup-s3",
        "academy-backup-s3-restore",
        "academy-s3-admin",
        "gateway-bot-secrets",
        "billing-secrets",
        "academy-console",
    }
    for secret in secrets:
        assert "data" not in secret, "placeholders are readable stringData, never base64 data"
        for key, value in secret["stringData"].items():
            assert "CHANGE-ME" in value, f"{secret['metadata']['name']}/{key} does not look like a placeholder"
    for overlay in OVERLAYS:
        assert not of_kind(render(overlay), "Secret"), f"{overlay} must not apply placeholder Secrets"


def _is_daily(schedule: str) -> bool:
    fields = schedule.split()
    return len(fields) == 5 and all(f.isdigit() for f in fields[:2]) and fields[2:] == ["*", "*", "*"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_backup_runs_daily_with_thirty_days_retention(variant: str) -> None:
    objects = render(variant)
    cron = find(objects, "CronJob", "academy-db-backup")
    assert _is_daily(cron["spec"]["schedule"]), cron["spec"]["schedule"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/usr/local/bin/backup.sh"]
    assert "pg-backup" in container["image"]
    env = resolved_env(objects, container)
    assert env["RETENTION_DAYS"] == "30"
    assert env["PGDATABASE"] == DATABASE
    assert env["PGHOST"] == "postgres"
    assert env["S3_BUCKET"] == "beauty-academy-backups"
    assert env["S3_CLI"] in {"aws", "mc"}
    assert env["BACKUP_DIR"] in {m["mountPath"] for m in container["volumeMounts"]}


def _s3_key_secret(objects: list[Obj], container: Obj, variable: str = "S3_ACCESS_KEY") -> str:
    value = resolved_env(objects, container)[variable]
    match = re.fullmatch(r"<secret:([^/]+)/S3_(ACCESS|SECRET)_KEY>", value)
    assert match, f"{variable} = {value}"
    return match[1]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_backups_bucket_is_provisioned_with_its_lifecycle_and_keys(variant: str) -> None:
    """Issue 12: the administrator's key sets the 30-day lifecycle and creates the keys; the CronJob writes only."""
    objects = render(variant)
    job = find(objects, "Job", "academy-backup-s3-provision")
    assert component(job) == "provision", "re-run before the workloads by the procedure and deploy/upgrade.sh"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/usr/local/bin/provision-s3.sh"]
    env = resolved_env(objects, container)
    assert env["RETENTION_DAYS"] == "30"
    assert env["S3_BUCKET"] == "beauty-academy-backups"
    assert (
        _s3_key_secret(objects, container) == _s3_key_secret(objects, container, "S3_SECRET_KEY") == "academy-s3-admin"
    )
    assert env["BACKUP_WRITER_ACCESS_KEY"] == "<secret:academy-backup-s3/S3_ACCESS_KEY>"
    assert env["BACKUP_READER_ACCESS_KEY"] == "<secret:academy-backup-s3-restore/S3_ACCESS_KEY>"
    cron = find(objects, "CronJob", "academy-db-backup")
    (backup,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == backup["image"], "the script ships in the pg-backup image"
    assert _s3_key_secret(objects, backup) == "academy-backup-s3", "the CronJob writes with the write-only key"
    assert resolved_env(objects, backup).get("BACKUP_PRUNE", "false") == "false", "retention is the bucket's"
    # Only the provisioning Job reads the administrator's key.
    for obj in objects:
        for other in containers(obj):
            if obj is not job:
                refs = json.dumps(other.get("env", [])) + json.dumps(other.get("envFrom", []))
                assert "academy-s3-admin" not in refs, obj["metadata"]["name"]


def test_the_restore_job_is_a_template_outside_the_kustomization() -> None:
    path = K8S / "base" / "backup" / "restore-job.yaml"
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "backup/restore-job.yaml" not in kustomization["resources"], "an apply must never start a restore"
    (job,) = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    validate(job)
    assert job["metadata"]["generateName"].endswith("-")
    assert "name" not in job["metadata"]
    assert job["metadata"]["namespace"] == NAMESPACE
    assert job["spec"]["backoffLimit"] == 0
    check_pod(job, "restore-job.yaml")
    objects = render("base")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/usr/local/bin/restore.sh"]
    # The target is provisioned first: roles, per-database search_path and grants are not in a dump.
    (provision,) = job["spec"]["template"]["spec"]["initContainers"]
    assert [*provision["command"], *provision["args"]] == ["academy-platform", "provision"]
    assert resolved_env(objects, provision)["DATABASE_NAME"] == resolved_env(objects, container)["TARGET_DATABASE"]
    provision_job = find(objects, "Job", "academy-db-provision")
    assert provision["image"] == provision_job["spec"]["template"]["spec"]["containers"][0]["image"]
    cron = find(objects, "CronJob", "academy-db-backup")
    (backup,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == backup["image"]
    env = resolved_env(objects, container)
    assert {"DUMP_KEY", "TARGET_DATABASE", "BACKUP_DATABASE", "PGHOST", "PGUSER", "PGPASSWORD"} <= env.keys()
    assert env["TARGET_DATABASE"] != DATABASE, "the template restores next to the live database"
    assert _s3_key_secret(objects, container) == "academy-backup-s3-restore", "the restore reads with the reader's key"


def _policy(objects: list[Obj], name: str) -> Obj:
    spec: Obj = find(objects, "NetworkPolicy", name)["spec"]
    return spec


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_policies(variant: str) -> None:
    objects = render(variant)
    deny = _policy(objects, "default-deny-all")
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

    egress = _policy(objects, "allow-egress-dns-and-backing-services")
    allowed = {(p["protocol"], p["port"]) for rule in egress["egress"] for p in rule["ports"]}
    assert {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 5672), ("TCP", 6379), ("TCP", 9000)} <= allowed
    assert {("TCP", 4317), ("TCP", 4318)} <= allowed

    gateway_pods = [find(objects, "Deployment", f"gateway-bot-{p}") for p in ("api", "worker")]
    client = _policy(objects, "allow-api-clients-egress-to-apis")
    for pod in gateway_pods:
        assert client["podSelector"]["matchLabels"].items() <= pod["spec"]["template"]["metadata"]["labels"].items()
    apis = _policy(objects, "allow-apis-ingress-from-api-clients")
    assert apis["ingress"][0]["from"][0]["podSelector"] == client["podSelector"]

    webhook = _policy(objects, "allow-webhook-from-ingress-nginx")
    gateway_api = gateway_pods[0]["spec"]["template"]["metadata"]["labels"]
    assert webhook["podSelector"]["matchLabels"].items() <= gateway_api.items()
    assert webhook["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }

    scrape = _policy(objects, "allow-prometheus-scrape")
    assert {p["port"] for p in scrape["ingress"][0]["ports"]} == {8000, 9100}


# ------------------------------------------------------------------ payments (billing)

# Settings billing must be given explicitly in Kubernetes and compose (its others keep their defaults).
BILLING_PAYMENT_SETTINGS = {
    "YOOKASSA_API_URL",
    "YOOKASSA_SHOP_ID",
    "YOOKASSA_SECRET_KEY",
    "YOOKASSA_RETURN_URL",
    "YOOKASSA_VAT_CODE",
    "YOOKASSA_PENDING_TIMEOUT_S",
    "RECONCILIATION_INTERVAL_S",
    "MIN_TOP_UP_RUB",
    "MAX_TOP_UP_RUB",
    "STARS_TOP_UP_ENABLED",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "USERS_URL",
    "FORWARDED_ALLOW_IPS",
}
BILLING_SECRETS = {"YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "TELEGRAM_BOT_TOKEN"}


def yookassa_networks() -> list[str]:
    """YooKassa's published notification networks, as the official SDK (and billing's default) has them."""
    from yookassa.domain.common import SecurityHelper

    return [str(n) for n in SecurityHelper.YOOKASSA_NETWORKS]


def _setting_names(settings_class: type) -> set[str]:
    return {name.upper() for name in settings_class.model_fields}  # type: ignore[attr-defined]


def billing_setting_names() -> set[str]:
    from academy_billing.settings import BillingSettings

    return _setting_names(BillingSettings)


def _networks(values: list[str]) -> set[Any]:
    import ipaddress

    return {ipaddress.ip_network(v, strict=False) for v in values}


PERSONAL_DATA_KEYS = ("PERSONAL_DATA_KEYS", "PERSONAL_DATA_KEY_ID", "PHONE_LOOKUP_KEY")


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_users_holds_the_personal_data_keys(variant: str) -> None:
    """Issue 10: the users API, worker and migration Job (which encrypts stored rows) read the keys from
    their Secret; no other pod of the platform gets them."""
    objects = render(variant)
    for obj in objects:
        for container in containers(obj):
            env = resolved_env(objects, container)
            name = obj["metadata"]["name"]
            if name in {"users-api", "users-worker", "users-migrate"}:
                for key in PERSONAL_DATA_KEYS:
                    assert env[key] == f"<secret:academy-personal-data-keys/{key}>", (name, key)
            else:
                assert not set(PERSONAL_DATA_KEYS) & env.keys(), f"{name} must not hold the personal-data keys"


@pytest.mark.parametrize("variant", VARIANTS)
def test_billing_gets_every_payment_setting_and_its_secrets_from_secrets(variant: str) -> None:
    objects = render(variant)
    known = billing_setting_names()
    assert known >= BILLING_PAYMENT_SETTINGS, "deploy/tests names a setting billing does not have"
    gateway = resolved_env(objects, next(containers(find(objects, "Deployment", "gateway-bot-api"))))
    for name in ("billing-api", "billing-worker"):
        env = resolved_env(objects, next(containers(find(objects, "Deployment", name))))
        assert env.keys() >= BILLING_PAYMENT_SETTINGS, f"{name} misses {BILLING_PAYMENT_SETTINGS - env.keys()}"
        # Every variable billing gets is a setting it has (a typo would be silently ignored).
        # (DB_*, RABBITMQ_HOST/PORT and BUS_PASSWORD: the parts the kubelet assembles the URLs from.)
        parts = {"DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_NAME", "BUS_PASSWORD", "RABBITMQ_HOST", "RABBITMQ_PORT"}
        assert env.keys() - parts <= known, env.keys() - known
        assert env["YOOKASSA_SHOP_ID"] == "<secret:billing-secrets/YOOKASSA_SHOP_ID>"
        assert env["YOOKASSA_SECRET_KEY"] == "<secret:billing-secrets/YOOKASSA_SECRET_KEY>"
        # One bot: the gateway-bot's token and Bot API, so that billing refunds Stars as the bot that was paid.
        assert (
            env["TELEGRAM_BOT_TOKEN"]
            == gateway["TELEGRAM_BOT_TOKEN"]
            == "<secret:gateway-bot-secrets/TELEGRAM_BOT_TOKEN>"
        )
        assert env["TELEGRAM_API_URL"] == gateway["TELEGRAM_API_URL"]
        assert "TELEGRAM_WEBHOOK_SECRET" not in env, "billing takes the token only, not the whole gateway-bot secret"
        assert env["USERS_URL"] == "http://users"
        assert env["YOOKASSA_API_URL"] == "https://api.yookassa.ru/v3"
        # Left at billing's default: YooKassa's published networks, from the SDK.
        assert "YOOKASSA_TRUSTED_NETWORKS" not in env
        proxies = env["FORWARDED_ALLOW_IPS"].split(",")
        assert "*" not in proxies
        assert _networks(proxies).isdisjoint(_networks(yookassa_networks()))
    # The migration Job validates the same settings (production refuses the development defaults).
    migrate = resolved_env(objects, next(containers(find(objects, "Job", "billing-migrate"))))
    assert migrate.keys() >= BILLING_SECRETS
    users = find(objects, "Service", "users")
    assert users["spec"]["ports"][0]["port"] == 80, "USERS_URL has no port: the Service listens on 80"


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_value_in_a_config_map(variant: str) -> None:
    secret_keys = set().union(*base_secret_keys().values())
    for config_map in of_kind(render(variant), "ConfigMap"):
        data = config_map.get("data", {})
        assert not secret_keys & data.keys(), f"{config_map['metadata']['name']} holds {secret_keys & data.keys()}"
        for key, value in data.items():
            assert not re.search(r"(SECRET|TOKEN|PASSWORD)", key), f"{config_map['metadata']['name']}/{key}"
            assert "CHANGE-ME" not in value
            assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{30,}", value), "a Telegram bot token"


@pytest.mark.parametrize("variant", VARIANTS)
def test_yookassa_notifications_route_to_billing_with_the_sender_preserved(variant: str) -> None:
    objects = render(variant)
    ingress = find(objects, "Ingress", "billing-yookassa-webhook")
    spec = ingress["spec"]
    (rule,) = spec["rules"]
    assert rule["host"] in spec["tls"][0]["hosts"]
    assert spec["tls"][0]["secretName"]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/webhooks/yookassa", "Exact")
    assert path["backend"]["service"] == {"name": "billing", "port": {"name": "http"}}
    billing = find(objects, "Service", "billing")
    assert billing["spec"]["selector"] == {"app.kubernetes.io/name": "billing", "app.kubernetes.io/component": "api"}
    # No other Ingress reaches billing, and this one nothing else.
    for other in of_kind(objects, "Ingress"):
        if other is not ingress:
            backends = [p["backend"]["service"]["name"] for r in other["spec"]["rules"] for p in r["http"]["paths"]]
            assert "billing" not in backends
    # The edge admits YooKassa's published networks only.
    annotations = ingress["metadata"]["annotations"]
    allowed = annotations["nginx.ingress.kubernetes.io/whitelist-source-range"].split(",")
    assert _networks(allowed) == _networks(yookassa_networks())
    assert annotations["cert-manager.io/cluster-issuer"]
    # ingress-nginx may reach billing's API (the only entry besides its internal clients and Prometheus).
    webhook = _policy(objects, "allow-yookassa-webhook-from-ingress-nginx")
    api_labels = find(objects, "Deployment", "billing-api")["spec"]["template"]["metadata"]["labels"]
    assert webhook["podSelector"]["matchLabels"].items() <= api_labels.items()
    (source,) = webhook["ingress"][0]["from"]
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert webhook["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]


# Kustomizations applied on their own next to an overlay (the console, when it is there): their
# Deployments are held to the same scheduling rules.
EXTRA_KUSTOMIZATIONS = tuple(
    str(p.parent.relative_to(K8S)) for p in sorted((K8S / "base" / "services").glob("*/kustomization.yaml"))
)


def _pods_of_other_deployments(objects: list[Obj], deployment: Obj) -> list[dict[str, str]]:
    return [
        d["spec"]["template"]["metadata"]["labels"]
        for d in of_kind(objects, "Deployment")
        if d["metadata"]["name"] != deployment["metadata"]["name"]
    ]


def _disruptions_allowed(pdb: Obj, replicas: int) -> int:
    """How many of `replicas` ready pods an eviction may take (policy/v1: maxUnavailable or minAvailable)."""
    spec = pdb["spec"]
    if "maxUnavailable" in spec:
        value = spec["maxUnavailable"]
        return -(-replicas * int(value[:-1]) // 100) if isinstance(value, str) else int(value)
    value = spec["minAvailable"]
    minimum = -(-replicas * int(value[:-1]) // 100) if isinstance(value, str) else int(value)
    return replicas - minimum


@pytest.mark.parametrize("variant", VARIANTS + EXTRA_KUSTOMIZATIONS)
def test_every_deployment_spreads_its_replicas_over_nodes(variant: str) -> None:
    """Issue 12: a node's loss must not take every replica; the constraints select this Deployment's pods only."""
    objects = render(variant)
    deployments = of_kind(objects, "Deployment")
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        constraints = deployment["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
        keys = {c["topologyKey"] for c in constraints}
        assert "kubernetes.io/hostname" in keys, f"{variant}: {name} is not spread over nodes"
        for constraint in constraints:
            where = f"{variant}: {name} {constraint['topologyKey']}"
            assert _selects(constraint["labelSelector"], pod_labels), f"{where}: selects none of its own pods"
            for other in _pods_of_other_deployments(objects, deployment):
                assert not _selects(constraint["labelSelector"], other), f"{where}: counts another Deployment's pods"
            assert constraint["maxSkew"] == 1
            if constraint["topologyKey"] == "topology.kubernetes.io/zone":
                assert constraint["whenUnsatisfiable"] == "ScheduleAnyway", f"{where}: a one-zone cluster must schedule"
            if constraint["whenUnsatisfiable"] == "DoNotSchedule":
                assert constraint.get("nodeTaintsPolicy") == "Honor", f"{where}: a cordoned node would block pods"
        if name.endswith(("-api", "-worker")):
            assert "topology.kubernetes.io/zone" in keys, f"{variant}: {name} is not spread over zones"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_worker_has_a_disruption_budget_that_still_lets_a_node_drain(variant: str) -> None:
    """Issue 12: a drain evicts workers one at a time, and never blocks (one disruption always allowed)."""
    objects = render(variant)
    budgets = of_kind(objects, "PodDisruptionBudget")
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if _selects(b["spec"]["selector"], pod_labels)]
        if component(deployment) == "worker":
            assert [b["metadata"]["name"] for b in covering] == [name], f"{variant}: {name} needs its own budget"
        if not covering:
            continue
        (pdb,) = covering  # two budgets over one pod make the eviction API refuse every eviction
        for other in _pods_of_other_deployments(objects, deployment):
            assert not _selects(pdb["spec"]["selector"], other), f"{pdb['metadata']['name']} covers another's pods"
        if "replicas" in deployment["spec"]:
            replicas = deployment["spec"]["replicas"]
        else:
            replicas = find(objects, "HorizontalPodAutoscaler", name)["spec"]["minReplicas"]
        allowed = _disruptions_allowed(pdb, replicas)
        assert 1 <= allowed < max(replicas, 2), f"{variant}: {name} x{replicas} allows {allowed} disruption(s)"


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if (expression["operator"] == "In") != (value in expression["values"]):
            return False
    return True


@pytest.mark.parametrize("variant", VARIANTS)
def test_progress_api_reaches_users_for_the_transcripts_avatar(variant: str) -> None:
    objects = render(variant)
    labels = {
        name: find(objects, kind, name)["spec"]["template"]["metadata"]["labels"]
        for kind, name in [
            ("Deployment", "progress-api"),
            ("Deployment", "progress-worker"),
            ("Deployment", "users-api"),
        ]
    }
    assert find(objects, "ConfigMap", "progress-config")["data"]["USERS_URL"] == "http://users"
    egress = _policy(objects, "allow-progress-egress-to-users")
    assert _selects(egress["podSelector"], labels["progress-api"])
    assert not _selects(egress["podSelector"], labels["progress-worker"])
    assert _selects(egress["egress"][0]["to"][0]["podSelector"], labels["users-api"])
    assert egress["egress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    ingress = _policy(objects, "allow-users-ingress-from-progress")
    assert _selects(ingress["podSelector"], labels["users-api"])
    assert _selects(ingress["ingress"][0]["from"][0]["podSelector"], labels["progress-api"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_billing_reaches_users_and_the_payment_providers(variant: str) -> None:
    objects = render(variant)
    labels = {
        name: find(objects, kind, name)["spec"]["template"]["metadata"]["labels"]
        for kind, name in [
            ("Deployment", "billing-api"),
            ("Deployment", "billing-worker"),
            ("Job", "billing-migrate"),
            ("Deployment", "users-api"),
        ]
    }
    egress = _policy(objects, "allow-billing-egress-to-users")
    assert _selects(egress["podSelector"], labels["billing-api"])
    assert _selects(egress["egress"][0]["to"][0]["podSelector"], labels["users-api"])
    assert egress["egress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    ingress = _policy(objects, "allow-users-ingress-from-billing")
    assert _selects(ingress["podSelector"], labels["users-api"])
    assert _selects(ingress["ingress"][0]["from"][0]["podSelector"], labels["billing-api"])

    # YooKassa and api.telegram.org over HTTPS, from the API and from the worker's reconciliation job.
    providers = _policy(objects, "allow-billing-egress-to-payment-providers")
    assert _selects(providers["podSelector"], labels["billing-api"])
    assert _selects(providers["podSelector"], labels["billing-worker"])
    assert not _selects(providers["podSelector"], labels["billing-migrate"])
    (rule,) = providers["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
    assert rule["to"][0]["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert "10.0.0.0/8" in rule["to"][0]["ipBlock"]["except"]
    # The worker runs the reconciliation job: it has the YooKassa settings too (checked above) and a
    # single replica in staging is enough (a pass is idempotent); production's two are safe for the same reason.


@pytest.mark.parametrize("variant", ["base", "overlays/production"])
def test_the_webhook_ingress_uses_tls(variant: str) -> None:
    objects = render(variant)
    ingress = find(objects, "Ingress", "gateway-bot-webhook")["spec"]
    (rule,) = ingress["rules"]
    assert rule["host"] in ingress["tls"][0]["hosts"]
    assert ingress["tls"][0]["secretName"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/telegram/webhook"
    assert path["backend"]["service"] == {"name": "gateway-bot", "port": {"name": "http"}}
    config = find(objects, "ConfigMap", "gateway-bot-config")["data"]
    assert config["BOT_MODE"] == "webhook"
    assert config["TELEGRAM_WEBHOOK_URL"] == f"https://{rule['host']}/telegram/webhook"


def _requests(objects: list[Obj], name: str) -> tuple[float, float]:
    (container,) = find(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    requests = container["resources"]["requests"]
    return _quantity(requests["cpu"]), _quantity(requests["memory"])


def test_staging_runs_one_small_replica_and_polls() -> None:
    objects = render("overlays/staging")
    # The bot's webhook Ingress is gone; YooKassa's notifications still need theirs.
    assert [i["metadata"]["name"] for i in of_kind(objects, "Ingress")] == ["billing-yookassa-webhook"]
    assert find(objects, "ConfigMap", "gateway-bot-config")["data"]["BOT_MODE"] == "polling"
    for service in SERVICES:
        assert find(objects, "HorizontalPodAutoscaler", f"{service}-api")["spec"]["minReplicas"] == 1
        # The gateway-bot worker long-polls: Telegram allows one getUpdates consumer per token.
        assert find(objects, "Deployment", f"{service}-worker")["spec"]["replicas"] == 1


def test_production_is_redundant_bigger_and_uses_quorum_queues() -> None:
    production, staging = render("overlays/production"), render("overlays/staging")
    assert find(production, "ConfigMap", "academy-config")["data"]["AMQP_QUEUE_TYPE"] == "quorum"
    assert find(production, "ConfigMap", "academy-config")["data"]["ENVIRONMENT"] == "production"
    for service in SERVICES:
        assert find(production, "HorizontalPodAutoscaler", f"{service}-api")["spec"]["minReplicas"] >= 2
        assert find(production, "Deployment", f"{service}-worker")["spec"]["replicas"] >= 2
        for name in (f"{service}-api", f"{service}-worker"):
            big, small = _requests(production, name), _requests(staging, name)
            assert big[0] > small[0]
            assert big[1] > small[1]


@pytest.mark.parametrize("variant", OVERLAYS)
def test_overlays_pull_every_image_from_the_registry(variant: str) -> None:
    for obj in render(variant):
        for container in containers(obj):
            assert container["image"].startswith("registry.example.com/beauty-academy/"), container["image"]


# ================================================================== docker-compose


@functools.cache
def _compose_json() -> str:
    return json.dumps(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


def compose() -> dict[str, Any]:
    config: dict[str, Any] = json.loads(_compose_json())
    return config


def _host_ports(service: dict[str, Any]) -> list[int]:
    ports = []
    for entry in service.get("ports", []):
        assert isinstance(entry, str), "use the short syntax host_ip:host_port:container_port"
        parts = entry.split(":")
        assert len(parts) == 3, f"{entry}: host_ip:host_port:container_port"
        assert parts[0] == "127.0.0.1", f"{entry}: publish on 127.0.0.1 only"
        ports.append(int(parts[1]))
    return ports


def test_compose_runs_every_service_as_migrate_api_and_worker() -> None:
    services = compose()["services"]
    for service in SERVICES:
        migrate, api, worker = (services[f"{service}-{p}"] for p in ("migrate", "api", "worker"))
        assert migrate["command"] == ["migrate", "upgrade", "head"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["db-provision"]["condition"] == "service_completed_successfully"
        assert api["command"] == ["api"]
        assert worker["command"] == ["worker"]
        for process in (migrate, api, worker):
            assert process["build"]["args"]["SERVICE"] == service
            assert process["image"] == f"beauty-academy/{service}:${{IMAGE_TAG:-dev}}"
            assert process["read_only"] is True
        for process in (api, worker):
            assert process["depends_on"][f"{service}-migrate"]["condition"] == "service_completed_successfully"
            assert process["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
            assert process["healthcheck"]["test"][0] == "CMD"
        assert "http://127.0.0.1:8000/readyz" in api["healthcheck"]["test"][-1]
        assert service in api["networks"]["default"]["aliases"]
    provision = services["db-provision"]
    assert [*provision["entrypoint"], *provision["command"]] == ["academy-platform", "provision"]
    assert provision["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in SERVICES:
        assert f"DB_PASSWORD_{schema_of(service).upper()}" in provision["environment"]


def test_compose_dependencies_exist_and_are_waitable() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s healthcheck"
            elif wanted == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", f"{dependency} is not a one-shot"
            else:
                assert wanted == "service_started"
    for infrastructure in ("postgres", "rabbitmq", "redis", "minio", "prometheus"):
        assert "healthcheck" in services[infrastructure]


def test_compose_database_urls_use_each_services_role() -> None:
    services = compose()["services"]
    provision = services["db-provision"]["environment"]
    for service in SERVICES:
        schema = schema_of(service)
        for process in ("migrate", "api", "worker"):
            env = services[f"{service}-{process}"]["environment"]
            match = re.fullmatch(r"postgresql\+asyncpg://([a-z_]+):(.+)@postgres:5432/([a-z_]+)", env["DATABASE_URL"])
            assert match, env["DATABASE_URL"]
            assert match[1] == f"academy_{schema}"
            assert match[2] == provision[f"DB_PASSWORD_{schema.upper()}"], "the password the role was created with"
            assert match[3] == DATABASE
            assert env["DB_SCHEMA"] == schema
            assert env["SERVICE_NAME"] == service
            assert env["HTTP_HOST"] == "0.0.0.0"
            assert env["HTTP_PORT"] == "8000"
            assert env["WORKER_METRICS_PORT"] == "9100"
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def test_compose_gateway_bot_polls_with_the_token_from_the_environment() -> None:
    services = compose()["services"]
    for process in ("api", "worker"):
        env = services[f"gateway-bot-{process}"]["environment"]
        assert env["BOT_MODE"] == "polling"
        assert env["TELEGRAM_BOT_TOKEN"].startswith("${TELEGRAM_BOT_TOKEN")
        for service in SERVICES[:-1]:
            assert env[f"{schema_of(service).upper()}_URL"] == f"http://{service}:8000"


def test_compose_users_takes_the_personal_data_keys_from_the_environment() -> None:
    services = compose()["services"]
    for name, service in services.items():
        env = service.get("environment") or {}
        if name in {"users-migrate", "users-api", "users-worker"}:
            for key in PERSONAL_DATA_KEYS:
                assert env[key] == f"${{{key}:-}}", (name, key)  # empty: the development keys
        else:
            assert not set(PERSONAL_DATA_KEYS) & set(env), f"{name} must not hold the personal-data keys"


def test_compose_host_ports_do_not_collide() -> None:
    services = compose()["services"]
    published = [port for service in services.values() for port in _host_ports(service)]
    assert len(published) == len(set(published)), "a host port is published twice"
    assert not FORBIDDEN_HOST_PORTS & set(published)
    assert [_host_ports(services[f"{s}-api"])[0] for s in SERVICES] == [8101 + i for i in range(len(SERVICES))]
    # billing-api also publishes the port of the YooKassa emulator that runs in its network namespace.
    assert _host_ports(services["billing-api"])[1:] == [18181]
    assert all(len(_host_ports(services[f"{s}-api"])) == 1 for s in SERVICES if s != "billing")
    for infrastructure in ("redis",):
        assert not _host_ports(services[infrastructure])


def test_compose_images_are_pinned_and_mounts_exist() -> None:
    services = compose()["services"]
    for name, service in services.items():
        image = service["image"]
        _, tag, digest = _split_image(image)
        assert digest or (tag and tag != "latest"), f"{name}: {image}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        if build := service.get("build"):
            assert (ROOT / build["context"]).is_dir()
    assert services["postgres"]["image"] == "postgres:16"
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["redis"]["image"] == "redis:7"


def test_compose_backup_and_restore_use_the_scripts() -> None:
    services = compose()["services"]
    backup, restore = services["db-backup"], services["db-restore"]
    assert backup["profiles"] == ["backup"]
    assert backup["command"] == ["/usr/local/bin/backup.sh"]
    assert restore["command"] == ["/usr/local/bin/restore.sh"]
    assert backup["environment"]["RETENTION_DAYS"] == "30"
    assert restore["environment"]["TARGET_DATABASE"].startswith("${TARGET_DATABASE")
    assert "beauty-academy-backups" in services["minio-init"]["command"][0]
    # Issue 12: the bucket's lifecycle and the keys are provisioned first; the backup writes with the
    # write-only key, the restore reads with the reader's, and neither holds MinIO's root user.
    provision = services["db-backup-provision"]
    assert provision["command"] == ["/usr/local/bin/provision-s3.sh"]
    assert backup["depends_on"]["db-backup-provision"] == {"condition": "service_completed_successfully"}
    assert provision["environment"]["S3_ACCESS_KEY"].startswith("${MINIO_ROOT_USER")
    assert backup["environment"]["S3_ACCESS_KEY"] == provision["environment"]["BACKUP_WRITER_ACCESS_KEY"]
    assert restore["environment"]["S3_ACCESS_KEY"] == provision["environment"]["BACKUP_READER_ACCESS_KEY"]
    assert backup["environment"].get("BACKUP_PRUNE", "false") == "false"


def test_compose_billing_has_the_payment_settings_and_shares_the_bot_with_the_gateway() -> None:
    services = compose()["services"]
    known = billing_setting_names()
    gateway = services["gateway-bot-worker"]["environment"]
    for process in ("migrate", "api", "worker"):
        env = services[f"billing-{process}"]["environment"]
        assert env.keys() >= BILLING_PAYMENT_SETTINGS, BILLING_PAYMENT_SETTINGS - env.keys()
        assert env.keys() <= known, env.keys() - known
        assert env["USERS_URL"] == "http://users:8000"
        for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL"):
            assert env[name] == gateway[name], f"billing and the gateway-bot must use one bot ({name})"
        assert env["YOOKASSA_SECRET_KEY"].startswith("${YOOKASSA_SECRET_KEY:-")
        match = re.fullmatch(r"\$\{YOOKASSA_TRUSTED_NETWORKS:-(.+)\}", env["YOOKASSA_TRUSTED_NETWORKS"])
        assert match, env["YOOKASSA_TRUSTED_NETWORKS"]
        assert json.loads(match[1]) == yookassa_networks(), "compose's default is YooKassa's published networks"
        assert env["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-127.0.0.1}"


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_compose_env_example_lists_the_payment_settings() -> None:
    text = (DEPLOY / "compose.env.example").read_text(encoding="utf-8")
    for name in BILLING_PAYMENT_SETTINGS - {"USERS_URL"}:
        assert re.search(rf"^#? ?{name}=", text, re.MULTILINE), f"compose.env.example does not mention {name}"
    assert "/webhooks/yookassa" in text


def test_compose_emulators_profile_runs_without_credentials() -> None:
    services = compose()["services"]
    tg, yookassa = services["tg-emulator"], services["yookassa-emulator"]
    for emulator in (tg, yookassa):
        assert emulator["profiles"] == ["emulators"]
        assert emulator["build"]["dockerfile"] == "deploy/emulators/Dockerfile"
        assert emulator["image"] == "beauty-academy/emulators:${IMAGE_TAG:-dev}"
        assert emulator["read_only"] is True
        assert "/_emulator/health" in emulator["healthcheck"]["test"][-1]
    assert tg["command"][0] == "academy-tg-emulator"
    assert yookassa["command"][0] == "academy-yookassa-emulator"
    # Nothing outside the profile waits for an emulator (a plain `up` must not need them).
    for name, service in services.items():
        if "emulators" not in service.get("profiles", []):
            assert not {"tg-emulator", "yookassa-emulator"} & set(service.get("depends_on", {})), name
    # The YooKassa emulator notifies from 127.0.0.1 (its design): it shares billing-api's network
    # namespace, posts to billing's own port, and takes billing's shop credentials.
    assert yookassa["network_mode"] == "service:billing-api"
    assert "ports" not in yookassa
    env = yookassa["environment"]
    assert env["YOOKASSA_EMULATOR_NOTIFICATION_URL"] == "http://127.0.0.1:8000/webhooks/yookassa"
    billing = services["billing-api"]["environment"]
    assert env["YOOKASSA_EMULATOR_SHOP_ID"] == billing["YOOKASSA_SHOP_ID"]
    assert env["YOOKASSA_EMULATOR_SECRET_KEY"] == billing["YOOKASSA_SECRET_KEY"]
    assert "127.0.0.1:18181:8181" in services["billing-api"]["ports"]
    assert env["YOOKASSA_EMULATOR_PUBLIC_URL"] == "http://127.0.0.1:18181"
    assert tg["environment"]["TG_EMULATOR_BOT_TOKEN"] == billing["TELEGRAM_BOT_TOKEN"]
    assert "127.0.0.1:18180:8180" in tg["ports"]

    # compose.emulators.env points billing and the gateway-bot at them.
    emulated = _env_file(DEPLOY / "compose.emulators.env")
    assert emulated["ENVIRONMENT"] == "development"
    assert emulated["TELEGRAM_API_URL"] == "http://tg-emulator:8180"
    assert emulated["TELEGRAM_BOT_TOKEN"] == "123456:TEST-TOKEN"
    assert emulated["YOOKASSA_API_URL"] == "http://billing:8181/v3"
    assert "billing" in services["billing-api"]["networks"]["default"]["aliases"]
    assert json.loads(emulated["YOOKASSA_TRUSTED_NETWORKS"]) == ["127.0.0.1/32"]
    from academy_billing.settings import DEV_YOOKASSA_SECRET_KEY

    assert emulated["YOOKASSA_SECRET_KEY"] == DEV_YOOKASSA_SECRET_KEY
    assert emulated["YOOKASSA_SHOP_ID"] == "academy-dev-shop"


def test_the_emulators_image_installs_both_emulators_locked() -> None:
    dockerfile = (DEPLOY / "emulators" / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --frozen --no-dev --no-editable --package beauty-academy-tg-emulator" in dockerfile
    assert "--inexact --package beauty-academy-yookassa-emulator" in dockerfile
    for script in ("academy-tg-emulator", "academy-yookassa-emulator"):
        assert f"test -x /app/.venv/bin/{script}" in dockerfile
    final = _stages(dockerfile)[-1]
    assert re.search(r"^USER 10001:10001$", final, re.MULTILINE)
    assert not re.search(r"apt-get|gcc|build-essential|/uv ", final)


# ================================================================== observability


def test_prometheus_scrapes_every_api_and_worker() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {
        name: {t for group in jobs[name]["static_configs"] for t in group["targets"]}
        for name in ("academy-api", "academy-worker")
    }
    assert targets["academy-api"] == {f"{s}-api:8000" for s in SERVICES}
    assert targets["academy-worker"] == {f"{s}-worker:9100" for s in SERVICES}
    services = compose()["services"]
    for target in targets["academy-api"] | targets["academy-worker"]:
        assert target.partition(":")[0] in services

    kubernetes = yaml.safe_load((DEPLOY / "prometheus" / "kubernetes-scrape.yml").read_text(encoding="utf-8"))
    relabel = kubernetes["scrape_configs"][0]["relabel_configs"]
    assert {"target_label": "job", "replacement": "academy-$1"}.items() <= next(
        r for r in relabel if r.get("target_label") == "job"
    ).items()


def test_alert_rules_cover_the_critical_conditions() -> None:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))["groups"]
    rules = {rule["alert"]: rule for group in groups for rule in group["rules"]}
    critical = {
        "AcademyServiceDown": "up{",
        "AcademyHigh5xxRate": 'academy_http_requests_total{status=~"5.."}',
        "AcademyOutboxStuck": "academy_outbox_oldest_unpublished_age_seconds",
        "AcademyDeadLetters": "academy_dead_letters",
        "AcademyConsumerFailures": "academy_events_consumed_total",
        "AcademyReconciliationDifferences": "academy_billing_reconciliation_differences",
    }
    for alert, needle in critical.items():
        assert needle in rules[alert]["expr"], alert
        assert rules[alert]["labels"]["severity"] == "critical"
        assert rules[alert]["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rules[alert]["for"])
    assert rules["AcademyOutboxStuck"]["expr"].strip().endswith("> 60")
    assert rules["AcademyDeadLetters"]["expr"].strip().endswith("> 0")
    for rule in rules.values():
        assert rule["expr"].count("(") == rule["expr"].count(")")


def test_grafana_dashboard_shows_red_and_event_metrics() -> None:
    datasource = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"][0]
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "beauty-academy.yml").read_text(encoding="utf-8")
    )["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "beauty-academy.json").read_text(encoding="utf-8"))
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    expressions = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
    for metric in METRICS:
        assert metric in expressions, metric
    for panel in panels:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == datasource["uid"]
            assert target["expr"].count("(") == target["expr"].count(")")


def test_otel_collector_receives_otlp_and_exports_to_debug_and_prometheus() -> None:
    config = yaml.safe_load((DEPLOY / "otel-collector" / "config.yaml").read_text(encoding="utf-8"))
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    assert {"debug", "prometheus"} <= set(config["exporters"])
    declared = {
        kind: set(config.get(section, {}))
        for kind, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters"))
    }
    connectors = set(config.get("connectors", {}))
    for pipeline in config["service"]["pipelines"].values():
        for kind, names in pipeline.items():
            assert set(names) <= declared[kind] | connectors, pipeline
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    scraped = {t for j in prometheus["scrape_configs"] for g in j.get("static_configs", []) for t in g["targets"]}
    assert f"otel-collector:{config['exporters']['prometheus']['endpoint'].rpartition(':')[2]}" in scraped


# ================================================================== images


def _stages(dockerfile: str) -> list[str]:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]


def test_dockerfile_builds_one_locked_non_root_image_per_service() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert 'uv sync --frozen --no-dev --no-install-workspace --package "beauty-academy-${SERVICE}"' in dockerfile
    assert 'uv sync --frozen --no-dev --no-editable --package "beauty-academy-${SERVICE}"' in dockerfile
    for service in SERVICES:
        assert service in dockerfile.split("case", 1)[1].split("esac", 1)[0]
    # Every workspace member's manifest is copied before the dependency layer is resolved.
    members = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["uv"]["workspace"]["members"]
    for pattern in members:
        for manifest in ROOT.glob(f"{pattern}/pyproject.toml"):
            member = manifest.parent.relative_to(ROOT).as_posix()
            assert f"COPY {member}/pyproject.toml {member}/" in dockerfile, f"Dockerfile misses {member}"
    final = _stages(dockerfile)[-1]
    assert final.startswith("${PYTHON_IMAGE} AS runtime")
    assert re.search(r"^USER 10001:10001$", final, re.MULTILINE)
    assert "COPY --from=builder /app/.venv /app/.venv" in final
    assert not re.search(r"apt-get|gcc|build-essential|/uv ", final)
    assert 'ENTRYPOINT ["academy-service"]' in final
    assert 'CMD ["api"]' in final
    ignored = [line for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert next(line for line in ignored if not line.startswith("#")) == "*", "allow-list: exclude everything first"
    assert {"**/.venv", "**/__pycache__", "**/.env"} <= set(ignored)


def test_backup_image_ships_the_scripts() -> None:
    dockerfile = (BACKUP / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG POSTGRES_IMAGE=postgres:16-alpine" in dockerfile
    assert "COPY --chmod=0755 backup.sh restore.sh provision-s3.sh /usr/local/bin/" in dockerfile
    assert "lib.sh /usr/local/bin/" in dockerfile
    assert "COPY --chmod=0644 s3/ /usr/local/bin/s3/" in dockerfile, "provision-s3.sh reads s3/ next to it"
    assert re.search(r"^USER 70:70$", dockerfile, re.MULTILINE)


# ================================================================== backup and restore scripts

FAKE_TOOLS = r"""
import hashlib, os, pathlib, sys

tool = pathlib.Path(sys.argv[1]).name
args = sys.argv[2:]
log = pathlib.Path(os.environ["FAKE_LOG"])
with log.open("a") as f:
    f.write(tool + " " + " ".join(args) + "\n")
bucket_root = pathlib.Path(os.environ["FAKE_S3"])
if os.environ.get("FAKE_FAIL") == tool:
    sys.exit(tool + ": simulated failure")
if os.environ.get("FAKE_FAIL") == "upload" and "cp" in args and not args[-1].startswith("/"):
    sys.exit(tool + ": simulated upload failure (AccessDenied)")


def opt(name):
    return next((a.split("=", 1)[1] for a in args if a.startswith(name + "=")), None)


def s3_path(url):
    return bucket_root / url.removeprefix("s3://").removeprefix("academy-backup/")


if tool == "pg_dump":
    pathlib.Path(opt("--file")).write_bytes(b"PGDMP fake archive of " + os.environ["PGDATABASE"].encode())
elif tool == "pg_restore":
    if "--list" in args:
        assert pathlib.Path(args[-1]).read_bytes().startswith(b"PGDMP")
elif tool in ("psql", "createdb"):
    pass  # an empty answer: the target database does not exist yet
elif tool == "aws":
    if args[0] == "--endpoint-url":
        assert args[1] == os.environ["EXPECT_ENDPOINT"], args[1]
        args = args[2:]
    assert os.environ["AWS_ACCESS_KEY_ID"] == "backup-key"
    if args[:2] == ["s3", "cp"]:
        source, destination = args[-2:]
        if source.startswith("s3://"):
            pathlib.Path(destination).write_bytes(s3_path(source).read_bytes())
        else:
            s3_path(destination).parent.mkdir(parents=True, exist_ok=True)
            s3_path(destination).write_bytes(pathlib.Path(source).read_bytes())
    elif args[:2] == ["s3", "rm"]:
        s3_path(args[-1]).unlink()
    elif args[:2] == ["s3api", "list-objects-v2"]:
        bucket, prefix = args[args.index("--bucket") + 1], args[args.index("--prefix") + 1]
        files = [p for p in (bucket_root / bucket).rglob("*") if p.is_file()]
        keys = sorted(k for k in (str(p.relative_to(bucket_root / bucket)) for p in files) if k.startswith(prefix))
        print("\t".join(keys) if keys else "None")
    else:
        sys.exit("unexpected aws call: " + " ".join(args))
elif tool == "mc":
    args = [a for a in args if a not in ("--quiet", "--no-color")]
    assert args[0] == "--config-dir"
    args = args[2:]
    if args[:2] == ["alias", "set"]:
        assert args[3:6] == [os.environ["EXPECT_ENDPOINT"], "backup-key", "backup-secret"], args
    elif args[0] == "cp":
        source, destination = args[1:]
        if source.startswith("academy-backup/"):
            pathlib.Path(destination).write_bytes(s3_path(source).read_bytes())
        else:
            s3_path(destination).parent.mkdir(parents=True, exist_ok=True)
            s3_path(destination).write_bytes(pathlib.Path(source).read_bytes())
    elif args[0] == "rm":
        s3_path(args[1]).unlink()
    elif args[0] == "ls":
        folder = s3_path(args[1])
        if not folder.is_dir():
            sys.exit("mc: <ERROR> Unable to list folder. Object does not exist.")
        for p in sorted(folder.iterdir()):
            print(f"[2025-01-01 00:00:00 UTC]  1.0KiB STANDARD {p.name}" + ("/" if p.is_dir() else ""))
    else:
        sys.exit("unexpected mc call: " + " ".join(args))
else:
    sys.exit("unexpected tool " + tool)
"""


@pytest.fixture
def fake_tools(tmp_path: Path) -> dict[str, str]:
    """PATH with stub pg_dump, pg_restore, psql, createdb, aws and mc; the bucket is a directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = tmp_path / "fake_tools.py"
    program.write_text(textwrap.dedent(FAKE_TOOLS), encoding="utf-8")
    for tool in ("pg_dump", "pg_restore", "psql", "createdb", "aws", "mc"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{program}" "$0" "$@"\n', encoding="utf-8")
        stub.chmod(0o755)
    (tmp_path / "s3" / "backups").mkdir(parents=True)
    (tmp_path / "scratch").mkdir()
    return {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path / "scratch"),
        "FAKE_S3": str(tmp_path / "s3"),
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "PGHOST": "db.internal",
        "PGUSER": "postgres",
        "PGDATABASE": DATABASE,
        "S3_ENDPOINT": "minio:9000",
        "EXPECT_ENDPOINT": "http://minio:9000",
        "S3_ACCESS_KEY": "backup-key",
        "S3_SECRET_KEY": "backup-secret",
        "S3_BUCKET": "backups",
    }


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(BACKUP / script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _stamp(days_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).strftime("%Y%m%dT%H%M%SZ")


@pytest.mark.parametrize("script", ["backup.sh", "restore.sh", "lib.sh"])
def test_scripts_are_posix_sh(script: str) -> None:
    text = (BACKUP / script).read_text(encoding="utf-8")
    if script != "lib.sh":
        assert text.startswith("#!/bin/sh\n")
        assert "\nset -eu\n" in text
        assert os.access(BACKUP / script, os.X_OK)
    subprocess.run(["sh", "-n", str(BACKUP / script)], check=True, timeout=10)
    assert "[[" not in text, "bash-only syntax"
    assert "pipefail" not in text


@pytest.mark.parametrize("s3_cli", ["aws", "mc"])
def test_backup_uploads_a_checked_dump_and_prunes_after_thirty_days_when_asked(
    fake_tools: dict[str, str], tmp_path: Path, s3_cli: str
) -> None:
    """BACKUP_PRUNE=true: the script's own retention, for an S3 server without lifecycle rules."""
    folder = tmp_path / "s3" / "backups" / "postgres" / DATABASE
    folder.mkdir(parents=True)
    expired, kept = f"{DATABASE}_{_stamp(31)}.dump", f"{DATABASE}_{_stamp(29)}.dump"
    unrelated = ["notes.txt", f"other_{_stamp(90)}.dump", f"{DATABASE}_old.dump"]
    for name in (expired, f"{expired}.sha256", kept, f"{kept}.sha256", *unrelated):
        (folder / name).write_text("old", encoding="utf-8")

    result = _run("backup.sh", {**fake_tools, "S3_CLI": s3_cli, "BACKUP_PRUNE": "true"})

    assert result.returncode == 0, result.stderr
    names = {p.name for p in folder.iterdir()}
    (new,) = (
        names - {kept, f"{kept}.sha256", f"{expired}.sha256", *unrelated} - {n for n in names if n.endswith(".sha256")}
    )
    assert re.fullmatch(rf"{DATABASE}_\d{{8}}T\d{{6}}Z\.dump", new)
    assert names == {kept, f"{kept}.sha256", new, f"{new}.sha256", *unrelated}
    digest = (folder / f"{new}.sha256").read_text(encoding="utf-8").strip()
    assert digest == hashlib.sha256((folder / new).read_bytes()).hexdigest()
    calls = Path(fake_tools["FAKE_LOG"]).read_text(encoding="utf-8")
    assert "pg_dump --format=custom --no-password" in calls
    assert "pg_restore --list" in calls
    assert "2 expired object(s) removed (retention 30 days" in result.stderr
    assert not list((tmp_path / "scratch").iterdir()), "the scratch directory is cleaned up"


@pytest.mark.parametrize("s3_cli", ["aws", "mc"])
def test_backup_leaves_retention_to_the_bucket_and_never_lists_or_deletes(
    fake_tools: dict[str, str], tmp_path: Path, s3_cli: str
) -> None:
    """Issue 12: by default the key only writes (the lifecycle rule of provision-s3.sh expires the dumps)."""
    folder = tmp_path / "s3" / "backups" / "postgres" / DATABASE
    folder.mkdir(parents=True)
    expired = f"{DATABASE}_{_stamp(90)}.dump"
    (folder / expired).write_text("old", encoding="utf-8")

    result = _run("backup.sh", {**fake_tools, "S3_CLI": s3_cli})

    assert result.returncode == 0, result.stderr
    assert expired in {p.name for p in folder.iterdir()}
    assert len(list(folder.iterdir())) == 3, "the new dump and its checksum were uploaded"
    calls = Path(fake_tools["FAKE_LOG"]).read_text(encoding="utf-8").splitlines()
    s3_calls = [c.split() for c in calls if c.startswith(s3_cli)]
    assert not [c for c in s3_calls if {"rm", "ls", "list-objects-v2"} & set(c)], "the writer may not list or delete"
    assert "retention: the bucket's lifecycle rule" in result.stderr


@pytest.mark.parametrize("failure", ["pg_dump", "pg_restore", "upload"])
def test_a_failed_backup_exits_non_zero_and_says_why(fake_tools: dict[str, str], tmp_path: Path, failure: str) -> None:
    """A failure fails the Kubernetes Job (kube_job_status_failed), never a silent success."""
    result = _run("backup.sh", {**fake_tools, "S3_CLI": "mc", "FAKE_FAIL": failure})

    assert result.returncode != 0
    assert "simulated" in result.stderr
    assert "backup done" not in result.stderr
    uploaded = list((tmp_path / "s3" / "backups").rglob("*.dump"))
    assert uploaded == [], "nothing is uploaded after a failed dump, nor reported after a failed upload"
    assert not list((tmp_path / "scratch").iterdir()), "the scratch directory is cleaned up"


def test_backup_refuses_a_zero_retention(fake_tools: dict[str, str]) -> None:
    result = _run("backup.sh", {**fake_tools, "RETENTION_DAYS": "0"})
    assert result.returncode != 0
    assert "RETENTION_DAYS" in result.stderr


@pytest.mark.parametrize("s3_cli", ["aws", "mc"])
def test_restore_takes_the_latest_verified_dump(fake_tools: dict[str, str], tmp_path: Path, s3_cli: str) -> None:
    env = {**fake_tools, "S3_CLI": s3_cli}
    assert _run("backup.sh", env).returncode == 0
    folder = tmp_path / "s3" / "backups" / "postgres" / DATABASE
    (latest,) = (p.name for p in folder.iterdir() if p.name.endswith(".dump"))
    older = f"{DATABASE}_{_stamp(3)}.dump"
    (folder / older).write_text("older", encoding="utf-8")

    result = _run("restore.sh", {**env, "DUMP_KEY": "latest", "TARGET_DATABASE": "beauty_academy_restore"})

    assert result.returncode == 0, result.stderr
    assert f"downloading s3://backups/postgres/{DATABASE}/{latest}" in result.stderr
    assert "checksum verified" in result.stderr
    calls = Path(fake_tools["FAKE_LOG"]).read_text(encoding="utf-8").splitlines()
    assert "createdb --no-password --maintenance-db=postgres beauty_academy_restore" in calls
    (restore,) = [c for c in calls if c.startswith("pg_restore --no-password")]
    assert "--single-transaction --exit-on-error --clean --if-exists --dbname=beauty_academy_restore" in restore

    (folder / f"{latest}.sha256").write_text("0" * 64, encoding="utf-8")
    tampered = _run("restore.sh", {**env, "DUMP_KEY": latest, "TARGET_DATABASE": "beauty_academy_restore"})
    assert tampered.returncode != 0
    assert "checksum mismatch" in tampered.stderr
    missing = _run("restore.sh", {**env, "DUMP_KEY": f"{DATABASE}_20000101T000000Z.dump"})
    assert missing.returncode != 0
    assert "does not exist" in missing.stderr


# ================================================================== event bus users (issue 9, part 4)
# Each service connects to RabbitMQ as its own user academy-<service>, which the provisioning (compose's
# bus-provision, Kubernetes' academy-bus-provision Job) creates with the same password before any service
# starts; nobody shares a broker user.

COMPOSE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
AMQP_URL = re.compile(r"amqp://(?P<user>[^:@/]+):(?P<password>.+)@(?P<host>[^@:/]+):(?P<port>\d+)/")


def _bus_user(service: str) -> str:
    """The broker user the runtime expects of `service` (its default BUS_USER_PREFIX)."""
    from academy_runtime.bus import bus_user
    from academy_runtime.settings import ServiceSettings

    return bus_user(ServiceSettings.model_fields["bus_user_prefix"].default, service)


def _provisioned(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, str]]:
    """Run `academy-platform provision-bus` with `env` as its whole environment, the management API
    replaced by a recorder: (the definitions document it imports, the API call's other arguments)."""
    from academy_runtime import bus_provisioning, platform_cli

    calls: list[tuple[dict[str, Any], dict[str, str]]] = []

    async def record(document: dict[str, Any], **kwargs: str) -> None:
        calls.append((document, kwargs))

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the provisioning must use the management API, not rabbitmqctl")

    for name in list(os.environ):
        if name.startswith(("BUS_", "RABBITMQ_", "EVENTS_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(bus_provisioning, "apply_with_http", record)
    monkeypatch.setattr(bus_provisioning, "apply_with_rabbitmqctl", refuse)
    platform_cli.main([*env.get("__args__", "provision-bus").split()])
    (call,) = calls
    return call


def _check_users_match(document: dict[str, Any], urls: dict[str, set[str]], exchange: str) -> None:
    """Every service's RABBITMQ_URL (one per process, all equal) names the user created for it, with the
    password it was created with; each user publishes only its own service's routing keys."""
    from academy_runtime.bus_provisioning import BUS_SERVICES, PUBLISHERS

    assert set(BUS_SERVICES) == set(SERVICES), "the provisioning knows every service of the deployment"
    users = {u["name"]: u["password"] for u in document["users"]}
    topics = {t["user"]: t for t in document["topic_permissions"]}
    assert [e["name"] for e in document["exchanges"]] == [exchange]
    seen_users = set()
    for service in SERVICES:
        (url,) = urls[service]
        match = AMQP_URL.fullmatch(url)
        assert match, f"{service}: {url}"
        user = match["user"]
        assert user == _bus_user(service), f"{service} connects as {user}"
        assert users[user] == match["password"], f"{service}'s password is the one its user was created with"
        seen_users.add(user)
        topic = topics[user]
        assert topic["exchange"] == exchange
        if service in PUBLISHERS:
            assert topic["write"] == f"^{re.escape(service)}\\."
        else:
            assert topic["write"] == "^$", f"{service} publishes nothing"
    assert seen_users == set(users), "one user per service, no other"
    passwords = [users[u] for u in seen_users]
    assert len(set(passwords)) == len(passwords), "no two services share a password"


# ------------------------------------------------------------------ Kubernetes


def _service_bus_urls(objects: list[Obj]) -> dict[str, set[str]]:
    urls: dict[str, set[str]] = {}
    for service in SERVICES:
        for kind, name in [
            ("Deployment", f"{service}-api"),
            ("Deployment", f"{service}-worker"),
            ("Job", f"{service}-migrate"),
        ]:
            (container,) = find(objects, kind, name)["spec"]["template"]["spec"]["containers"]
            env = resolved_env(objects, container)
            assert env.get("BUS_VERIFY_PUBLISHER", "true") == "true"
            urls.setdefault(service, set()).add(env["RABBITMQ_URL"])
    return urls


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_service_connects_to_the_bus_as_its_own_user(variant: str) -> None:
    objects = render(variant)
    for service, urls in _service_bus_urls(objects).items():
        key = f"BUS_PASSWORD_{schema_of(service).upper()}"
        assert urls == {f"amqp://{_bus_user(service)}:<secret:academy-bus-passwords/{key}>@rabbitmq:5672/"}
    assert "RABBITMQ_URL" not in base_secret_keys()["academy-shared-secrets"], "no shared broker user"
    # A service's pods read their own bus password, nothing else of academy-bus-passwords or the admin's.
    for obj in objects:
        name = obj["metadata"]["name"]
        for container in containers(obj):
            refs = {
                (ref["name"], ref["key"])
                for var in container.get("env", [])
                if (ref := (var.get("valueFrom") or {}).get("secretKeyRef"))
            }
            sources = {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
            if name == "academy-bus-provision":
                assert {"academy-bus-passwords", "academy-rabbitmq-admin"} <= sources
                continue
            assert not {"academy-bus-passwords", "academy-rabbitmq-admin"} & sources, name
            bus_keys = {key for secret, key in refs if secret == "academy-bus-passwords"}
            service = obj["metadata"].get("labels", {}).get("app.kubernetes.io/name")
            assert bus_keys <= {f"BUS_PASSWORD_{schema_of(str(service)).upper()}"}, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_bus_provisioning_job_creates_the_users_the_services_connect_as(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = render(variant)
    job = find(objects, "Job", "academy-bus-provision")
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["backoffLimit"] >= 1, "retries while the broker is still starting"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert [*container["command"], *container["args"]] == ["academy-platform", "provision-bus"]
    env = resolved_env(objects, container)
    assert env["RABBITMQ_MANAGEMENT_URL"] == "http://rabbitmq:15672"
    assert env["RABBITMQ_ADMIN_USER"] == "<secret:academy-rabbitmq-admin/RABBITMQ_ADMIN_USER>"
    assert env["RABBITMQ_ADMIN_PASSWORD"] == "<secret:academy-rabbitmq-admin/RABBITMQ_ADMIN_PASSWORD>"
    provision = find(objects, "Job", "academy-db-provision")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == provision["image"], "the same platform CLI as the database provisioning"
    # What the Job would import, run through the real command.
    document, api = _provisioned({k: v for k, v in env.items() if k.isupper()}, monkeypatch)
    assert api == {
        "management_url": "http://rabbitmq:15672",
        "admin_user": "<secret:academy-rabbitmq-admin/RABBITMQ_ADMIN_USER>",
        "admin_password": "<secret:academy-rabbitmq-admin/RABBITMQ_ADMIN_PASSWORD>",
    }
    config = find(objects, "ConfigMap", "academy-config")["data"]
    _check_users_match(document, _service_bus_urls(objects), config["EVENTS_EXCHANGE"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_the_bus_provisioning_reaches_the_management_api(variant: str) -> None:
    objects = render(variant)
    policies = [p["spec"] for p in of_kind(objects, "NetworkPolicy")]

    def may_reach(labels: dict[str, str], port: int) -> bool:
        return any(
            _selects(policy["podSelector"], labels)
            and any(
                any(p["port"] == port for p in rule.get("ports", [])) or not rule.get("ports")
                for rule in policy.get("egress", [])
            )
            for policy in policies
            if "Egress" in policy.get("policyTypes", [])
        )

    job = find(objects, "Job", "academy-bus-provision")["spec"]["template"]["metadata"]["labels"]
    assert may_reach(job, 15672)
    assert may_reach(job, 53), "it resolves the broker's name"
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job", "CronJob"} and obj["metadata"]["name"] != "academy-bus-provision":
            template = obj["spec"].get("jobTemplate", {}).get("spec", obj["spec"])["template"]
            assert not may_reach(template["metadata"]["labels"], 15672), obj["metadata"]["name"]


def _readme_procedure() -> list[str]:
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    section = text.split("### First deployment and upgrades", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.strip() for line in section.splitlines() if line.strip().startswith("kubectl")]


def test_the_provisioning_jobs_run_before_the_workloads() -> None:
    """deploy/README.md's procedure applies and waits for both provisioning Jobs before any workload."""
    objects = render("overlays/production")
    lines = _readme_procedure()
    applies = [(i, line) for i, line in enumerate(lines) if line.startswith("kubectl apply")]
    workloads_at = next(i for i, line in applies if " -l " not in line)  # the apply of everything else
    for name in ("academy-db-provision", "academy-bus-provision", "academy-backup-s3-provision"):
        labels = find(objects, "Job", name)["metadata"]["labels"]
        first = next(
            i
            for i, line in applies
            if (m := re.search(r" -l '([^']+)'", line)) and _label_selector_matches(m[1], labels)
        )
        waited = next(i for i, line in enumerate(lines) if f"--for=condition=complete job/{name}" in line)
        assert first < waited < workloads_at, f"{name} runs and completes before the workloads"
        # An upgrade deletes the finished Job first (Jobs are immutable), so that it runs again.
        delete = next(line for line in lines if line.startswith("kubectl -n beauty-academy delete job"))
        selector = re.search(r" -l '([^']+)'", delete)
        assert selector, delete
        assert _label_selector_matches(selector[1], labels), f"an upgrade re-runs {name}"
    for service in SERVICES:
        for name in (f"{service}-api", f"{service}-worker"):
            labels = find(objects, "Deployment", name)["metadata"]["labels"]
            for i, line in applies:
                m = re.search(r" -l '([^']+)'", line) or re.search(r" -l (\S+)", line)
                if i < workloads_at and m:
                    assert not _label_selector_matches(m[1], labels), f"{name} applied before provisioning"


# ------------------------------------------------------------------ docker compose


def _compose_resolve(value: str, variables: dict[str, str] | None = None) -> str:
    return COMPOSE_VAR.sub(lambda m: (variables or {}).get(m[1]) or m[2] or "", value)


def test_compose_every_service_connects_to_the_bus_as_its_own_user(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    provision = services["bus-provision"]
    penv = provision["environment"]
    urls: dict[str, set[str]] = {}
    for service in SERVICES:
        key = f"BUS_PASSWORD_{schema_of(service).upper()}"
        for process in ("migrate", "api", "worker"):
            env = services[f"{service}-{process}"]["environment"]
            url = env["RABBITMQ_URL"]
            # The same variable, with the same default, as the one bus-provision creates the user with.
            assert url == f"amqp://{_bus_user(service)}:{penv[key]}@rabbitmq:5672/"
            assert penv[key].startswith(f"${{{key}:-"), "a password from the environment"
            assert str(env.get("BUS_VERIFY_PUBLISHER", "true")).lower() == "true"
            urls.setdefault(service, set()).add(_compose_resolve(url))
    assert [*provision["entrypoint"], *provision["command"]] == ["academy-platform", "provision-bus"]
    assert provision["image"] == services["db-provision"]["image"]
    # The administrator is the broker's default user; the management API is in the broker's image.
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["image"].split(":")[1].endswith("-management")
    assert penv["RABBITMQ_MANAGEMENT_URL"] == "http://rabbitmq:15672"
    assert penv["RABBITMQ_ADMIN_USER"] == rabbitmq["environment"]["RABBITMQ_DEFAULT_USER"]
    assert penv["RABBITMQ_ADMIN_PASSWORD"] == rabbitmq["environment"]["RABBITMQ_DEFAULT_PASS"]
    # What bus-provision imports, through the real command, with the compose defaults and with each env file.
    for variables in [{}, *(_env_file(path) for path in sorted(DEPLOY.glob("compose*.env*")))]:
        env = {k: _compose_resolve(str(v), variables) for k, v in penv.items()}
        resolved = {s: {_compose_resolve(u, variables) for u in _urls_of(services, s)} for s in SERVICES}
        document, api = _provisioned(env, monkeypatch)
        assert api["management_url"] == "http://rabbitmq:15672"
        _check_users_match(document, resolved, penv["EVENTS_EXCHANGE"])
    assert urls


def _urls_of(services: dict[str, Any], service: str) -> list[str]:
    return [services[f"{service}-{p}"]["environment"]["RABBITMQ_URL"] for p in ("migrate", "api", "worker")]


def test_compose_bus_provisioning_runs_before_the_services() -> None:
    services = compose()["services"]
    provision = services["bus-provision"]
    assert provision["restart"] == "no"
    assert provision["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    for service in SERVICES:
        for process in ("api", "worker"):
            depends = services[f"{service}-{process}"]["depends_on"]
            assert depends["bus-provision"]["condition"] == "service_completed_successfully", f"{service}-{process}"
    # Nothing else connects to the broker: every container with a RABBITMQ_URL waits for the provisioning
    # (migrations only read their settings and wait for the database).
    for name, service in services.items():
        if "RABBITMQ_URL" in (service.get("environment") or {}) and not name.endswith("-migrate"):
            assert "bus-provision" in service.get("depends_on", {}), name


def test_compose_broker_refuses_messages_far_above_the_event_limit() -> None:
    from academy_runtime.settings import ServiceSettings

    rabbitmq = compose()["services"]["rabbitmq"]
    (mount,) = [v for v in rabbitmq["volumes"] if v.startswith("./deploy/rabbitmq/")]
    source, target, mode = mount.split(":")
    assert target.startswith("/etc/rabbitmq/conf.d/"), "the image reads every *.conf of conf.d"
    assert target.endswith(".conf")
    assert mode == "ro"
    settings = {}
    for line in (ROOT / source).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    limit = int(settings["max_message_size"])
    max_event_bytes = ServiceSettings.model_fields["max_event_bytes"].default
    # Above what a service accepts (a valid event is never refused by the broker, its headers besides),
    # and far below RabbitMQ's default of 128 MiB (its own maximum is 512 MiB).
    assert 2 * max_event_bytes <= limit <= 16 * 1024 * 1024
