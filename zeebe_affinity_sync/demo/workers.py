"""Business job handlers of the demo processes.

``register(worker)`` puts them on a :class:`~zeebe_affinity_sync.zeebe.worker.JobWorker`; the
Django example lists it in ``ZEEBE_AFFINITY["WORKERS"]``. The relay task type
``publish-outcome`` is *not* here: the affinity worker (``client.create_affinity_worker()``) runs it.

- ``price-order``: ``items`` -> ``totalCents``, ``itemCount``.
- ``reserve-stock``: throws the BPMN error ``out-of-stock`` for a sold-out SKU, else confirms.
- ``chat-open``: sets ``conversationId`` (the instance key: the chat's correlation key) and the
  welcome line.
- ``chat-reply``: answers ``text``; ``bye`` ends the conversation.
"""
from __future__ import annotations

import logging
from typing import Any, Dict

from ..errors import BpmnError
from ..zeebe.types import Job

__all__ = ["register", "SOLD_OUT_SKUS", "price_order", "reserve_stock", "chat_open", "chat_reply"]

logger = logging.getLogger(__name__)

#: SKUs the demo shop never has in stock (to show the failure outcome).
SOLD_OUT_SKUS = frozenset({"sold-out"})

GOODBYES = frozenset({"bye", "goodbye", "quit", "exit"})


def price_order(variables: Dict[str, Any]) -> Dict[str, Any]:
    items = variables.get("items") or []
    total = sum(int(item["quantity"]) * int(item["priceCents"]) for item in items)
    count = sum(int(item["quantity"]) for item in items)
    return {"totalCents": total, "itemCount": count}


def reserve_stock(variables: Dict[str, Any]) -> Dict[str, Any]:
    for item in variables.get("items") or []:
        if item.get("sku") in SOLD_OUT_SKUS:
            raise BpmnError(
                "out-of-stock",
                f"SKU {item['sku']!r} is sold out",
                {"status": "rejected", "reason": "out-of-stock", "sku": item["sku"]},
            )
    return {"status": "confirmed", "reservation": f"R-{variables.get('orderId')}"}


def chat_open(job: Job) -> Dict[str, Any]:
    return {
        "conversationId": str(job.process_instance_key),
        "round": 0,
        "done": False,
        "reply": "Hello! I am the order bot. Ask me anything; say 'bye' to end.",
    }


def chat_reply(variables: Dict[str, Any]) -> Dict[str, Any]:
    text = str(variables.get("text", "")).strip()
    round_ = int(variables.get("round", 0)) + 1
    if text.lower() in GOODBYES:
        return {"round": round_, "done": True, "reply": "Goodbye!"}
    words = len(text.split())
    reply = f'You said "{text}" ({words} word{"s" if words != 1 else ""}). This is round {round_}.'
    return {"round": round_, "done": False, "reply": reply}


def register(worker: Any) -> None:
    """Register the demo's business handlers on ``worker`` (a JobWorker)."""
    worker.register("price-order", price_order)
    worker.register("reserve-stock", reserve_stock)
    worker.register("chat-open", chat_open)
    worker.register("chat-reply", chat_reply)
