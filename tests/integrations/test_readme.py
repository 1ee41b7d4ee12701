"""The README keeps its promises: the quick start's two commands verbatim (CI runs the second),
and the configuration table lists every Flask and Django key the integrations accept."""
from __future__ import annotations

import os

from zeebe_affinity_sync.django.conf import KEYS
from zeebe_affinity_sync.flask import CONFIG_DEFAULTS

from .conftest import REPO

DEMO_COMMAND = 'pip install ".[all]" && zeebe-affinity demo'
TEST_COMMAND = 'pip install -e ".[all,test]" && python -m pytest'


def read(*parts: str) -> str:
    with open(os.path.join(REPO, *parts), encoding="utf-8") as f:
        return f.read()


def test_quick_start_has_the_two_commands_verbatim():
    lines = read("README.md").splitlines()
    assert DEMO_COMMAND in lines
    assert TEST_COMMAND in lines
    assert lines.index(TEST_COMMAND) == lines.index(DEMO_COMMAND) + 1


def test_ci_runs_the_readme_test_command():
    path = os.path.join(REPO, ".ci", "run")
    assert os.path.exists(path), ".ci/run is missing"
    assert TEST_COMMAND in read(".ci", "run").splitlines()


def test_configuration_table_lists_every_key():
    readme = read("README.md")
    for key in CONFIG_DEFAULTS:
        assert f"`{key}`" in readme, f"Flask key {key} missing from the README's configuration table"
    for key in KEYS:
        assert f'`"{key}"`' in readme, f"Django key {key} missing from the README's configuration table"
