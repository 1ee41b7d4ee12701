"""The tutorial of docs/testing.md runs: each of its test snippets passes as written."""
from __future__ import annotations

import os
import re
import shutil

from zeebe_affinity_sync.demo import BPMN_FILES

from .conftest import BPMN

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "testing.md")


def snippets():
    with open(DOC, encoding="utf-8") as fh:
        text = fh.read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    # the Django one needs a settings module; it runs as examples/django_app/test_shop.py
    return [b for b in blocks if "def test_" in b and "django" not in b]


def test_the_tutorial_snippets_pass(pytester):
    found = snippets()
    assert len(found) >= 6, f"expected the tutorial's test snippets, found {len(found)}"
    bpmn_dir = pytester.path / "bpmn"
    bpmn_dir.mkdir()
    for name in os.listdir(BPMN):
        shutil.copy(os.path.join(BPMN, name), bpmn_dir / name)
    for path in BPMN_FILES:
        shutil.copy(path, bpmn_dir / os.path.basename(path))
    for index, block in enumerate(found):
        pytester.makepyfile(**{f"test_doc_{index}": "from zeebe_affinity_sync.testing import assert_that\n" + block})
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=sum(block.count("\ndef test_") + block.startswith("def test_") for block in found))
