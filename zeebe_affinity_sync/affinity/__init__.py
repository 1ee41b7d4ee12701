"""The affinity layer: a request thread blocks until its own process outcome arrives.

Modules: :mod:`.outcome` (``ProcessOutcome``), :mod:`.waiters` (waiter registry, admission
control), :mod:`.base` (the shared request/wait logic and the relay worker),
:mod:`.hub_connection` (the background websocket to the hub), :mod:`.client`
(``ZBAffinityClient``), :mod:`.redis` (``RedisAffinity``). Nothing is imported here, so importing
the package starts nothing.
"""
from __future__ import annotations
