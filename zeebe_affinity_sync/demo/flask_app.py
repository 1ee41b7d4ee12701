"""The demo's Flask app: an order endpoint, a chat endpoint and a chat page.

::

    POST /orders          {"orderId": "A-1", "items": [{"sku": "tea", "quantity": 2, "priceCents": 450}]}
                          -> 200 the order outcome (totalCents, status, reservation...)
                          -> 422 when a SKU is sold out (the process's failure outcome)
    POST /chat            {} -> 200 {"conversationId": "...", "reply": "Hello!..."}
    POST /chat/<id>       {"text": "hi"} -> 200 {"reply": "You said ...", "round": 1, "done": false}
    GET  /outcomes/<key>  collect the outcome of a request that timed out
    GET  /                the chat page (plain HTML + fetch)

Configure it like any app using :class:`~zeebe_affinity_sync.flask.ZeebeAffinity`: pass the
``ZEEBE_*`` keys in ``config`` (``create_app(config)``), or let them come from the environment.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from flask import Flask, jsonify, request, send_from_directory

from ..flask import MessageRound, ZeebeAffinity
from . import STATIC_DIR
from .orders import validate_order

__all__ = ["create_app", "affinity", "validate_order"]

affinity = ZeebeAffinity()

#: Flask config keys taken from the environment when present.
ENV_KEYS = (
    "ZEEBE_ADDRESS",
    "ZEEBE_AFFINITY_URL",
    "ZEEBE_AFFINITY_TOKEN",
    "ZEEBE_AFFINITY_TIMEOUT",
    "ZEEBE_AFFINITY_STRATEGY",
    "ZEEBE_AFFINITY_REDIS_URL",
)


def _bad_request(message: str) -> Any:
    return jsonify({"error": "bad-request", "message": message}), 400


def create_app(config: Optional[Mapping[str, Any]] = None) -> Flask:
    """Build the demo app; ``config`` entries override the ``ZEEBE_*`` environment variables."""
    app = Flask(__name__, static_folder=None)
    for key in ENV_KEYS:
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    app.config["ZEEBE_AFFINITY_OUTCOME_URL"] = "/outcomes/{key}"
    app.config.update(dict(config or {}))
    affinity.init_app(app)

    @app.post("/orders")
    @affinity.process("order-process")
    def create_order() -> Any:
        body = request.get_json(silent=True)
        problem = validate_order(body)
        if problem is not None:
            return _bad_request(problem)
        return {"orderId": body["orderId"], "items": body["items"]}

    @app.post("/chat")
    @affinity.process("chat")
    def start_chat() -> Dict[str, Any]:
        return {}

    @app.post("/chat/<int:conversation_id>")
    @affinity.message("chat-message")
    def chat(conversation_id: int) -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return _bad_request('send a JSON object: {"text": "hello"}')
        return MessageRound(
            correlation_key=str(conversation_id),
            process_instance_key=conversation_id,
            variables={"text": body["text"][:500]},
        )

    @app.get("/outcomes/<key>")
    def outcome(key: str) -> Any:
        return affinity.collect(key)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/favicon.ico")
    def favicon() -> Any:
        return "", 204  # the page declares an empty icon; this answers browsers that ask anyway

    @app.get("/")
    def chat_page() -> Any:
        return send_from_directory(STATIC_DIR, "chat.html")

    return app
