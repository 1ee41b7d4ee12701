"""What every gateway command goes through: one gRPC call with its deadline, retry and error
mapping, and the client's tenant defaults.

:class:`GatewayCalls` is the base of the command mixins (:mod:`.process_commands`,
:mod:`.job_commands`); :class:`~.client.ZeebeClient` sets its attributes up.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import grpc

from ..errors import PermissionDeniedError, ZeebeError
from .channel import LazyChannel
from .config import ClientConfig
from .encoding import check_tenant, tenant_list
from .grpc_errors import from_grpc_error
from .oauth import OAuthTokenProvider
from .retry import RetryPolicy

__all__ = ["GatewayCalls"]


class GatewayCalls:
    """The plumbing of :class:`~.client.ZeebeClient` (its ``__init__`` sets these attributes)."""

    config: ClientConfig
    token_provider: Optional[OAuthTokenProvider]
    retry_policy: RetryPolicy
    _channel: LazyChannel

    @property
    def tenant_id(self) -> Optional[str]:
        """The default tenant of this client's calls (``None``: the gateway's default tenant)."""
        return self.config.tenant_id

    def _tenant(self, tenant_id: Optional[str]) -> str:
        if tenant_id is not None:
            return check_tenant(tenant_id)
        return self.tenant_id or ""

    def _tenants(self, tenant_ids: Optional[Sequence[str]]) -> List[str]:
        if tenant_ids is not None:
            return tenant_list(tenant_ids)
        default = self.tenant_id
        return [default] if default else []

    @property
    def address(self) -> str:
        """The gateway address this client talks to."""
        return self.config.address

    @property
    def closed(self) -> bool:
        return self._channel.closed

    def _call(
        self,
        rpc: str,
        request: Any,
        *,
        subject: str = "",
        retry: bool = False,
        timeout: Optional[float] = None,
    ) -> Any:
        method = getattr(self._channel.stub(), rpc)
        deadline = self.config.request_timeout if timeout is None else timeout

        def once() -> Any:
            return method(request, timeout=deadline)

        try:
            if retry:
                return self.retry_policy.call(once, operation=rpc)
            return once()
        except grpc.RpcError as exc:
            error = from_grpc_error(exc, operation=rpc, subject=subject)
            self._after_error(error)
            raise error from exc

    def _after_error(self, error: ZeebeError) -> None:
        if (
            self.token_provider is not None
            and isinstance(error, PermissionDeniedError)
            and error.grpc_code == grpc.StatusCode.UNAUTHENTICATED
        ):
            self.token_provider.invalidate()  # next call fetches a fresh token
