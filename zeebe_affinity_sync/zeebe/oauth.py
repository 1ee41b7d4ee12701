"""OAuth 2 client credentials for the Zeebe gateway (Camunda SaaS / Identity).

The token is fetched from the token endpoint with a form-encoded POST (``grant_type=
client_credentials``, ``client_id``, ``client_secret``, ``audience``), cached, and refreshed a
margin before it expires. It goes on every gRPC call as ``authorization: Bearer <token>``
through :class:`BearerAuthInterceptor`: an interceptor rather than gRPC call credentials, because
gRPC drops call credentials on plaintext channels (local Identity setups use those) and because
the interceptor runs on the calling thread, so a refused token surfaces as
:class:`~zeebe_affinity_sync.errors.OAuthError` instead of a vague ``UNAVAILABLE``. Basic auth
(``authorization: Basic``) goes the same way, for the same reasons.

No token request storm: clients of one process with the same settings share one provider
(:meth:`OAuthTokenProvider.shared`), so one request is in flight at a time; a valid token is
kept on disk (:mod:`.token_cache`) for the next process; and after the endpoint answers 401 no
new request is sent for a back-off that doubles (30 s to 5 min by default): the credentials are
fixed for the life of the process, and Camunda SaaS answers early retries with 401 again.
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
import weakref
from typing import Any, Callable, ClassVar, Optional, Tuple

import grpc

from .. import defaults
from ..errors import OAuthError
from .config import OAuthSettings
from .token_cache import TokenDiskCache

__all__ = ["OAuthTokenProvider", "AuthMetadataInterceptor", "BearerAuthInterceptor"]

log = logging.getLogger(__name__)


class OAuthTokenProvider:
    """Fetches and caches an access token; thread-safe.

    Threads asking while the token is fresh get the cached one without locking. Once it is inside
    the refresh margin but still valid, one thread refreshes while the others keep using the old
    token; once expired, callers wait for the one refresh in progress. With
    ``settings.cache_dir`` set, a token missing in memory is first looked up on disk, and each
    fetched token is written there.

    Args:
        settings: Endpoint and credentials.
        refresh_margin: Refresh this many seconds before expiry (at most half the lifetime).
        http_timeout: Timeout of the token request, seconds.
        unauthorized_backoff: After a 401, seconds before the endpoint is asked again; doubles
            on each further 401 up to ``unauthorized_backoff_max``.
        clock: Monotonic clock (tests may pass their own).
        wall_clock: Epoch clock for the expiry written to disk.
    """

    # settings -> the provider all clients of this process with those settings share
    _registry: ClassVar["weakref.WeakValueDictionary[OAuthSettings, OAuthTokenProvider]"] = (
        weakref.WeakValueDictionary()
    )
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        settings: OAuthSettings,
        *,
        refresh_margin: float = defaults.OAUTH_REFRESH_MARGIN,
        http_timeout: float = defaults.OAUTH_HTTP_TIMEOUT,
        unauthorized_backoff: float = defaults.OAUTH_UNAUTHORIZED_BACKOFF,
        unauthorized_backoff_max: float = defaults.OAUTH_UNAUTHORIZED_BACKOFF_MAX,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.refresh_margin = refresh_margin
        self.http_timeout = http_timeout
        self.unauthorized_backoff = unauthorized_backoff
        self.unauthorized_backoff_max = unauthorized_backoff_max
        self._clock = clock
        self._wall = wall_clock
        self.disk = TokenDiskCache(settings) if settings.cache_dir is not None else None
        # (token, refresh_at, expires_at) replaced as a whole; written under _lock, read lock-free
        self._cached: Optional[Tuple[str, float, float]] = None
        self._lock = threading.Lock()  # held by the one thread fetching a token
        self.fetch_count = 0  # tokens fetched from the endpoint so far (guarded by _lock)
        # after a 401: (monotonic time before which we do not ask, the error, next back-off)
        self._refused: Optional[Tuple[float, OAuthError, float]] = None  # guarded by _lock

    @classmethod
    def shared(cls, settings: OAuthSettings) -> "OAuthTokenProvider":
        """The provider of this process for ``settings``, created on first use.

        Every :class:`ZeebeClient` uses this, so two clients with the same credentials share
        one token and one request in flight. It lives as long as a client holds it.
        """
        with cls._registry_lock:
            provider = cls._registry.get(settings)
            if provider is None:
                provider = cls(settings)
                cls._registry[settings] = provider
            return provider

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
        """Forget the cached token, in memory and on disk (the gateway answered UNAUTHENTICATED)."""
        with self._lock:
            self._cached = None
            if self.disk is not None:
                self.disk.delete()

    def _remember(self, token: str, lifetime: float) -> None:
        now = self._clock()
        margin = min(self.refresh_margin, lifetime / 2.0)
        self._cached = (token, now + lifetime - margin, now + lifetime)

    def _from_disk_locked(self) -> Optional[str]:
        if self.disk is None:
            return None
        found = self.disk.load()
        if found is None:
            return None
        token, expires_at = found
        lifetime = expires_at - self._wall()
        if lifetime <= self.refresh_margin or (self._cached is not None and self._cached[0] == token):
            return None  # about to expire, or the very token we are replacing
        self._remember(token, lifetime)
        log.debug("reusing the OAuth token cached in %s (valid %.0fs more)", self.disk.path, lifetime)
        return token

    def _refresh_locked(self) -> str:
        token = self._from_disk_locked()  # another process may have fetched one meanwhile
        if token is not None:
            return token
        refused = self._refused
        if refused is not None and self._clock() < refused[0]:
            wait = refused[0] - self._clock()
            raise OAuthError(f"{refused[1]} (not asking the token endpoint again for {wait:.0f}s)")
        try:
            token, expires_in = self._fetch()
        except OAuthError as exc:
            if getattr(exc, "http_status", None) == 401:
                backoff = refused[2] if refused is not None else self.unauthorized_backoff
                self._refused = (self._clock() + backoff, exc, min(backoff * 2, self.unauthorized_backoff_max))
                log.warning("the token endpoint refused the credentials: no new request for %.0fs", backoff)
            raise
        self._refused = None
        self._remember(token, expires_in)
        self.fetch_count += 1
        if self.disk is not None:
            self.disk.save(token, self._wall() + expires_in)
        log.debug("fetched an OAuth token valid for %.0fs", expires_in)
        return token

    def _fetch(self) -> Tuple[str, float]:
        s = self.settings
        form = {
            "grant_type": "client_credentials",
            "client_id": s.client_id,
            "client_secret": s.client_secret,
            "audience": s.audience,
        }
        if s.scope:
            form["scope"] = s.scope  # some OIDC providers (e.g. Entra ID) need one
        body = urllib.parse.urlencode(form).encode("ascii")
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
            error = OAuthError(
                f"the token endpoint {where} answered HTTP {exc.code}: {detail or exc.reason}; "
                "check ZEEBE_CLIENT_ID / ZEEBE_CLIENT_SECRET / CAMUNDA_ZEEBE_OAUTH_AUDIENCE"
            )
            error.http_status = exc.code  # type: ignore[attr-defined]  # read by _refresh_locked
            raise error from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OAuthError(
                f"cannot reach the token endpoint {where}: {reason}; check CAMUNDA_OAUTH_URL"
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


class AuthMetadataInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds ``authorization: <header()>`` to every call; ``header`` runs on the calling thread."""

    def __init__(self, header: Callable[[], str]) -> None:
        self._header = header

    def _details(self, details: grpc.ClientCallDetails) -> _CallDetails:
        metadata = list(details.metadata or ())
        metadata.append(("authorization", self._header()))
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


class BearerAuthInterceptor(AuthMetadataInterceptor):
    """Adds ``authorization: Bearer <token>`` to every call, with the token from a provider."""

    def __init__(self, provider: OAuthTokenProvider) -> None:
        self.provider = provider
        super().__init__(lambda: f"Bearer {provider.token()}")
