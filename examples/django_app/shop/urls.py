from __future__ import annotations

from django.urls import path

from zeebe_affinity_sync.django.views import collect_outcome

from . import views

urlpatterns = [
    path("orders", views.create_order),
    path("chat", views.start_chat),
    path("chat/<int:conversation_id>", views.chat),
    path("outcomes/<int:process_instance_key>", collect_outcome),
]
