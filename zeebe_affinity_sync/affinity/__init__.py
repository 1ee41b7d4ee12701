"""The affinity layer: a request thread blocks until its own process outcome arrives.

Modules, one job each (an inbound outcome crosses them once: connection -> transport -> request
side -> waiter registry):

* :mod:`.outcome` (``ProcessOutcome``), :mod:`.checks` (argument checks, raised before I/O),
  :mod:`.waiters` (waiter registry, admission control, deadline watcher);
* :mod:`.requests` (the request side: begin, wait, deliver, ``with_result``), :mod:`.timeouts`
  (what a timeout says), :mod:`.relay` (the relay worker), :mod:`.base` (settings, per-process
  state, life cycle);
* :mod:`.transport` (the interface), :mod:`.hub_transport` + :mod:`.hub_connection` +
  :mod:`.hub_writer` + :mod:`.wire` (the hub flavour), :mod:`.redis_transport` (the Redis
  flavour);
* :mod:`.client` (``ZBAffinityClient``), :mod:`.redis` (``RedisAffinity``).

Nothing is imported here, so importing the package starts nothing.
"""
from __future__ import annotations
