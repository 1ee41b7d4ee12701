"""Flask example: an order endpoint and a chat endpoint answered with their process outcome.

Run it::

    python app.py                 # no ZEEBE_ADDRESS: starts the embedded engine, a hub and the
                                  # workers in this process, then the app on http://127.0.0.1:5000
    ZEEBE_ADDRESS=zeebe:26500 ZEEBE_AFFINITY_URL=ws://hub:8089 python app.py
                                  # uses that Zeebe and hub; run `python workers.py` beside it

Under gunicorn (several worker processes, threads for the waiting requests)::

    ZEEBE_ADDRESS=... ZEEBE_AFFINITY_URL=... gunicorn -k gthread -w 2 --threads 32 wsgi:app

The views themselves live in ``zeebe_affinity_sync/demo/flask_app.py`` (shipped in the package so
that ``zeebe-affinity demo`` can run them); read that file for the ZeebeAffinity usage.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
from typing import Any, List, Optional

from zeebe_affinity_sync.demo.flask_app import affinity, create_app
from zeebe_affinity_sync.demo.stack import LocalStack


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # even if started with SIGINT ignored (background job)
    stack = None
    if not os.environ.get("ZEEBE_ADDRESS"):
        logging.info("ZEEBE_ADDRESS is not set: starting the embedded engine, a hub and the workers")
        stack = LocalStack().start()
    try:
        app = create_app(stack.flask_config() if stack else None)
        from werkzeug.serving import make_server

        server = make_server(args.host, args.port, app, threaded=True)
        logging.info("example app on http://%s:%d/ (chat page at /)", args.host, server.server_port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            logging.info("stopping")
        finally:
            server.server_close()
            affinity.close(app)  # this process's client, before its hub goes away
    finally:
        if stack is not None:
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
