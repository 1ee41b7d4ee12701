"""OAuth 2 client credentials for the Zeebe gateway (Camunda SaaS / Identity).

The token is fetched from the token endpoint with a form-encoded POST (``grant_type=
client_credentials``, ``client_id``, ``client_secret``, ``audience``), cached, and refreshed a
margin before it expires. It goes on every gRPC call as ``authorization: Bearer <token>``
through :class:`BearerAuthInterceptor`: an interceptor rather than gRPC call credentials, because
gRPC drops call credentials on plaintext channels (local Identity setups use those) and because
the interceptor runs on the calling thread, so a refused token surfaces as
:class:`~zeebe_affinity_sync.errors.OAuthError` instead of a vague ``UNAVAILABLE``.
"""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Optional, Tuple

import grpc

from .. import defaults
from ..errors import OAuthError
from .config import OAuthSettings

__all__ = ["OAuthTokenProvider", "BearerAuthInterceptor"]

log = logging.getLogger(__name__)


class OAuthTokenProvider:
    """Fetches and caches an access token; thread-safe.

    Threads asking while the token is fresh get the cached one without locking. Once it is inside
    the refresh margin but still valid, one thread refreshes while the others keep using the old
    token; once expired, callers wait for the one refresh in progress.

    Args:
        settings: Endpoint and credentials.
        refresh_margin: Refresh this many seconds before expiry (at most half the lifetime).
        http_timeout: Timeout of the token request, seconds.
        clock: Monotonic clock (tests may pass their own).
    """

    def __init__(
        self,
        settings: OAuthSettings,
        *,
        refresh_margin: float = defaults.OAUTH_REFRESH_MARGIN,
        http_timeout: float = defaults.OAUTH_HTTP_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.refresh_margin = refresh_margin
        self.http_timeout = http_timeout
        self._clock = clock
        # (token, refresh_at, expires_at) replaced as a whole; written under _lock, read lock-free
        self._cached: Optional[Tuple[str, float, float]] = None
        self._lock = threading.Lock()  # held by the one thread fetching a token
        self.fetch_count = 0  # tokens fetched so far (guarded by _lock)

    def token(self) -> str:
        """A valid access token, fetched if needed.

        Raises:
            OAuthError: The endpoint could not be reached or refused the credentials.
        """
        cached = self._cached
        now = self._clock()
        if cached is not None and now < cached[1]:
            return cached[0]
        if cached is not None and now < cached[2]:
            # still valid: refresh if nobody else is, else keep using it
            if not self._lock.acquire(blocking=False):
                return cached[0]
            try:
                return self._refresh_locked()
            except OAuthError as exc:
                log.warning("token refresh failed, using the current token until it expires: %s", exc)
                return cached[0]
            finally:
                self._lock.release()
        with self._lock:
            cached = self._cached
            if cached is not None and self._clock() < cached[1]:
                return cached[0]  # another thread just refreshed
            return self._refresh_locked()

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after the gateway answered UNAUTHENTICATED)."""
        with self._lock:
            self._cached = None

    def _refresh_locked(self) -> str:
        token, expires_in = self._fetch()
        now = self._clock()
        margin = min(self.refresh_margin, expires_in / 2.0)
        self._cached = (token, now + expires_in - margin, now + expires_in)
        self.fetch_count += 1
        log.debug("fetched an OAuth token valid for %.0fs", expires_in)
        return token

    def _fetch(self) -> Tuple[str, float]:
        s = self.settings
        body = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": s.client_id,
                "client_secret": s.client_secret,
                "audience": s.audience,
            }
        ).encode("ascii")
        request = urllib.request.Request(
            s.authorization_server_url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        where = s.authorization_server_url
        try:
            with urllib.request.urlopen(request, timeout=self.http_timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            exc.close()
            raise OAuthError(
                f"the token endpoint {where} answered HTTP {exc.code}: {detail or exc.reason}; "
                "check ZEEBE_CLIENT_ID / ZEEBE_CLIENT_SECRET / ZEEBE_TOKEN_AUDIENCE"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OAuthError(
                f"cannot reach the token endpoint {where}: {reason}; check ZEEBE_AUTHORIZATION_SERVER_URL"
            ) from exc
        try:
            data: Any = json.loads(raw)
            token = data["access_token"]
            if not isinstance(token, str) or not token:
                raise ValueError("access_token is empty")
            expires_in = float(data.get("expires_in", defaults.OAUTH_DEFAULT_EXPIRES_IN))
        except (ValueError, KeyError, TypeError) as exc:
            raise OAuthError(
                f"the token endpoint {where} sent no usable access_token ({exc}): {raw[:200]!r}"
            ) from exc
        return token, max(expires_in, 1.0)


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    pass


class BearerAuthInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds ``authorization: Bearer <token>`` to every call, with the token from a provider."""

    def __init__(self, provider: OAuthTokenProvider) -> None:
        self.provider = provider

    def _details(self, details: grpc.ClientCallDetails) -> _CallDetails:
        metadata = list(details.metadata or ())
        metadata.append(("authorization", f"Bearer {self.provider.token()}"))
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details), request)
