"""JobWorker fairness (more task types than slots) and job.extend_timeout, over real gRPC."""
from __future__ import annotations

import collections
import pickle
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

from tests.client import processes
from tests.support.net import wait_until
from zeebe_affinity_sync.engine import EmbeddedZeebe
from zeebe_affinity_sync.zeebe import Job, JobWorker, ZeebeClient
from zeebe_affinity_sync.zeebe.slots import FairSlots

TYPES = [f"fair-{i:02d}" for i in range(40)]


@pytest.fixture
def zeebe() -> Iterator[EmbeddedZeebe]:
    with EmbeddedZeebe() as engine:
        yield engine


@pytest.fixture
def client(zeebe: EmbeddedZeebe) -> Iterator[ZeebeClient]:
    with ZeebeClient(zeebe.address) as zc:
        for job_type in TYPES:
            zc.deploy_resource((f"{job_type}.bpmn", processes.single_task(job_type, job_type)))
        yield zc


def test_40_task_types_share_4_slots(client: ZeebeClient) -> None:
    order: List[str] = []
    running = [0, 0]  # now, most at once
    lock = threading.Lock()

    def make(job_type: str):
        def handle() -> None:
            with lock:
                order.append(job_type)
                running[0] += 1
                running[1] = max(running[1], running[0])
            time.sleep(0.01)
            with lock:
                running[0] -= 1
        return handle

    for job_type in TYPES:
        for _ in range(3):
            client.create_process_instance(job_type)
    worker = JobWorker(client, max_running_jobs=4, poll_request_timeout=5, contended_poll_timeout=0.2)
    for job_type in TYPES:
        worker.register(job_type, make(job_type))
    with worker:
        wait_until(lambda: worker.stats["completed"] == 120, timeout=60)
    assert collections.Counter(order) == {t: 3 for t in TYPES}  # every type was polled
    assert running[1] <= 4
    # shared in turn: well before the last jobs, every type has had one (a type that got the
    # slots first does not drain its own work before the others start)
    first_round = set(order[:80])
    assert first_round == set(TYPES), sorted(set(TYPES) - first_round)


def test_the_last_registered_type_is_polled_while_the_others_idle(client: ZeebeClient) -> None:
    done = threading.Event()
    worker = JobWorker(client, max_running_jobs=4, poll_request_timeout=30, contended_poll_timeout=0.2)
    for job_type in TYPES[:-1]:
        worker.register(job_type, lambda: None)
    worker.register(TYPES[-1], lambda: done.set())
    with worker:
        time.sleep(0.5)  # let the 39 idle types take the slots first
        client.create_process_instance(TYPES[-1])
        # a cycle over 40 types with 4 slots and 0.2 s polls is ~2 s; the 30 s polls would block it
        assert done.wait(15), "the last task type never got a slot"


def test_fair_slots_hand_out_in_turn() -> None:
    slots = FairSlots(2)
    stop = threading.Event()
    assert slots.take(5, stop) == 2  # alone: takes what it asks, up to what is free
    got: Dict[str, int] = {}
    order: List[str] = []

    def taker(name: str) -> None:
        got[name] = slots.take(5, stop)
        order.append(name)

    threads = []
    for name in ("first", "second", "third"):
        thread = threading.Thread(target=taker, args=(name,))
        thread.start()
        threads.append(thread)
        wait_until(lambda n=len(threads): slots.waiting == n)
    slots.give(2)  # two free, three waiting: the oldest gets its share (1), then the next
    wait_until(lambda: len(order) == 2)
    assert order == ["first", "second"] and got == {"first": 1, "second": 1}
    stop.set()
    slots.wake_all()
    threads[2].join(5)
    assert got["third"] == 0 and slots.waiting == 0


def test_a_saturated_taker_gathers_a_batch_before_it_polls() -> None:
    """Slots come back one by one as handlers finish: the taker at the head waits up to
    ``gather`` for about 30% of the slots (Camunda's activation threshold) rather than asking
    the gateway for one job per call, then takes what is free."""
    slots = FairSlots(10, gather=30.0)  # batch: 3 slots
    stop = threading.Event()
    assert slots.take(10, stop) == 10  # saturated: every slot runs a job
    got: List[int] = []
    thread = threading.Thread(target=lambda: got.append(slots.take(8, stop)))
    thread.start()
    wait_until(lambda: slots.waiting == 1)
    slots.give(1)
    slots.give(1)
    threading.Event().wait(0.2)
    assert got == [] and slots.free == 2  # two free, three wanted: still gathering
    slots.give(1)
    thread.join(5)
    assert got == [3] and slots.free == 0  # the batch, in one take

    # the gathering is bounded: after `gather` it takes what is free
    quick = FairSlots(10, gather=0.05)
    assert quick.take(10, stop) == 10
    quick.give(1)
    assert quick.take(8, stop) == 1
    # an idle worker is not held back: enough is free at once; gather=0 never waits
    assert FairSlots(10, gather=30.0).take(8, stop) == 8
    eager = FairSlots(10, gather=0.0)
    assert eager.take(10, stop) == 10
    eager.give(1)
    assert eager.take(8, stop) == 1
    # stop() ends a gathering taker at once
    stuck = FairSlots(10, gather=30.0)
    assert stuck.take(10, stop) == 10
    stuck.give(1)
    ended: List[int] = []
    waiter = threading.Thread(target=lambda: ended.append(stuck.take(8, stop)))
    waiter.start()
    wait_until(lambda: stuck.waiting == 1)
    stop.set()
    stuck.wake_all()
    waiter.join(5)
    assert ended == [0]


# ----------------------------------------------------------------------------- extend_timeout


def test_a_handler_extends_its_job_timeout(zeebe: EmbeddedZeebe, client: ZeebeClient) -> None:
    seen: List[Any] = []

    def slow(job: Job) -> Dict[str, Any]:
        seen.append(job.key)
        before = next(j["deadline"] for j in zeebe.jobs() if j["key"] == job.key)
        job.extend_timeout(60)
        after = next(j["deadline"] for j in zeebe.jobs() if j["key"] == job.key)
        assert after > before + 30_000  # ms on the engine's side
        time.sleep(2.0)  # longer than the 1 s lock it was activated with
        return {"slow": True}

    key = client.create_process_instance(TYPES[0]).process_instance_key
    worker = JobWorker(client, timeout=1, poll_request_timeout=1)
    worker.register(TYPES[0], slow)
    other = JobWorker(client, name="other", timeout=1, poll_request_timeout=1)
    other.register(TYPES[0], lambda: seen.append("other took it"))
    with worker:
        wait_until(lambda: len(seen) == 1)
        with other:  # without the extension the job would time out and come to this worker
            wait_until(lambda: zeebe.process_instance(key)["state"] == "COMPLETED", timeout=15)
    assert len(seen) == 1 and zeebe.variables(key)["slow"] is True


def test_extend_timeout_needs_a_client_and_is_not_pickled() -> None:
    job = Job(key=1, type="t", process_instance_key=2, bpmn_process_id="p", process_definition_version=1,
              process_definition_key=3, element_id="e", element_instance_key=4, custom_headers={}, worker="w",
              retries=3, deadline=0.0, variables={})
    with pytest.raises(RuntimeError, match="update_job_timeout"):
        job.extend_timeout(10)


def test_an_activated_job_pickles_without_its_client(client: ZeebeClient) -> None:
    client.create_process_instance(TYPES[1])
    [job] = client.activate_jobs(TYPES[1], request_timeout=5)
    copy = pickle.loads(pickle.dumps(job))
    assert copy == job and "_client" not in copy.__dict__
    job.extend_timeout(30)  # bound to the client that activated it
    with pytest.raises(RuntimeError):
        copy.extend_timeout(30)
    client.complete_job(job.key)
