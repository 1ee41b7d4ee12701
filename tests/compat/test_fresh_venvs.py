"""Fresh virtualenvs: the package installs beside modern protobuf stacks and shares a process
with zeebe-grpc or pyzeebe (issue 11's "done when").

Each case builds one virtualenv from the package index (pip's cache is reused) and runs a
scenario script from this folder inside it, once per import order. pyzeebe 4.7 needs
protobuf < 7 and clashes with zeebe-grpc in the default pool, so the two are checked apart:

- ``pip install <ours> "protobuf>=7" opentelemetry-proto`` plus ``zeebe-grpc --no-deps``;
- ``pip install <ours> "protobuf>=6" opentelemetry-proto pyzeebe==4.7.0``.

Marked ``venv`` (and ``slow``): the default run deselects them (see ``addopts`` in setup.cfg)
and ``.ci/run`` runs them as their own step, ``python -m pytest -m venv``. Without a reachable
package index they skip, saying so; a resolution failure with an index is a failure.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

pytestmark = [pytest.mark.venv, pytest.mark.slow, pytest.mark.timeout(1200)]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
_SKIP_DIRS = {".git", ".ci", ".tools", "build", "dist", "node_modules", ".venv", "__pycache__",
              ".pytest_cache"}
PIP_TIMEOUT = 900  # seconds for one pip command: a cold cache downloads grpcio and friends


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=PIP_TIMEOUT)
    if done.returncode != 0:
        pytest.fail(f"pip {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


@pytest.fixture(scope="session")
def our_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built once from a clean copy (no build/ left in the tree)."""
    probe = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "protobuf"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"no package index reachable (pip index versions protobuf: {probe.stderr.strip()[-300:]})")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"

    def ignore(directory: str, names: List[str]) -> List[str]:
        return [n for n in names if n in _SKIP_DIRS or n.endswith(".egg-info") or n.endswith(".pyc")]

    shutil.copytree(ROOT, source, ignore=ignore)
    out = base / "dist"
    _pip(Path(sys.executable), "wheel", "--no-deps", "-q", "-w", str(out), str(source))
    (wheel,) = out.glob("zeebe_affinity_sync-*.whl")
    return wheel


def _venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    return where / "bin" / "python"


def _scenario(python: Path, script: str, order: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PROTOCOL_BUFFERS"))}
    done = subprocess.run([str(python), "-W", "error::DeprecationWarning:zeebe_affinity_sync",
                           str(HERE / script), order],
                          capture_output=True, text=True, timeout=300, env=env, cwd=str(python.parent))
    assert done.returncode == 0, f"{script} {order} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _version(python: Path, distribution: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


@pytest.fixture(scope="session")
def zeebe_grpc_venv(our_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = _venv(tmp_path_factory.mktemp("venv-pb7") / "venv")
    _pip(python, "install", "-q", str(our_wheel), "protobuf>=7", "opentelemetry-proto")
    _pip(python, "install", "-q", "--no-deps", "zeebe-grpc")
    return python


@pytest.fixture(scope="session")
def pyzeebe_venv(our_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = _venv(tmp_path_factory.mktemp("venv-pyzeebe") / "venv")
    _pip(python, "install", "-q", str(our_wheel), "protobuf>=6", "opentelemetry-proto", "pyzeebe==4.7.0")
    return python


@pytest.mark.parametrize("order", ["ours-first", "theirs-first"])
def test_beside_zeebe_grpc_on_protobuf_7(zeebe_grpc_venv: Path, order: str):
    assert int(_version(zeebe_grpc_venv, "protobuf").split(".")[0]) >= 7
    assert _version(zeebe_grpc_venv, "zeebe-grpc").startswith("8.4")
    facts = _scenario(zeebe_grpc_venv, "scenario_zeebe_grpc.py", order)
    assert facts["ours"] == [2 * i for i in range(10)]
    assert facts["theirs"] == 42
    assert facts["brokers"] == 1 and facts["distinct_classes"] is True
    assert int(facts["protobuf"].split(".")[0]) >= 7


@pytest.mark.parametrize("order", ["ours-first", "theirs-first"])
def test_beside_pyzeebe_on_protobuf_6(pyzeebe_venv: Path, order: str):
    assert _version(pyzeebe_venv, "pyzeebe") == "4.7.0"
    assert int(_version(pyzeebe_venv, "protobuf").split(".")[0]) >= 6
    facts = _scenario(pyzeebe_venv, "scenario_pyzeebe.py", order)
    assert facts["by_ours"] == [3 * i for i in range(5)]  # pyzeebe's worker did these
    assert facts["by_theirs"] == [2 * i for i in range(5)]  # ours did these
    assert facts["brokers"] == 1
