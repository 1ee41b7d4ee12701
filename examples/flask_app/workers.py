"""The example's workers, for when the app runs against a real Zeebe (ZEEBE_ADDRESS set).

    ZEEBE_ADDRESS=zeebe:26500 ZEEBE_AFFINITY_URL=ws://hub:8089 python workers.py

Deploys ``bpmn/*.bpmn``, then runs the affinity worker (``publish-outcome``: hands each outcome
to the waiting request through the hub) and the business workers (``price-order``,
``reserve-stock``, ``chat-open``, ``chat-reply``; their code is
``zeebe_affinity_sync/demo/workers.py``) until Ctrl-C / SIGTERM.
"""
from __future__ import annotations

import glob
import logging
import os
import signal
import threading
from typing import Any

from zeebe_affinity_sync import JobWorker, ZBAffinityClient
from zeebe_affinity_sync.demo.workers import register

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        logging.info("signal %d: stopping after the running jobs", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with ZBAffinityClient() as client:  # ZEEBE_ADDRESS, ZEEBE_AFFINITY_URL, ZEEBE_AFFINITY_TOKEN
        client.deploy_resource(*sorted(glob.glob(os.path.join(HERE, "bpmn", "*.bpmn"))))
        relay = client.create_affinity_worker("publish-outcome")
        business = JobWorker(client, name="example-business")
        register(business)
        business.start()
        logging.info("workers running; Ctrl-C to stop")
        # Wake up now and then: Python runs signal handlers in the main thread only, and a signal
        # the kernel hands to one of the worker threads would not end a wait without a timeout.
        while not stop.wait(0.5):
            pass
        business.stop()
        relay.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
