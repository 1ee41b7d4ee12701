"""EngineLock: the fair hand-off a looping token flow relies on, and logging after release."""
from __future__ import annotations

import logging
import threading
from typing import List

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb
from zeebe_affinity_sync.gateway import gateway_pb2_grpc

from tests.support.net import wait_until
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.engine.lock import EngineLock

from . import bpmn_models as m
from .helpers import activate_one, create, deploy


def test_let_waiters_in_returns_only_after_the_blocked_threads_had_the_lock():
    lock = EngineLock()
    order: List[str] = []
    release, holding = threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            holding.set()
            release.wait(30)

    def waiter() -> None:
        with lock:
            order.append("waiter")

    def flow() -> None:
        lock.let_waiters_in()
        order.append("flow")

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holding.wait(10)
    threads.append(threading.Thread(target=waiter))
    threads[1].start()
    wait_until(lambda: lock.blocked == 1)
    threads.append(threading.Thread(target=flow))
    threads[2].start()
    wait_until(lambda: lock.yielding == 1)
    assert order == []  # the flow waits for the blocked command, not for a timer
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["waiter", "flow"]
    assert lock.blocked == 0 and lock.yielding == 0


def test_let_waiters_in_is_free_when_nobody_waits_and_the_lock_is_reentrant():
    lock = EngineLock()
    lock.let_waiters_in()  # returns at once
    with lock:
        with lock:
            assert lock.held()
        assert lock.held()
    assert not lock.held()


def test_log_records_are_written_after_the_lock_is_released(caplog):
    lock = EngineLock()
    logger = logging.getLogger("tests.engine.lock")
    seen: List[bool] = []

    class Probe(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(lock.held())

    probe = Probe()
    logger.addHandler(probe)
    try:
        with caplog.at_level(logging.INFO, logger="tests.engine.lock"):
            with lock:
                with lock:
                    lock.log_later(logger, logging.INFO, "deployed %s", "x")
                assert seen == []  # still held (re-entrant): not yet
            assert seen == [False]
            lock.log_later(logger, logging.DEBUG, "filtered %s", "out")
            with lock:
                pass
    finally:
        logger.removeHandler(probe)
    assert [r.getMessage() for r in caplog.records if r.name == "tests.engine.lock"] == ["deployed x"]


def test_engine_info_logs_are_not_written_under_the_engine_lock(zeebe, stub, caplog):
    held: List[bool] = []

    class Probe(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            held.append(zeebe.engine._lock.held())

    probe = Probe(level=logging.INFO)
    engine_logger = logging.getLogger("zeebe_affinity_sync.engine")
    engine_logger.addHandler(probe)
    try:
        with caplog.at_level(logging.INFO, logger="zeebe_affinity_sync.engine"):
            deploy(stub, "demo.bpmn", m.tasks_process("demo", ["work"]))
            create(stub, "demo")
            stub.FailJob(pb.FailJobRequest(jobKey=activate_one(stub, "work").key, retries=0, errorMessage="boom"))
    finally:
        engine_logger.removeHandler(probe)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("zeebe_affinity_sync.engine")]
    assert any("deployed process 'demo'" in text for text in messages)
    assert any("JOB_NO_RETRIES" in text for text in messages)
    assert held and not any(held)


def test_a_looping_flow_yields_to_commands_again_and_again():
    # start -> gw --(default)--> spin -> gw ... forever; a small step budget makes it yield often
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="again"/>'
            '<bpmn:intermediateThrowEvent id="spin"/><bpmn:endEvent id="e"/>'
            + m.flow("f0", "s", "gw") + m.flow("out", "gw", "e", "= stop = true") + m.flow("again", "gw", "spin")
            + m.flow("back", "spin", "gw"))
    with EmbeddedZeebe(step_budget=20) as zeebe, grpc.insecure_channel(zeebe.address) as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        deploy(stub, "loop.bpmn", m.process("loop", body))
        deploy(stub, "demo.bpmn", m.tasks_process("demo", ["work"]))
        looping = create(stub, "loop")
        for _ in range(5):  # command after command, each answered while the loop keeps spinning
            other = create(stub, "demo")
            assert activate_one(stub, "work").processInstanceKey == other
        before = zeebe.stats()["token_flow_yields"]
        wait_until(lambda: zeebe.stats()["token_flow_yields"] > before)
        zeebe.engine.set_variables(looping, {"stop": True})
        wait_until(lambda: zeebe.process_instance(looping)["state"] == "COMPLETED")
