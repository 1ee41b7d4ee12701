"""The client side of contract C1 and of the hub connection's timeouts, against a scripted
websocket server on a real socket (tests/support/raw_hub.py) and the real engine:
receipts, duplicates, the late-outcome policy, seed-style outcomes, refused upgrades, a hub that
is down, and a peer that stops reading."""
from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import pytest

from tests.support.net import free_port
from tests.support.raw_hub import RawConnection, RawHub
from zeebe_affinity_sync import ZBAffinityClient, protocol
from zeebe_affinity_sync.affinity.hub_connection import HubConnection
from zeebe_affinity_sync.errors import AffinityTimeout, AffinityUnavailable


def frames_of(connection: RawConnection, kind: str) -> List[Dict[str, Any]]:
    return [f for f in connection.frames if f.get("type") == kind]


def subscribed_keys(connection: RawConnection) -> List[str]:
    return [k for f in frames_of(connection, "SUBSCRIBE") for k in f["keys"]]


def answer_each_subscribe(copies: int = 1, *, same_delivery: bool = True, seed: bool = False) -> Any:
    """on_frame: answer every SUBSCRIBE key that looks like a request id with an outcome."""

    def on_frame(connection: RawConnection, frame: Dict[str, Any]) -> None:
        if frame.get("type") != "SUBSCRIBE" or frame.get("id"):
            return
        for key in frame["keys"]:
            for n in range(copies):
                variables = {"answered": key}
                outcome: Dict[str, Any] = {"type": "PROCESS_OUTCOME", "processInstanceKey": "77",
                                           "variables": variables}
                if seed:  # a seed worker: the request id only among the variables
                    variables[protocol.REQUEST_ID_VARIABLE] = key
                else:
                    outcome["requestId"] = key
                outcome["deliveryId"] = f"d-{key}" if same_delivery else f"d-{key}-{n}"
                connection.send(outcome)

    return on_frame


def client_for(engine: Any, hub: RawHub, **options: Any) -> ZBAffinityClient:
    options.setdefault("affinity_timeout", 20.0)
    return ZBAffinityClient(engine.address, hub.url, None, **options)


def test_hello_announces_receipts_and_each_outcome_is_receipted_once_in_hand(engine: Any) -> None:
    with RawHub(on_frame=answer_each_subscribe()) as hub, client_for(engine, hub) as client:
        outcome = client.create_process_instance_with_affinity("relay-first", {"n": 1})
        assert outcome.process_instance_key == 77
        connection = hub.connection()
        hello = frames_of(connection, "HELLO")[0]
        assert hello["receipts"] is True and hello["role"] == "client"
        request_id = outcome.request_id
        hub.wait_for(lambda: frames_of(connection, "RECEIPT"))
        assert [d for f in frames_of(connection, "RECEIPT") for d in f["deliveryIds"]] == [f"d-{request_id}"]
        assert outcome.variables == {"answered": request_id}


def test_duplicates_are_dropped_receipted_again_and_never_handed_back(engine: Any) -> None:
    """Three copies: the same deliveryId twice (a re-subscribe) and once under a new one (a
    relay worker that lost its ACK). One reaches the caller; none is treated as late."""
    on_frame = answer_each_subscribe(copies=3, same_delivery=False)
    seen: List[Any] = []
    done = threading.Event()

    def on_outcome(outcome: Any) -> None:
        seen.append(outcome)
        done.set()

    with RawHub(on_frame=on_frame) as hub, client_for(engine, hub) as client:
        client.create_process_instance_with_affinity("relay-first", {"n": 1}, cb=on_outcome)
        assert done.wait(20)
        connection = hub.connection()
        hub.wait_for(lambda: len([d for f in frames_of(connection, "RECEIPT") for d in f["deliveryIds"]]) == 3)
        # the hub sends the first copy again (as after a re-subscribe): receipted again, dropped
        connection.send({"type": "PROCESS_OUTCOME", "processInstanceKey": "77", "variables": {},
                         "requestId": seen[0].request_id, "deliveryId": f"d-{seen[0].request_id}-0"})
        hub.wait_for(lambda: len([d for f in frames_of(connection, "RECEIPT") for d in f["deliveryIds"]]) == 4)
        assert len(seen) == 1
        # nothing came late, so nothing was handed back to the hub
        assert frames_of(connection, "PROCESS_OUTCOME") == []


def test_a_seed_outcome_is_matched_by_the_request_id_in_its_variables(engine: Any) -> None:
    with RawHub(on_frame=answer_each_subscribe(seed=True)) as hub, client_for(engine, hub) as client:
        outcome = client.create_process_instance_with_affinity("relay-first", {"n": 2})
        assert protocol.REQUEST_ID_VARIABLE not in outcome.variables
        assert outcome.request_id and outcome.variables == {"answered": outcome.request_id}


def test_a_timed_out_request_keeps_listening_and_its_late_outcome_lands_here(engine: Any) -> None:
    """Late-outcome policy: the watch stays for collect_ttl; the late outcome is kept in this
    process (get_outcome answers it at once), handed back to the hub routed by its instance key
    only (for other processes), its request id unsubscribed and its delivery receipted."""
    with RawHub() as hub, client_for(engine, hub, collect_ttl=60.0) as client:
        with pytest.raises(AffinityTimeout):
            client.create_process_instance_with_affinity("relay-first", {"n": 3}, timeout=0.5)
        connection = hub.connection()
        request_id = subscribed_keys(connection)[0]
        time.sleep(0.3)  # the writer's lazy batch would have carried an UNSUBSCRIBE by now
        assert frames_of(connection, "UNSUBSCRIBE") == []
        assert client.pending_count == 0 and client.watched_key_count == 0
        connection.send({"type": "PROCESS_OUTCOME", "processInstanceKey": "4242", "requestId": request_id,
                         "variables": {"late": True}, "deliveryId": "late-1"})
        hub.wait_for(lambda: frames_of(connection, "PROCESS_OUTCOME") and frames_of(connection, "RECEIPT")
                     and frames_of(connection, "UNSUBSCRIBE"))
        handed_back = frames_of(connection, "PROCESS_OUTCOME")[0]
        assert handed_back["processInstanceKey"] == "4242" and "requestId" not in handed_back
        assert handed_back["variables"] == {"late": True}
        assert frames_of(connection, "RECEIPT")[0]["deliveryIds"] == ["late-1"]
        assert request_id in frames_of(connection, "UNSUBSCRIBE")[0]["keys"]
        assert client.get_outcome(4242, timeout=0).variables == {"late": True}


def test_lingering_watches_are_re_subscribed_after_a_reconnect(engine: Any) -> None:
    with RawHub() as hub, client_for(engine, hub, collect_ttl=60.0, reconnect_initial=0.05,
                                     reconnect_max=0.2) as client:
        with pytest.raises(AffinityTimeout):
            client.create_process_instance_with_affinity("relay-first", {"n": 4}, timeout=0.3)
        first = hub.connection()
        request_id = subscribed_keys(first)[0]
        first.close()
        hub.wait_for(lambda: len(hub.connections) == 2)
        second = hub.connections[1]
        hub.wait_for(lambda: request_id in subscribed_keys(second))


def test_refused_upgrades_fail_at_once_naming_the_cause(engine: Any) -> None:
    for status, cause in ((401, "token"), (403, "forbidden"), (404, "wrong path")):
        with RawHub(status=status) as hub, client_for(engine, hub, affinity_timeout=30.0) as client:
            started = time.monotonic()
            with pytest.raises(AffinityUnavailable) as info:
                client.create_process_instance_with_affinity("relay-first", {"n": 1})
            assert time.monotonic() - started < 4.0  # not the 30 s timeout, not even connect_timeout
            assert f"HTTP {status}" in str(info.value) and cause in str(info.value)
            assert "refused" in str(info.value)


def test_a_hub_that_is_down_costs_connect_timeout_not_the_request_timeout(engine: Any) -> None:
    url = f"ws://127.0.0.1:{free_port()}/"
    with ZBAffinityClient(engine.address, url, None, 30.0, connect_timeout=1.0) as client:
        for _ in range(2):  # at first use, and once it is known to be down
            started = time.monotonic()
            with pytest.raises(AffinityUnavailable, match="cannot be reached within 1s"):
                client.create_process_instance_with_affinity("relay-first", {"n": 1})
            assert time.monotonic() - started < 5.0


def test_a_stalled_peer_bounds_the_relay_wait_and_the_reader_keeps_reading() -> None:
    """The hub stops reading: a relay's publish gives up within its timeout in total (no wait on a
    writer blocked in send), the reader still hands over what the hub sends, and the writer
    drops the connection after write_timeout (then reconnects)."""
    received: List[Dict[str, Any]] = []
    with RawHub(recv_buffer=4096) as hub:
        connection = HubConnection(hub.url, on_outcome=received.append, pending_keys=lambda: [],
                                   write_timeout=1.5, reconnect_initial=0.05, reconnect_max=0.2).start()
        try:
            assert connection.wait_connected(10)
            raw = hub.connection()
            hub.wait_for(lambda: frames_of(raw, "HELLO"))
            hub.reading.clear()  # from now on nobody reads the client's frames
            blob = "x" * 900_000
            for n in range(40):  # until the socket buffers are full and a write times out
                started = time.monotonic()
                with pytest.raises(AffinityUnavailable):
                    connection.publish_outcome(protocol.process_outcome(n, {"blob": blob}), timeout=0.3)
                assert time.monotonic() - started < 0.3 + 0.5  # in total, whatever the writer does
                if n == 3:
                    raw.send({"type": "PROCESS_OUTCOME", "processInstanceKey": "5", "requestId": "r-5",
                              "variables": {}})
                    deadline = time.monotonic() + 5
                    while not received and time.monotonic() < deadline:
                        time.sleep(0.02)
                    assert [f["requestId"] for f in received] == ["r-5"]  # the reader kept reading
                if len(hub.connections) >= 2:
                    break
            # the writer gave up on the stuck socket after write_timeout; the reader reconnected
            hub.wait_for(lambda: len(hub.connections) >= 2, timeout=15)
            hub.reading.set()
            assert connection.wait_connected(10)
        finally:
            connection.stop()


def test_pings_from_the_hub_are_answered_by_the_writer() -> None:
    with RawHub() as hub:
        connection = HubConnection(hub.url, on_outcome=lambda f: None, pending_keys=lambda: []).start()
        try:
            assert connection.wait_connected(10)
            raw = hub.connection()
            raw.ping(b"abc")
            hub.wait_for(lambda: raw.pongs == 1)
        finally:
            connection.stop()


def test_a_process_that_first_starts_a_relay_worker_says_role_worker(engine: Any) -> None:
    with RawHub() as hub, client_for(engine, hub) as client:
        client.create_affinity_worker("publish-outcome-never-used")
        hello = frames_of(hub.connection(), "HELLO")[0]
        assert hello["role"] == "worker" and hello["receipts"] is True


def test_receipts_not_sent_before_a_drop_go_out_on_the_next_connection(engine: Any) -> None:
    with RawHub() as hub:
        connection = HubConnection(hub.url, on_outcome=lambda f: None, pending_keys=lambda: [],
                                   receipts=True, reconnect_initial=0.05, reconnect_max=0.2).start()
        try:
            assert connection.wait_connected(10)
            first = hub.connection()
            first.close()  # the hub side goes away ...
            hub.wait_for(lambda: first.closed)
            deadline = time.monotonic() + 5
            while connection.connected and time.monotonic() < deadline:
                time.sleep(0.01)
            connection.receipt(["kept-1"])  # ... and the receipt is due while disconnected
            hub.wait_for(lambda: len(hub.connections) == 2)
            second = hub.connections[1]
            hub.wait_for(lambda: [d for f in frames_of(second, "RECEIPT") for d in f["deliveryIds"]] == ["kept-1"])
        finally:
            connection.stop()


def test_lingering_watches_stay_within_half_the_hubs_subscription_limit(engine: Any) -> None:
    def on_frame(connection: RawConnection, frame: Dict[str, Any]) -> None:
        if frame.get("type") == "HELLO":
            connection.send({"type": "HELLO", "version": 1, "maxSubscriptions": 2, "receipts": True})

    with RawHub(on_frame=on_frame) as hub, client_for(engine, hub, collect_ttl=60.0) as client:
        for n in range(2):
            with pytest.raises(AffinityTimeout):
                client.create_process_instance_with_affinity("relay-first", {"n": n}, timeout=0.3)
        connection = hub.connection()
        first, second = subscribed_keys(connection)[:2]
        # one lingering watch allowed: the older one is let go, the newer one stays
        hub.wait_for(lambda: any(first in f["keys"] for f in frames_of(connection, "UNSUBSCRIBE")))
        assert not any(second in f["keys"] for f in frames_of(connection, "UNSUBSCRIBE"))
        assert client._state.transport.lingering_count == 1  # type: ignore[union-attr]
