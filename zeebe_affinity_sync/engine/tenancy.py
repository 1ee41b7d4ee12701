"""Tenant ids as the Zeebe gateway checks them, before a command reaches the engine.

Zeebe's gateway decides a request's tenant before the broker sees it:

- multi-tenancy **off**: an empty tenant id or ``<default>`` means the default tenant; any other
  id is refused (INVALID_ARGUMENT, "... but multi-tenancy is disabled");
- multi-tenancy **on**: the id is required, at most 31 characters of letters, digits, ``_``,
  ``.`` and ``-`` (or ``<default>``), each refused with INVALID_ARGUMENT naming the rule; then
  the caller must be authorized for the tenant, else PERMISSION_DENIED. The embedded engine has
  no identity service: every well-formed tenant is authorized unless ``authorized_tenants`` names
  the tenants that exist (then any other is "not authorized", as for a client Identity does not
  assign to it).

Job activation names a list of tenants: empty is the default tenant with multi-tenancy off and
refused with it on; each id in it is checked as above.
"""
from __future__ import annotations

import re
from typing import AbstractSet, Iterable, List, Optional

import grpc

from ..errors import InvalidArgumentError, PermissionDeniedError, ZeebeError

__all__ = ["DEFAULT_TENANT", "MAX_TENANT_ID_LENGTH", "TenantPolicy"]

#: Zeebe's name of the default tenant (``TenantOwned.DEFAULT_TENANT_IDENTIFIER``).
DEFAULT_TENANT = "<default>"
#: Longest tenant id Zeebe accepts.
MAX_TENANT_ID_LENGTH = 31

_TENANT_ID = re.compile(r"[\w.-]{1,31}", re.ASCII)


def _rejection(command: str, tenant: str, reason: str, *, plural: bool = False) -> str:
    what = "identifiers" if plural else "identifier"
    return f"Expected to handle gRPC request {command} with tenant {what} '{tenant}', but {reason}"


def _invalid(message: str) -> ZeebeError:
    return InvalidArgumentError(message, grpc_code=grpc.StatusCode.INVALID_ARGUMENT, details=message)


class TenantPolicy:
    """The gateway's tenant rules for one engine.

    Args:
        multi_tenancy: Zeebe's ``multiTenancy.enabled``.
        authorized_tenants: With multi-tenancy on, the tenants requests may use (``None``: any
            well-formed id). Ignored with multi-tenancy off.

    Raises:
        ValueError: An authorized tenant id is itself not a valid tenant id.
    """

    def __init__(self, multi_tenancy: bool = False, authorized_tenants: Optional[Iterable[str]] = None) -> None:
        self.multi_tenancy = bool(multi_tenancy)
        self.authorized: Optional[AbstractSet[str]] = None
        if authorized_tenants is not None:
            if isinstance(authorized_tenants, str):
                raise ValueError(f"authorized_tenants must be a list of tenant ids, not a str: use [{authorized_tenants!r}]")
            tenants = frozenset(authorized_tenants)
            for tenant in tenants:
                if not isinstance(tenant, str) or not (tenant == DEFAULT_TENANT or _TENANT_ID.fullmatch(tenant)):
                    raise ValueError(f"authorized tenant {tenant!r} is not a valid tenant id "
                                     f"(1-{MAX_TENANT_ID_LENGTH} of letters, digits, '_', '.', '-')")
            self.authorized = tenants

    def tenant(self, tenant_id: str, command: str) -> str:
        """The tenant a request with ``tenant_id`` runs in (Zeebe's ``ensureTenantIdSet``).

        Args:
            tenant_id: The request's ``tenantId`` field.
            command: The gRPC method name, for the message (``"CreateProcessInstance"``).

        Raises:
            InvalidArgumentError: Missing, too long, malformed, or not the default tenant while
                multi-tenancy is off.
            PermissionDeniedError: Not one of ``authorized_tenants``.
        """
        given = tenant_id.strip() != ""
        if not self.multi_tenancy:
            if given and tenant_id != DEFAULT_TENANT:
                raise _invalid(_rejection(command, tenant_id, "multi-tenancy is disabled"))
            return DEFAULT_TENANT
        if not given:
            raise _invalid(_rejection(command, tenant_id, "no tenant identifier was provided."))
        if len(tenant_id) > MAX_TENANT_ID_LENGTH:
            raise _invalid(_rejection(command, tenant_id,
                                      f"tenant identifier is longer than {MAX_TENANT_ID_LENGTH} characters"))
        if tenant_id != DEFAULT_TENANT and not _TENANT_ID.fullmatch(tenant_id):
            raise _invalid(_rejection(command, tenant_id, "tenant identifier contains illegal characters"))
        if self.authorized is not None and tenant_id not in self.authorized:
            message = _rejection(command, tenant_id, "tenant is not authorized to perform this request")
            raise PermissionDeniedError(message, grpc_code=grpc.StatusCode.PERMISSION_DENIED, details=message)
        return tenant_id

    def tenants(self, tenant_ids: Iterable[str], command: str) -> List[str]:
        """The tenants a job activation covers (Zeebe's ``ensureTenantIdsSet``).

        Raises:
            InvalidArgumentError / PermissionDeniedError: As :meth:`tenant`, for any of them;
                an empty list with multi-tenancy on.
        """
        ids = list(tenant_ids)
        if not ids:
            if not self.multi_tenancy:
                return [DEFAULT_TENANT]
            # Java's List.toString of an empty list
            raise _invalid(_rejection(command, "[]", "no tenant identifiers were provided.", plural=True))
        out: List[str] = []
        for tenant_id in ids:
            tenant = self.tenant(tenant_id, command)
            if tenant not in out:
                out.append(tenant)
        return out
