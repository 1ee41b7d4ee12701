#!/usr/bin/env python
"""Django's command-line utility for the example project.

``python manage.py runserver`` with no ``ZEEBE_ADDRESS`` set first starts the embedded Zeebe
engine, an affinity hub and the workers (a LocalStack) in this process and points the project
at them through the environment; the autoreloader's child inherits that environment. With
``ZEEBE_ADDRESS`` (and ``ZEEBE_AFFINITY_URL``) set, nothing is started: run
``python manage.py zeebe_workers --deploy bpmn/*.bpmn`` beside the server.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    if len(sys.argv) < 2 or sys.argv[1] != "runserver" or os.environ.get("ZEEBE_ADDRESS"):
        execute_from_command_line(sys.argv)
        return

    from zeebe_affinity_sync.demo.stack import LocalStack

    logging.basicConfig(level=logging.INFO, format="%(levelname)-7s %(name)s: %(message)s")
    logging.info("ZEEBE_ADDRESS is not set: starting the embedded engine, a hub and the workers")
    # SIGTERM as Ctrl-C, so that the finally below stops the stack (not atexit: by then the
    # interpreter has already shut the gRPC server's thread pool down)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    stack = LocalStack().start()
    try:
        os.environ.update(stack.environ())
        execute_from_command_line(sys.argv)
    except KeyboardInterrupt:
        logging.info("stopping")
    finally:
        from zeebe_affinity_sync.django import close_client

        close_client()  # this process's client first: its hub is about to go
        stack.stop()


if __name__ == "__main__":
    main()
