"""The package installs and works on its own: pydantic and its dependencies, nothing else."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONTRACTS_ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "beauty-academy-contracts",
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "annotated-types",
    "typing-inspection",
}

SMOKE = """
import json, sys
# What the interpreter loaded before the package (Debian's Python imports its own sitecustomize at start-up).
at_start = set(sys.modules)
from academy_contracts import EVENT_TYPES, build_event, parse_event
from academy_contracts.registry import example_event
for model in EVENT_TYPES.values():
    event = example_event(model)
    assert parse_event(event.to_json()) == (event, model.example())
third_party = sorted(
    name for name in sys.modules
    if "." not in name and not name.startswith("_") and name not in sys.stdlib_module_names and name not in at_start
)
print(json.dumps(third_party))
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Keep the workspace's own virtualenv and project settings out of the isolated environment.
    env = {key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)


@pytest.mark.integration
def test_installs_alone_with_pydantic_only(tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    venv = tmp_path / "venv"
    created = _run(
        uv, "venv", "--quiet", "--python", f"{sys.version_info.major}.{sys.version_info.minor}", str(venv), cwd=tmp_path
    )
    assert created.returncode == 0, created.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    # Offline first: the uv cache of this machine normally holds pydantic and hatchling already.
    install = _run(
        uv, "pip", "install", "--quiet", "--offline", "--python", str(python), str(CONTRACTS_ROOT), cwd=tmp_path
    )
    if install.returncode != 0:
        install = _run(uv, "pip", "install", "--quiet", "--python", str(python), str(CONTRACTS_ROOT), cwd=tmp_path)
    assert install.returncode == 0, install.stderr

    listed = _run(uv, "pip", "list", "--python", str(python), "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    installed = {entry["name"].lower().replace("_", "-") for entry in json.loads(listed.stdout)}
    assert installed == ALLOWED

    smoke = _run(str(python), "-c", SMOKE, cwd=tmp_path)
    assert smoke.returncode == 0, smoke.stderr
    imported = set(json.loads(smoke.stdout))
    assert imported <= {
        "academy_contracts",
        "pydantic",
        "pydantic_core",
        "typing_extensions",
        "annotated_types",
        "typing_inspection",
    }

    # The generator writes the documents without PyYAML or any other package.
    root = tmp_path / "contracts"
    root.mkdir()
    shutil.copy(CONTRACTS_ROOT / "README.md", root / "README.md")
    generated = _run(str(python), "-m", "academy_contracts.generate", "--root", str(root), cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert (root / "asyncapi.yaml").read_text(encoding="utf-8") == (CONTRACTS_ROOT / "asyncapi.yaml").read_text(
        encoding="utf-8"
    )
    assert len(list((root / "schemas").glob("*.json"))) == len(list((CONTRACTS_ROOT / "schemas").glob("*.json")))
