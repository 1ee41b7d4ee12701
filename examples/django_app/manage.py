#!/usr/bin/env python
"""Django's command-line utility for the example project.

``python manage.py runserver`` with no ``ZEEBE_ADDRESS`` set first starts the embedded Zeebe
engine, an affinity hub and the workers (a LocalStack) in this process and points the project
at them through the environment; the autoreloader's child inherits that environment. With
``ZEEBE_ADDRESS`` (and ``ZEEBE_AFFINITY_URL``) set, nothing is started: run
``python manage.py zeebe_workers --deploy bpmn/*.bpmn`` beside the server.
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
from typing import Any


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    if len(sys.argv) > 1 and sys.argv[1] == "runserver" and not os.environ.get("ZEEBE_ADDRESS"):
        from zeebe_affinity_sync.demo.stack import LocalStack

        logging.basicConfig(level=logging.INFO, format="%(levelname)-7s %(name)s: %(message)s")
        logging.info("ZEEBE_ADDRESS is not set: starting the embedded engine, a hub and the workers")
        stack = LocalStack().start()
        atexit.register(stack.stop)
        os.environ.update(stack.environ())
        # SIGTERM as Ctrl-C: runserver exits normally, so atexit stops the hub and the engine
        signal.signal(signal.SIGTERM, _interrupt)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
