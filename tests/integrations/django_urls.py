"""URLconf of the Django tests: views written as a user would write them."""
from __future__ import annotations

import json

from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST

from zeebe_affinity_sync.django import get_client
from zeebe_affinity_sync.django.decorators import MessageRound, affinity_message, affinity_process
from zeebe_affinity_sync.django.views import collect_outcome


@require_POST
@affinity_process("order-process", timeout=10)
def order(request):
    body = json.loads(request.body or b"{}")
    if body.get("reject"):
        return HttpResponseBadRequest("rejected by the view")
    return body


@require_POST
@affinity_process("order-process")
def passthrough(request):
    return json.loads(request.body)  # the README's Django snippet


@affinity_process("order-process")
def broken(request):
    return "not a dict"


@require_POST
@affinity_message("chat-message", timeout=5)
def chat(request, key):
    return MessageRound(str(key), key, {"text": json.loads(request.body)["text"]})


def custom(request):
    outcome = get_client().create_process_instance_with_affinity("custom", {"x": 1}, timeout=1)
    return JsonResponse(outcome.variables)


urlpatterns = [
    path("orders", order),
    path("broken", broken),
    path("passthrough", passthrough),
    path("chat/<int:key>", chat),
    path("custom", custom),
    path("outcomes/<str:process_instance_key>", collect_outcome),
]
