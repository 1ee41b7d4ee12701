"""The Django app on the real stack: decorators through Django's test client, and the
``zeebe_workers`` management command of the example project as a real process."""
from __future__ import annotations

import os
from typing import Iterator

import pytest
from django.test import Client, override_settings

from zeebe_affinity_sync.commands.demo import make_order
from zeebe_affinity_sync.demo import BPMN_FILES
from zeebe_affinity_sync.demo.stack import LocalStack
from zeebe_affinity_sync.django import close_client

from .conftest import REPO
from .procs import PYTHON, running, stop

EXAMPLE = os.path.join(REPO, "examples", "django_app")


def real_settings(stack: LocalStack) -> dict:
    return {"ZEEBE_ADDRESS": stack.zeebe_address, "URL": stack.hub_url, "TOKEN": stack.token}


@pytest.fixture
def on_stack(local_stack) -> Iterator[LocalStack]:
    with override_settings(ZEEBE_AFFINITY=real_settings(local_stack)):
        yield local_stack
    close_client()


def test_decorator_answers_with_the_real_outcome(on_stack):
    order, expected = make_order(7)
    response = Client().post("/orders", order, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in expected} == expected


def test_failure_outcome_and_unknown_process_through_the_middleware(on_stack):
    response = Client().post(
        "/orders", {"orderId": "F", "items": [{"sku": "sold-out", "quantity": 1, "priceCents": 1}]},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["variables"]["sku"] == "sold-out"
    missing = Client().get("/custom")  # starts process "custom", which is not deployed
    assert missing.status_code == 404
    assert missing.json()["error"] == "not-found"


def test_chat_round_with_the_message_decorator(on_stack, local_stack):
    from zeebe_affinity_sync.django import get_client

    start = get_client().create_process_instance_with_affinity("chat", {}, timeout=10)
    conversation = int(start.variables["conversationId"])
    response = Client().post(f"/chat/{conversation}", {"text": "hello django"},
                             content_type="application/json")
    assert response.status_code == 200
    assert response.json()["round"] == 1
    assert 'You said "hello django"' in response.json()["reply"]


def test_management_command_runs_the_workers_and_stops_on_sigterm():
    # engine + hub only: the jobs can only be done by the command's workers
    with LocalStack(workers=False, bpmn_files=()) as stack, running(
        [*PYTHON, "manage.py", "zeebe_workers", "--deploy", *BPMN_FILES],
        cwd=EXAMPLE, env=dict(os.environ, DJANGO_SETTINGS_MODULE="shop.settings", **stack.environ()),
    ) as (proc, out):
        out.wait_for("running affinity worker (publish-outcome) and business workers")
        assert any("deployed order-process" in line for line in out.seen)
        with override_settings(ZEEBE_AFFINITY=real_settings(stack)):
            order, expected = make_order(99)
            response = Client().post("/orders", order, content_type="application/json")
            close_client()
        assert response.status_code == 200, response.content
        body = response.json()
        assert {k: body[k] for k in expected} == expected
        assert stop(proc, out, timeout=30) == 0
        assert any(line.strip() == "stopped" for line in out.rest())


def test_management_command_with_nothing_to_run_says_so(on_stack):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="nothing to run"):
        call_command("zeebe_workers", "--no-affinity-worker")
