"""deploy/upgrade.sh (issue 12): migrations complete before any Deployment is applied, and a failed one stops it.

The cluster is a stand-in `kubectl` first on PATH (a test double for the CLI: it records every call and
answers Job status from FAKE_FAILED_JOB); the overlay is a copy of deploy/k8s, so the repository's tag is
never touched. The rolling-update settings that keep old pods serving are checked on the real manifests.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manifests() -> Any:
    """deploy/tests/test_manifests.py as a module (pytest's importlib mode puts no test directory on sys.path)."""
    spec = importlib.util.spec_from_file_location(
        "academy_deploy_manifests", Path(__file__).with_name("test_manifests.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


manifests = _manifests()
SERVICES: tuple[str, ...] = manifests.SERVICES
SCRIPT = ROOT / "deploy" / "upgrade.sh"

FAKE_KUBECTL = r"""
import os, pathlib, re, sys

args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
if args[:2] == ["-n", "beauty-academy"]:
    args = args[2:]
services = os.environ["FAKE_SERVICES"].split()
if args[0] == "kustomize":
    text = (pathlib.Path(args[1]) / "kustomization.yaml").read_text()
    for name, tag in zip(re.findall(r"newName: (\S+)", text), re.findall(r"newTag: (\S+)", text)):
        print(f"    image: {name}:{tag}")
elif args[:2] == ["get", "job"] and "-l" in args:
    print("\n".join(f"{s}-migrate" for s in services))
elif args[:2] == ["get", "job"]:
    print("Failed" if args[2] == os.environ.get("FAKE_FAILED_JOB") else "SuccessCriteriaMet Complete")
elif args[:2] == ["get", "deployment"]:
    print("\n".join(f"{s}-{c}" for s in services for c in ("api", "worker")))
elif args[0] in ("apply", "delete", "rollout", "logs"):
    pass
else:
    sys.exit("unexpected kubectl call: " + " ".join(args))
"""


@pytest.fixture
def cluster(tmp_path: Path) -> dict[str, str]:
    """Environment for upgrade.sh: the fake kubectl, a copy of deploy/k8s, a call log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = tmp_path / "fake_kubectl.py"
    program.write_text(textwrap.dedent(FAKE_KUBECTL), encoding="utf-8")
    stub = bin_dir / "kubectl"
    stub.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{program}" "$@"\n', encoding="utf-8")
    stub.chmod(0o755)
    shutil.copytree(ROOT / "deploy" / "k8s", tmp_path / "k8s")
    return {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "ACADEMY_K8S_DIR": str(tmp_path / "k8s"),
        "FAKE_LOG": str(tmp_path / "kubectl.log"),
        "FAKE_SERVICES": " ".join(SERVICES),
        "UPGRADE_POLL_SECONDS": "0",
    }


def _upgrade(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    result = subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    log = Path(env["FAKE_LOG"])
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return result, [c.removeprefix("-n beauty-academy ") for c in calls]


def _index(calls: list[str], pattern: str) -> int:
    return next(i for i, call in enumerate(calls) if re.search(pattern, call))


def test_the_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=10)
    assert os.access(SCRIPT, os.X_OK)
    if shellcheck := shutil.which("shellcheck"):
        subprocess.run([shellcheck, str(SCRIPT)], check=True, timeout=60)


def test_migrations_complete_before_the_deployments_roll_out(cluster: dict[str, str], tmp_path: Path) -> None:
    result, calls = _upgrade(cluster, "production", "1.4.2")

    assert result.returncode == 0, result.stderr
    kustomization = (tmp_path / "k8s" / "overlays" / "production" / "kustomization.yaml").read_text(encoding="utf-8")
    assert set(re.findall(r"newTag: (\S+)", kustomization)) == {"1.4.2"}
    delete = _index(calls, r"^delete job -l app.kubernetes.io/component in \(provision,migrate\)")
    migrate = _index(calls, r"^apply -f \S+ -l app.kubernetes.io/component=migrate$")
    waits = [i for i, c in enumerate(calls) if re.fullmatch(r"get job \S+-migrate -o jsonpath=.*", c)]
    everything = _index(calls, r"^apply -f \S+$")
    rollouts = [i for i, c in enumerate(calls) if c.startswith("rollout status deployment/")]
    assert delete < migrate < min(waits)
    assert len(waits) == len(SERVICES), "every service's migration is awaited"
    assert max(waits) < everything < min(rollouts), "the workloads change only after every migration completed"
    assert len(rollouts) == 2 * len(SERVICES)
    # Nothing before the migrations selected a Deployment.
    for call in calls[:everything]:
        if call.startswith("apply"):
            assert "notin (api,worker,migrate)" in call or call.endswith("component=migrate"), call


def test_a_failed_migration_stops_the_upgrade_before_any_deployment(cluster: dict[str, str]) -> None:
    result, calls = _upgrade({**cluster, "FAKE_FAILED_JOB": "progress-migrate"}, "staging", "1.4.3")

    assert result.returncode == 1
    assert "migration progress-migrate failed" in result.stderr
    assert "logs job/progress-migrate --all-containers --tail=50" in calls
    assert not [c for c in calls if re.fullmatch(r"apply -f \S+", c) or c.startswith("rollout")]


def test_a_failed_provisioning_stops_before_the_migrations(cluster: dict[str, str]) -> None:
    result, calls = _upgrade({**cluster, "FAKE_FAILED_JOB": "academy-db-provision"}, "staging", "1.4.3")

    assert result.returncode == 1
    assert not [c for c in calls if "component=migrate" in c and c.startswith("apply")]


@pytest.mark.parametrize("args", [(), ("staging",), ("qa", "1.0.0"), ("staging", "-rf"), ("staging", "1.0/../x")])
def test_bad_arguments_change_nothing(cluster: dict[str, str], args: tuple[str, ...]) -> None:
    result, calls = _upgrade(cluster, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert calls == []


@pytest.mark.parametrize("variant", ["overlays/staging", "overlays/production"])
def test_old_pods_serve_until_new_ones_are_ready(variant: str) -> None:
    """A rollout adds a pod before it removes one, and a pod takes traffic only once its readiness probe passes."""
    for deployment in manifests.of_kind(manifests.render(variant), "Deployment"):
        strategy = deployment["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0, deployment["metadata"]["name"]
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "readinessProbe" in container, deployment["metadata"]["name"]
