"""Fixtures of the testing-toolkit tests: pytester for sessions of their own, the BPMN folder."""
from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]

BPMN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bpmn")


def bpmn(name: str) -> str:
    """Absolute path of one of this folder's BPMN files."""
    path = os.path.join(BPMN, name)
    assert os.path.exists(path), path
    return path


@pytest.fixture
def user_session(pytester):
    """Write a user's test file and run it in-process; returns pytest's RunResult.

    ``BPMN`` in the test text is the absolute path of this folder's BPMN files.
    """
    def run(source: str, *args: str, ini: str = "", subprocess: bool = False):
        pytester.makepyfile(test_user=source.replace("{BPMN}", BPMN))
        if ini:
            pytester.makeini("[pytest]\n" + ini)
        runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        return runner("-p", "no:cacheprovider", *args)

    return run
