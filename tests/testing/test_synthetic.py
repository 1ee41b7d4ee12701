"""FEEL literals of mock_child_process: every JSON value evaluates back to itself in our FEEL."""
from __future__ import annotations

import pytest

from zeebe_affinity_sync.engine.feel import evaluate, to_json
from zeebe_affinity_sync.testing.synthetic import child_process_bpmn, feel_literal


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 12345678901234, 2.5, 1e-05, -0.125, "", "plain", 'quote " and \\ backslash',
    "line\nbreak\ttab", "unicode ✓", [], [1, "two", None, [3.5]], {}, {"a": 1, "b c": {"d": [True]}},
])
def test_a_literal_evaluates_to_its_value(value):
    assert to_json(evaluate(feel_literal(value), {})) == value


def test_non_json_values_are_refused():
    with pytest.raises(TypeError, match="JSON types"):
        feel_literal(object())
    with pytest.raises(ValueError, match="finite"):
        feel_literal(float("nan"))
    with pytest.raises(TypeError, match="keys must be strings"):
        feel_literal({1: 2})
    with pytest.raises(ValueError, match="not a variable name"):
        child_process_bpmn("child", {"not a name": 1})
