"""The demo's order body check, shared by the Flask app and the Django example (no framework
imports here: the Django example must run without Flask installed)."""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["validate_order"]


def validate_order(body: Any) -> Optional[str]:
    """What is wrong with an order body, or ``None`` if it is fine."""
    if not isinstance(body, dict):
        return 'send a JSON object: {"orderId": "A-1", "items": [{"sku": "tea", "quantity": 1, "priceCents": 450}]}'
    if not isinstance(body.get("orderId"), (str, int)) or isinstance(body.get("orderId"), bool):
        return "orderId must be a string or an integer"
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return "items must be a non-empty list of {sku, quantity, priceCents}"
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            return f"items[{n}] must be an object with a string sku"
        for field in ("quantity", "priceCents"):
            value = item.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return f"items[{n}].{field} must be a non-negative integer"
    return None
