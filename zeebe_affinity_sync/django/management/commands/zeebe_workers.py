"""``python manage.py zeebe_workers``: run the affinity worker and the business workers.

The affinity (relay) worker takes the ``publish-outcome`` jobs (``ZEEBE_AFFINITY["TASK_TYPE"]``)
and hands each job's variables to the request waiting for them. The business workers are the
``register(worker)`` callables listed in ``ZEEBE_AFFINITY["WORKERS"]``. Both run until SIGINT or
SIGTERM: the first signal lets running jobs finish (warm stop), a second one exits at once.

Both get ``ZEEBE_AFFINITY["WORKER_OPTIONS"]``. The relay worker streams its jobs unless those say
``"stream": False`` (then it long-polls only, as the business workers do unless told to stream).
"""
from __future__ import annotations

import signal
import threading
from typing import Any, Dict, List

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ....errors import ZeebeAffinityError
from ... import conf
from ...client import close_client, get_client


class Command(BaseCommand):
    help = (
        "Run the Zeebe affinity worker (publish-outcome) and the business workers listed in "
        "settings.ZEEBE_AFFINITY['WORKERS'] until SIGINT/SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-affinity-worker", action="store_true",
                            help="do not run the affinity (relay) worker")
        parser.add_argument("--no-business-workers", action="store_true",
                            help="do not run the WORKERS of the settings")
        parser.add_argument("--task-type", default=None,
                            help="task type of the relay task (default: ZEEBE_AFFINITY['TASK_TYPE'])")
        parser.add_argument("--deploy", nargs="+", default=[], metavar="BPMN",
                            help="deploy these BPMN files before starting the workers")
        parser.add_argument("--stop-timeout", type=float, default=30.0,
                            help="seconds to let running jobs finish on stop (default 30)")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = conf.get_settings()
        registrars = [] if options["no_business_workers"] else conf.load_registrars(list(settings.workers))
        relay = not options["no_affinity_worker"]
        if not relay and not registrars:
            raise CommandError(
                "nothing to run: the affinity worker is off and settings.ZEEBE_AFFINITY['WORKERS'] "
                "lists no register(worker) callables"
            )
        task_type = options["task_type"] or settings.task_type
        stop = threading.Event()
        signals_seen: List[int] = []

        def on_signal(signum: int, frame: Any) -> None:
            signals_seen.append(signum)
            if len(signals_seen) > 1:
                self.stderr.write("second signal: exiting without waiting for running jobs")
                raise SystemExit(1)
            self.stdout.write("stopping: letting running jobs finish (send the signal again to exit now)")
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        workers: List[Any] = []
        try:
            client = get_client()
            if options["deploy"]:
                deployment = client.deploy_resource(*options["deploy"])
                for process in deployment.processes:
                    self.stdout.write(f"deployed {process.bpmn_process_id} version {process.version}")
            worker_options: Dict[str, Any] = dict(settings.worker_options)
            if relay:
                workers.append(client.create_affinity_worker(task_type, **worker_options))
            if registrars:
                from ....zeebe.worker import JobWorker

                business = JobWorker(client, **worker_options)
                for registrar in registrars:
                    registrar(business)
                business.start()
                workers.append(business)
            parts = ([f"affinity worker ({task_type})"] if relay else []) + (
                [f"business workers ({', '.join(settings.workers)})"] if registrars else []
            )
            self.stdout.write(f"running {' and '.join(parts)}; Ctrl-C or SIGTERM to stop")
            self.stdout.flush()
            # Wake up now and then: Python runs signal handlers in the main thread only, and a
            # signal the kernel hands to a worker thread would not end a wait without a timeout.
            while not stop.wait(0.5):
                pass
        except ZeebeAffinityError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for worker in reversed(workers):
                worker.stop(options["stop_timeout"])
            close_client()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("stopped")
