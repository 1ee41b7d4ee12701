"""Bearer-token check of the websocket upgrade request (constant time, several tokens allowed)."""
from __future__ import annotations

import hmac
from typing import Optional, Sequence

__all__ = ["bearer_token", "token_ok", "query_token_ok", "UNAUTHORIZED_MESSAGE"]

UNAUTHORIZED_MESSAGE = (
    "missing or wrong token: send the hub's shared token as 'Authorization: Bearer <token>' on "
    "the websocket upgrade request (the hub reads its tokens from ZEEBE_AFFINITY_TOKEN or --token); "
    "a hub started with --allow-query-token also accepts ws://host:port/?token=<token>"
)


def bearer_token(header: Optional[str]) -> Optional[str]:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_ok(header: Optional[str], tokens: Sequence[str]) -> bool:
    """Whether the header carries one of ``tokens``; no tokens configured means open.

    Every configured token is compared (no early exit) with :func:`hmac.compare_digest`, so the
    time taken says nothing about which token, or how much of one, matched.
    """
    if not tokens:
        return True
    given = bearer_token(header)
    if given is None:
        return False
    return _matches(given, tokens)


def query_token_ok(given: Optional[str], tokens: Sequence[str]) -> bool:
    """Whether a ``?token=`` query value is one of ``tokens`` (for ``--allow-query-token``)."""
    if not tokens:
        return True
    if not given:
        return False
    return _matches(given, tokens)


def _matches(given: str, tokens: Sequence[str]) -> bool:
    given_bytes = given.encode("utf-8")
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(given_bytes, token.encode("utf-8"))
    return ok
