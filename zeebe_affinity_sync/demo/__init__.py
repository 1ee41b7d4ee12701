"""The demo application shipped inside the package: an order endpoint and a chat endpoint.

It is what ``zeebe-affinity demo`` runs and what ``examples/flask_app/`` and
``examples/django_app/`` build on, so it ships with the installed package (BPMN and HTML are
package data).

- ``bpmn/order-process.bpmn``, ``bpmn/chat.bpmn``: the processes (:data:`BPMN_FILES`).
- :mod:`.workers`: the business job handlers (``register(worker)``).
- :mod:`.flask_app`: the Flask app factory (``create_app``) with the chat page.
- :mod:`.stack`: :class:`~.stack.LocalStack`, the embedded engine + hub + workers for running all
  of it on a laptop with no broker.
"""
from __future__ import annotations

import os
from typing import Tuple

__all__ = ["BPMN_DIR", "BPMN_FILES", "STATIC_DIR"]

BPMN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bpmn")
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

#: The demo's process definitions, deployed by LocalStack and by the examples' workers.
BPMN_FILES: Tuple[str, ...] = (
    os.path.join(BPMN_DIR, "order-process.bpmn"),
    os.path.join(BPMN_DIR, "chat.bpmn"),
)
