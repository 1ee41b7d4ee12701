"""The README keeps its promises: the quick start's two commands verbatim (CI runs the second),
its Python snippets use real names (the Flask ones build working apps), and the configuration
table lists every Flask and Django key with the defaults and environment variables of the code."""
from __future__ import annotations

import ast
import importlib
import json
import os
import re
from typing import Dict, List

from zeebe_affinity_sync import defaults
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


def python_blocks() -> List[str]:
    return re.findall(r"```python\n(.*?)```", read("README.md"), re.S)


def test_python_snippets_compile_and_import_real_names():
    blocks = python_blocks()
    assert len(blocks) >= 3
    for block in blocks:
        tree = ast.parse(block)  # a SyntaxError names the line
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zeebe_affinity_sync"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"README imports {alias.name} from {node.module}"


def test_flask_snippets_build_working_apps(monkeypatch):
    from flask import Flask

    monkeypatch.setenv("ZEEBE_AFFINITY_URL", "ws://127.0.0.1:9")  # what the snippets expect set
    flask_blocks = [b for b in python_blocks() if "from flask import" in b]
    assert len(flask_blocks) == 2
    apps = []
    for block in flask_blocks:
        namespace: dict = {"__name__": "readme_snippet"}
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
        app = namespace["app"] if "app" in namespace else namespace["create_app"]()
        assert isinstance(app, Flask)
        apps.append(app)
    routes = {rule.rule for app in apps for rule in app.url_map.iter_rules()}
    assert {"/orders", "/chat/<int:key>", "/outcomes/<key>", "/custom"} <= routes
    # a view whose body is refused answers by itself, before any client is created
    response = apps[1].test_client().post("/orders", json={"no": "items"})
    assert response.status_code == 400 and response.get_json() == {"error": "items missing"}
    # the first snippet passes the body through: a body that is not a JSON object is the HTTP
    # client's mistake, a 400 JSON answer (not Flask's HTML 500), before any client exists
    for body in (b"[1, 2]", b'"tea"', b"42", b"{oops"):
        for app in apps:
            response = app.test_client().post("/orders", data=body, content_type="application/json")
            assert response.status_code == 400 and response.is_json, (body, response.data[:200])
            # the second snippet's view may refuse the body itself ({"error": "items missing"})
            assert response.get_json()["error"] in ("invalid-body", "items missing")
        assert apps[0].test_client().post("/orders", data=body, content_type="application/json"
                                          ).get_json()["error"] == "invalid-body"


def config_rows() -> Dict[str, List[str]]:
    """The configuration table's rows by Flask key (or first cell when it has none)."""
    text = read("README.md")
    section = text[text.index("## Configuration"):text.index("## Deployment")]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith(("|---", "| client argument")):
            continue  # not a row, the separator, the header
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[2] if cells[2].startswith("`ZEEBE") else cells[0]] = cells
    return rows


def test_configuration_table_defaults_and_env_vars_match_the_code():
    import zeebe_affinity_sync

    package = os.path.dirname(zeebe_affinity_sync.__file__)
    sources = ""
    for folder, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    sources += f.read()
    rows = config_rows()
    checked = 0
    for _, env, flask_key, django_key, default in rows.values():
        for var in re.findall(r"`([A-Z_]+)`", env):
            assert f'"{var}"' in sources, f"the README says the code reads ${var}; it does not"
        flask_key, django_key = flask_key.strip("`"), django_key.strip('`"')
        if flask_key in CONFIG_DEFAULTS and django_key in KEYS:
            value = CONFIG_DEFAULTS[flask_key]
            assert value == KEYS[django_key], f"{flask_key} and {django_key} default differently"
            if isinstance(value, bool) or value is None:
                continue
            shown = f"{value:g}" if isinstance(value, (int, float)) else json.dumps(value).strip('"')
            assert shown in default, f"README default of {flask_key} is {default!r}, the code's is {value!r}"
            checked += 1
    assert checked >= 4  # timeout, mode, failure status, client options
    assert defaults.AFFINITY_TASK_TYPE in rows["relay task type (`zeebe_workers`)"][4]


def error_rows() -> List[List[str]]:
    text = read("README.md")
    section = text[text.index("## Errors as HTTP answers"):text.index("## API reference")]
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith(("|---", "| raised")):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_error_table_matches_the_mapping():
    """Each exception row of the README's error table is what the mapping answers, and every rule
    of the mapping has its row (the README and ERROR_RULES cannot drift apart)."""
    from zeebe_affinity_sync import errors
    from zeebe_affinity_sync.web import ERROR_RULES, WebSettings, error_response

    plain = WebSettings(strategy="with_result")
    collecting = WebSettings(strategy="with_result", outcome_url="/outcomes/{key}")
    covered = set()
    for raised, status, code, extras in error_rows():
        names = [n for n in re.findall(r"`(\w+)`", raised) if isinstance(getattr(errors, n, None), type)]
        if not names:
            continue  # the rows answered before any call: checked below
        cls = getattr(errors, names[0])
        rule = next(r for r in ERROR_RULES if r.exception is cls)
        covered.add(cls)
        exc = cls("detail at ws://10.1.2.3:8089", process_instance_key=7) if cls in (
            errors.AffinityTimeout, errors.ProcessFailed) else cls("detail at ws://10.1.2.3:8089")
        answer = error_response(exc, plain)
        assert status.startswith(str(answer.status)), (raised, status, answer)
        assert code == f"`{answer.body['error']}`", (raised, code, answer.body)
        assert ("Retry-After" in extras) == ("Retry-After" in answer.headers), raised
        for field in re.findall(r"`([a-z][A-Za-z]+)`", extras):
            assert field in answer.body, (raised, field, answer.body)
        assert "10.1.2.3" not in answer.json()
        if "202" in status:
            assert error_response(exc, collecting).status == 202
        if "configurable" in status:
            assert error_response(exc, WebSettings(strategy="with_result", failure_status=409)).status == 409
    assert covered == {r.exception for r in ERROR_RULES}, "a rule of ERROR_RULES has no README row"


def test_error_table_rows_answered_before_any_call():
    from zeebe_affinity_sync.protocol import REQUEST_ID_VARIABLE
    from zeebe_affinity_sync.web import WebSettings, answer_collect, refuse_body, refuse_reserved

    rows = {row[0]: row for row in error_rows()}
    answers = {
        "a request body that is not a JSON object": refuse_body(lambda: b"[1, 2]"),
        f"variables carrying the reserved `{REQUEST_ID_VARIABLE}`": refuse_reserved({REQUEST_ID_VARIABLE: "x"}),
        "a collect key that is not an integer": answer_collect(
            lambda: None, "not-a-key", WebSettings(strategy="with_result"), 0.0),
    }
    for start, answer in answers.items():
        row = next(cells for first, cells in rows.items() if first.startswith(start))
        assert row[1] == str(answer.status) and row[2] == f"`{answer.body['error']}`", (row, answer)
