"""The examples' own tests (written on the plugin, as a user would) pass, each in a session of its own."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("example, needs", [("flask_app", "flask"), ("django_app", "django")])
def test_the_examples_tests_pass(example, needs):
    pytest.importorskip(needs)
    folder = os.path.join(REPO, "examples", example)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "DJANGO_"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", folder], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
