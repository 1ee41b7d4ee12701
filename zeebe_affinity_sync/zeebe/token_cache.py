"""The OAuth token cache on disk: one small JSON file per client id + audience (+ endpoint, scope).

A restarted process (a gunicorn worker recycled, a deploy) reuses a still-valid token instead
of asking the token endpoint again; Camunda SaaS rate-limits token requests, and Camunda's own
SDKs keep the same kind of cache (in ``~/.camunda`` by default). The file holds the token, its
expiry as a wall-clock epoch and the settings it belongs to; never the client secret. It is
written with mode 0600 in a 0700 folder, atomically (a temporary file renamed over it), so a
reader never sees half a file. A file that cannot be read or parsed is ignored with a warning
and overwritten by the next token: the cache only ever saves requests, it never fails a call.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from typing import Optional, Tuple

from .config import OAuthSettings

__all__ = ["TokenDiskCache"]

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class TokenDiskCache:
    """Load, save and forget the cached token of one :class:`OAuthSettings`.

    Args:
        settings: The OAuth settings; ``settings.cache_dir`` must be set.
    """

    def __init__(self, settings: OAuthSettings) -> None:
        if settings.cache_dir is None:
            raise ValueError("the token disk cache is disabled for these settings")
        self.settings = settings
        key = "\n".join([settings.authorization_server_url, settings.client_id, settings.audience,
                         settings.scope or ""])
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        readable = f"{_UNSAFE.sub('_', settings.client_id)[:40]}-{_UNSAFE.sub('_', settings.audience)[:40]}"
        self.path = os.path.join(settings.cache_dir, f"zeebe-affinity-oauth-{readable}-{digest}.json")

    def _identity(self) -> dict:
        s = self.settings
        return {"token_url": s.authorization_server_url, "client_id": s.client_id,
                "audience": s.audience, "scope": s.scope}

    def load(self) -> Optional[Tuple[str, float]]:
        """``(token, expires_at epoch seconds)`` from the file, or ``None`` (missing or unusable)."""
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read(64 * 1024)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("ignoring the OAuth token cache %s: %s", self.path, exc)
            return None
        try:
            data = json.loads(raw)
            token, expires_at = data["access_token"], float(data["expires_at"])
            if not isinstance(token, str) or not token:
                raise ValueError("access_token is not a non-empty string")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a corrupt OAuth token cache file %s (%s); the next token replaces it",
                        self.path, exc)
            return None
        if any(data.get(k) != v for k, v in self._identity().items()):
            return None  # another endpoint/scope with the same readable name: not ours
        return token, expires_at

    def save(self, token: str, expires_at: float) -> None:
        """Write the token (0600, atomically). Failures are logged, never raised."""
        folder = os.path.dirname(self.path)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            body = json.dumps({"access_token": token, "expires_at": expires_at, **self._identity()})
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, body.encode("utf-8"))
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write the OAuth token cache %s: %s (tokens stay in memory only)", self.path, exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def delete(self) -> None:
        """Forget the file (after the gateway refused its token)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove the OAuth token cache %s: %s", self.path, exc)
