"""Message correlation over real gRPC: receive tasks, catch events, TTL buffering, ids, start events."""
from __future__ import annotations

import json

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from . import bpmn_models as m
from .helpers import activate, activate_one, complete, create, deploy, publish, rpc_error, state_of


def receive_process(process_id: str = "order", receive: str = "task") -> bytes:
    if receive == "task":
        waiter = '<bpmn:receiveTask id="wait" messageRef="paid"/>'
    else:
        waiter = ('<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="paid"/>'
                  '</bpmn:intermediateCatchEvent>')
    body = ('<bpmn:startEvent id="s"/>' + waiter + m.service_task("after", f"{process_id}-after")
            + '<bpmn:endEvent id="e"/>' + m.chain("s", "wait", "after", "e"))
    return m.process(process_id, body, extra=m.message("paid", "payment-received", "=orderId"))


def test_receive_task_correlates_by_key(zeebe, stub):
    deploy(stub, "order.bpmn", receive_process())
    one = create(stub, "order", {"orderId": "A-1"})
    two = create(stub, "order", {"orderId": "A-2"})
    key = publish(stub, "payment-received", "A-2", {"amount": 10})
    assert key >> 51 == 1
    job = activate_one(stub, "order-after")
    assert job.processInstanceKey == two
    assert json.loads(job.variables) == {"orderId": "A-2", "amount": 10}
    assert activate(stub, "order-after") == []
    assert state_of(zeebe, one) == "ACTIVE"


def test_intermediate_catch_event_with_numeric_key(stub):
    deploy(stub, "order.bpmn", receive_process(receive="event"))
    key = create(stub, "order", {"orderId": 42})
    publish(stub, "payment-received", "42")
    assert activate_one(stub, "order-after").processInstanceKey == key


def test_message_without_ttl_is_dropped_when_nobody_waits(stub):
    deploy(stub, "order.bpmn", receive_process())
    publish(stub, "payment-received", "late", ttl_ms=0)
    create(stub, "order", {"orderId": "late"})
    assert activate(stub, "order-after") == []


def test_buffered_message_correlates_when_the_subscription_opens(zeebe, stub):
    deploy(stub, "order.bpmn", receive_process())
    publish(stub, "payment-received", "early", {"first": 1}, ttl_ms=60_000)
    publish(stub, "payment-received", "early", {"first": 2}, ttl_ms=60_000)
    key = create(stub, "order", {"orderId": "early"})
    job = activate_one(stub, "order-after")
    assert job.processInstanceKey == key and json.loads(job.variables)["first"] == 1  # oldest first
    # the first message correlated once to this process: a second instance gets the next one
    create(stub, "order", {"orderId": "early"})
    assert json.loads(activate_one(stub, "order-after").variables)["first"] == 2


def test_message_correlates_at_most_once_per_process(zeebe, stub):
    deploy(stub, "order.bpmn", receive_process())
    deploy(stub, "audit.bpmn", receive_process("audit"))
    create(stub, "order", {"orderId": "X"})
    create(stub, "order", {"orderId": "X"})
    create(stub, "audit", {"orderId": "X"})
    publish(stub, "payment-received", "X")
    assert len(activate(stub, "order-after")) == 1  # one instance of "order"...
    assert len(activate(stub, "audit-after")) == 1  # ...and one of another process


def test_duplicate_message_id_is_refused_while_buffered(zeebe, stub):
    publish(stub, "m", "k", ttl_ms=60_000, message_id="id-1")
    details = rpc_error(lambda: publish(stub, "m", "k", ttl_ms=60_000, message_id="id-1"),
                        grpc.StatusCode.ALREADY_EXISTS)
    assert "Expected to publish a new message with id 'id-1'" in details
    publish(stub, "m", "other-key", ttl_ms=60_000, message_id="id-1")  # another key: fine
    publish(stub, "m", "k", ttl_ms=60_000)  # no id: no check


def test_message_id_is_free_again_after_the_ttl(zeebe, stub):
    publish(stub, "m", "k", ttl_ms=50, message_id="id-1")
    # the expiry runs on the scheduler thread, in due order: a later timer firing proves it ran
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration>PT0.2S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            + m.service_task("t", "after-pause") + '<bpmn:endEvent id="e"/>' + m.chain("s", "w", "t", "e"))
    deploy(stub, "pause.bpmn", m.process("pause", body))
    create(stub, "pause")
    activate_one(stub, "after-pause")
    assert zeebe.messages() == []
    publish(stub, "m", "k", ttl_ms=50, message_id="id-1")


def test_message_start_event(zeebe, stub):
    body = ('<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="go"/></bpmn:startEvent>'
            + m.service_task("t", "started") + '<bpmn:endEvent id="e"/>' + m.chain("s", "t", "e"))
    extra = '<bpmn:message id="go" name="order-placed"/>'
    deploy(stub, "start.bpmn", m.process("start", body, extra=extra))
    details = rpc_error(lambda: create(stub, "start"), grpc.StatusCode.FAILED_PRECONDITION)
    assert "none start event" in details
    publish(stub, "order-placed", "o-1", {"item": "book"}, ttl_ms=60_000)
    job = activate_one(stub, "started")
    assert json.loads(job.variables) == {"item": "book"}
    # same key while the first instance is active: buffered, starts after it ends
    publish(stub, "order-placed", "o-1", {"item": "pen"}, ttl_ms=60_000)
    assert activate(stub, "started") == []
    complete(stub, job.key)
    assert json.loads(activate_one(stub, "started").variables) == {"item": "pen"}
    # an empty correlation key always starts a new instance
    publish(stub, "order-placed", "", {"item": "cup"})
    assert json.loads(activate_one(stub, "started").variables) == {"item": "cup"}


def test_correlation_key_that_is_not_string_or_number_raises_incident(zeebe, stub):
    deploy(stub, "order.bpmn", receive_process())
    create(stub, "order", {"orderId": {"nested": True}})
    [incident] = zeebe.incidents()
    assert incident["error_type"] == "EXTRACT_VALUE_ERROR" and "correlation key" in incident["error_message"]


def test_publish_validation(stub):
    details = rpc_error(lambda: stub.PublishMessage(pb.PublishMessageRequest(
        name="m", correlationKey="k", variables="[]")), grpc.StatusCode.INVALID_ARGUMENT)
    assert "'ARRAY'" in details
    rpc_error(lambda: stub.PublishMessage(pb.PublishMessageRequest(name="m", tenantId="acme")),
              grpc.StatusCode.INVALID_ARGUMENT)
    response = stub.PublishMessage(pb.PublishMessageRequest(name="m", correlationKey="k", tenantId="<default>"))
    assert response.tenantId == "<default>"
