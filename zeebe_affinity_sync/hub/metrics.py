"""Prometheus exposition of the hub's counters.

The per-frame path touches no Prometheus object: :class:`HubCollector` reads
:meth:`HubCore.stats` when ``/metrics`` is scraped, so metrics cost nothing between scrapes.
"""
from __future__ import annotations

from typing import Any, Iterator

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["HubCollector", "make_registry", "render", "CONTENT_TYPE"]

_P = "zeebe_affinity_hub"


class HubCollector:
    """A custom collector over one :class:`~zeebe_affinity_sync.hub.core.HubCore`."""

    def __init__(self, core: Any) -> None:
        self.core = core

    def collect(self) -> Iterator[Any]:
        s = self.core.stats()
        conns = GaugeMetricFamily(f"{_P}_connections", "Open websocket connections by role",
                                  labels=["role"])
        for role in ("client", "worker", "unregistered"):
            conns.add_metric([role], s["connections"][role])
        yield conns
        yield GaugeMetricFamily(f"{_P}_subscriptions", "Subscribed keys over all connections",
                                value=s["subscriptions"])
        yield GaugeMetricFamily(f"{_P}_held_outcomes", "Outcomes stored for a subscriber (held, or awaiting its receipt)",
                                value=s["held"])
        yield GaugeMetricFamily(f"{_P}_held_bytes", "UTF-8 bytes of stored outcome frames",
                                value=s["heldBytes"])
        outcomes = CounterMetricFamily(f"{_P}_outcomes", "Outcomes by what happened to them",
                                       labels=["result"])
        o = s["outcomes"]
        for label, key in (("received", "received"), ("routed", "routed"),
                           ("broadcast", "broadcast"), ("held", "held"),
                           ("held_delivered", "heldDelivered"), ("expired", "expired"),
                           ("refused", "refused"), ("published", "published"),
                           ("remote_received", "remoteReceived"), ("redelivered", "redelivered"),
                           ("receipted", "receipted"), ("bad", "badOutcomes")):
            outcomes.add_metric([label], o[key])
        yield outcomes
        yield CounterMetricFamily(f"{_P}_acks", "ACK frames sent", value=s["acks"])
        yield CounterMetricFamily(f"{_P}_receipts", "Delivery ids named in RECEIPT frames",
                                  value=s["receipts"])
        yield CounterMetricFamily(f"{_P}_slow_peer_drops",
                                  "Connections dropped because their outbound queue was full",
                                  value=s["slowPeerDrops"])
        yield CounterMetricFamily(f"{_P}_protocol_errors", "Bad frames received",
                                  value=s["protocolErrors"])
        yield CounterMetricFamily(f"{_P}_connections_opened", "Websocket connections accepted",
                                  value=s["connectionsOpened"])
        yield GaugeMetricFamily(f"{_P}_uptime_seconds", "Seconds since this hub process started",
                                value=s["uptime"])
        yield GaugeMetricFamily(f"{_P}_threads", "Live threads in this hub process",
                                value=s["threads"])


def make_registry(core: Any) -> CollectorRegistry:
    """A registry of its own (not the global one) holding only the hub's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(core))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of ``registry``."""
    return generate_latest(registry)
