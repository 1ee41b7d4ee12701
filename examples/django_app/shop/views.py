"""The example's views: the decorators start the process (or publish the message) and answer
with its outcome; the middleware turns the library's errors into JSON answers."""
from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from zeebe_affinity_sync.demo.orders import validate_order
from zeebe_affinity_sync.django.decorators import MessageRound, affinity_message, affinity_process


def _json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": "bad-request", "message": message}, status=400)


@csrf_exempt  # a JSON API called by curl / fetch, not a form
@require_POST
@affinity_process("order-process")
def create_order(request: HttpRequest) -> Any:
    body = _json(request)
    problem = validate_order(body)
    if problem is not None:
        return _bad_request(problem)
    return {"orderId": body["orderId"], "items": body["items"]}


@csrf_exempt
@require_POST
@affinity_process("chat")
def start_chat(request: HttpRequest) -> Any:
    return {}


@csrf_exempt
@require_POST
@affinity_message("chat-message")
def chat(request: HttpRequest, conversation_id: int) -> Any:
    body = _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return _bad_request('send a JSON object: {"text": "hello"}')
    return MessageRound(str(conversation_id), conversation_id, {"text": body["text"][:500]})
