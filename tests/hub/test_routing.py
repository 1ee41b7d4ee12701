"""Routing through a real hub (gunicorn subprocess) with real websocket clients."""
from __future__ import annotations

from tests.hub.conftest import unique
from tests.support.net import wait_until

from zeebe_affinity_sync import protocol


def test_hello_announces_version_and_limits(main_hub, connect):
    hello = connect(main_hub).hello
    assert hello["version"] == protocol.PROTOCOL_VERSION
    assert hello["role"] == "hub"
    assert hello["maxFrameBytes"] == 65536
    assert hello["maxSubscriptions"] == 50
    assert hello["broadcast"] is True


def test_outcome_goes_only_to_its_subscriber(main_hub, connect):
    owner, other, worker = connect(main_hub), connect(main_hub), connect(main_hub)
    request_id, other_key = unique("req"), unique("req")
    assert owner.subscribe(request_id) == []
    assert other.subscribe(other_key) == []
    worker.register("REGISTER_WORKER")
    worker.outcome("2251799813685249", {"answer": 42}, request_id=request_id, frame_id="o1")

    assert worker.recv() == {"type": "ACK", "id": "o1", "status": "delivered"}
    got = owner.recv()
    # Delivered as sent, minus the "id" that asked for the ACK.
    assert got == {"type": "PROCESS_OUTCOME", "processInstanceKey": "2251799813685249",
                   "requestId": request_id, "variables": {"answer": 42}}
    assert other.fence() == []


def test_instance_key_is_a_routing_key_and_each_connection_gets_one_copy(main_hub, connect):
    both, by_instance, worker = connect(main_hub), connect(main_hub), connect(main_hub)
    request_id, instance = unique("req"), "2251799813690001"
    both.subscribe(request_id, instance)
    by_instance.subscribe(instance)
    worker.outcome(instance, {"x": 1}, request_id=request_id, frame_id="o2")
    assert worker.recv()["type"] == "ACK"
    assert both.recv()["variables"] == {"x": 1}
    assert by_instance.recv()["variables"] == {"x": 1}
    assert both.fence() == []  # one copy although both of its keys matched
    assert by_instance.fence() == []


def test_seed_client_gets_the_broadcast(main_hub, connect):
    seed, subscriber, worker = connect(main_hub), connect(main_hub), connect(main_hub)
    seed.register()
    subscriber.register()
    key = unique("req")
    subscriber.subscribe(key)
    worker.register("REGISTER_WORKER")
    worker.outcome("2251799813690002", {"seed": True}, request_id=key, frame_id="o3")
    assert worker.recv()["status"] == "delivered"
    assert subscriber.recv()["variables"] == {"seed": True}
    copy = seed.recv()
    assert copy["type"] == "PROCESS_OUTCOME" and copy["processInstanceKey"] == "2251799813690002"
    assert "id" not in copy
    assert subscriber.fence() == []


def test_seed_frames_without_id_are_relayed_without_ack(main_hub, connect):
    seed, worker = connect(main_hub), connect(main_hub)
    seed.register()
    worker.register("REGISTER_WORKER")
    worker.send_text('{"type":"PROCESS_OUTCOME","processInstanceKey":"777","variables":{"v":1}}')
    assert seed.recv() == {"type": "PROCESS_OUTCOME", "processInstanceKey": "777", "variables": {"v": 1}}
    assert worker.fence() == []  # no ACK was asked for, none came


def test_outcome_before_subscription_is_held_then_handed_over_once(main_hub, connect):
    worker = connect(main_hub)
    request_id = unique("req")
    worker.outcome("2251799813690003", {"early": True}, request_id=request_id, frame_id="o4")
    assert worker.recv() == {"type": "ACK", "id": "o4", "status": "held"}
    late = connect(main_hub)
    handed = late.subscribe(request_id)
    assert [f["variables"] for f in handed] == [{"early": True}]
    # Consumed: a second subscriber to the same keys gets nothing.
    again = connect(main_hub)
    assert again.subscribe(request_id, "2251799813690003") == []


def test_held_outcome_is_taken_by_any_of_its_keys(main_hub, connect):
    worker = connect(main_hub)
    request_id, instance = unique("req"), "2251799813690004"
    worker.outcome(instance, {"k": "v"}, request_id=request_id, frame_id="o5")
    assert worker.recv()["status"] == "held"
    assert [f["requestId"] for f in connect(main_hub).subscribe(instance)] == [request_id]
    assert connect(main_hub).subscribe(request_id) == []


def test_unsubscribe_stops_delivery(main_hub, connect):
    client, worker = connect(main_hub), connect(main_hub)
    key = unique("req")
    client.subscribe(key)
    client.send({"type": "UNSUBSCRIBE", "keys": [key], "id": "u1"})
    assert client.recv() == {"type": "ACK", "id": "u1"}
    worker.outcome("2251799813690005", {}, request_id=key, frame_id="o6")
    assert worker.recv()["status"] == "held"  # nobody wants it any more
    assert client.fence() == []


def test_error_outcome_status_is_relayed(main_hub, connect):
    client, worker = connect(main_hub), connect(main_hub)
    key = unique("req")
    client.subscribe(key)
    worker.send({"type": "PROCESS_OUTCOME", "processInstanceKey": "9", "requestId": key,
                 "variables": {"reason": "boom"}, "status": "error", "id": "o7"})
    assert worker.recv()["type"] == "ACK"
    assert client.recv()["status"] == "error"


def test_too_many_subscriptions_get_an_error_and_nothing_subscribed(main_hub, connect):
    client = connect(main_hub)
    keys = [unique() for _ in range(51)]
    client.send({"type": "SUBSCRIBE", "keys": keys, "id": "big"})
    error = client.recv()
    assert error["type"] == "ERROR" and error["code"] == "too-many-subscriptions"
    assert error["id"] == "big"
    assert "at most 50" in error["message"]
    assert client.subscribe(*keys[:50]) == []  # the limit itself is fine


def test_disconnect_removes_subscriptions(main_hub, connect):
    client = connect(main_hub)
    key = unique("gone")
    client.subscribe(key)
    before = main_hub.stats()["subscriptions"]
    client.close()
    wait_until(lambda: main_hub.stats()["subscriptions"] <= before - 1)
    worker = connect(main_hub)
    worker.outcome("1", {}, request_id=key, frame_id="o8")
    assert worker.recv()["status"] == "held"


def test_hello_role_is_counted_in_stats_without_broadcast(main_hub, connect):
    wait_until(lambda: main_hub.stats()["connections"]["total"] == 0, timeout=20)
    peer = connect(main_hub)
    peer.send({"type": "HELLO", "version": protocol.PROTOCOL_VERSION, "role": "worker"})
    assert peer.fence() == []  # the hub has handled the HELLO, and sent nothing for it
    connections = main_hub.stats()["connections"]
    assert connections["worker"] == 1 and connections["unregistered"] == 0
    assert connections["broadcast"] == 0
