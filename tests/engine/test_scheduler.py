"""The engine's scheduler thread: due order, cancellation, compaction, stop."""
from __future__ import annotations

import threading

from zeebe_affinity_sync.engine.scheduler import Scheduler


def test_runs_in_due_order_and_skips_cancelled():
    scheduler = Scheduler("test-scheduler")
    scheduler.start()
    fired = []
    done = threading.Event()
    try:
        scheduler.call_later(0.06, fired.append, "late")
        cancelled = scheduler.call_later(0.03, fired.append, "cancelled")
        scheduler.call_later(0.0, fired.append, "now")
        scheduler.call_later(0.08, done.set)
        scheduler.cancel(cancelled)
        assert done.wait(10)
        assert fired == ["now", "late"]
    finally:
        scheduler.stop()
        scheduler.join(5)


def test_failing_callback_does_not_kill_the_thread(caplog):
    scheduler = Scheduler("test-scheduler")
    scheduler.start()
    done = threading.Event()
    try:
        scheduler.call_later(0, lambda: 1 / 0)
        scheduler.call_later(0.01, done.set)
        assert done.wait(10)
        assert "failed" in caplog.text
    finally:
        scheduler.stop()
        scheduler.join(5)


def test_cancelled_entries_are_compacted():
    scheduler = Scheduler("test-scheduler")  # not started: only the bookkeeping is checked
    handles = [scheduler.call_later(3600, print) for _ in range(3000)]
    for handle in handles[:2500]:
        scheduler.cancel(handle)
    assert len(scheduler) == 500
    assert len(scheduler._heap) < 3000  # compacted, not just marked


def test_stop_ends_the_thread():
    scheduler = Scheduler("test-scheduler")
    scheduler.start()
    scheduler.call_later(3600, print)
    scheduler.stop()
    scheduler.join(5)
    assert not scheduler._thread.is_alive()


def test_cancelling_an_entry_that_already_ran_does_not_skew_the_count():
    # a job completed after its deadline callback was taken from the heap cancels a handle that
    # is no longer queued: len() must stay the number of live entries, never below zero
    scheduler = Scheduler("test-scheduler")  # not started: entries are run by run_due here
    ran = scheduler.call_later(0, list)
    waiting = scheduler.call_later(3600, print)
    assert scheduler.run_due() == 1
    scheduler.cancel(ran)
    assert len(scheduler) == 1
    scheduler.cancel(waiting)
    scheduler.cancel(waiting)  # twice: counted once
    assert len(scheduler) == 0


def test_run_due_takes_an_entry_due_a_hair_after_the_new_time_but_not_one_scheduled_during_it():
    # a timer due "now + delay" with now read a moment before the scheduler's clock is due a few
    # microseconds after a clock moved to exactly its date: moving the clock fires it, here
    scheduler = Scheduler("test-scheduler")  # not started: only run_due runs entries
    ran = []
    scheduler.call_later(3600.0002, ran.append, "timer")
    scheduler.clock.advance(3600)
    later = []

    def reschedule() -> None:  # like a yielded token flow: scheduled while run_due runs
        later.append(scheduler.call_later(0.0002, ran.append, "continuation"))

    scheduler.call_later(0, reschedule)
    assert scheduler.run_due() == 2
    assert ran == ["timer"] and len(later) == 1 and len(scheduler) == 1  # the continuation waits
    scheduler.call_later(0.5, ran.append, "far")
    scheduler.run_due()
    assert "far" not in ran  # well beyond the grace: still waits
