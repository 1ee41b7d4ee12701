"""``ZeebeClient``: a synchronous, thread-safe Zeebe client over the raw ``zeebe-grpc`` stub.

One client holds one gRPC channel (created on first use, re-created after a fork) shared by all
threads. Every call has a finite deadline. gRPC errors become
:class:`~zeebe_affinity_sync.errors.ZeebeError` subclasses in one place
(:func:`~zeebe_affinity_sync.errors.from_grpc_error`). Calls that are safe to repeat are retried
on UNAVAILABLE / RESOURCE_EXHAUSTED with capped exponential backoff (see :mod:`.retry`).

Example::

    with ZeebeClient("localhost:26500") as client:
        client.deploy_resource("order.bpmn")
        result = client.create_process_instance_with_result("order", {"id": 7}, timeout=10)
        print(result.variables)
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import grpc
from zeebe_affinity_sync.gateway import gateway_pb2 as pb

from .. import checks, defaults
from ..errors import PermissionDeniedError, ZeebeError
from .grpc_errors import from_grpc_error
from .channel import LazyChannel
from .config import ClientConfig, resolve_config
from .oauth import OAuthTokenProvider
from .retry import RetryPolicy
from .types import (
    DecisionEvaluation,
    Deployment,
    Job,
    ProcessInstance,
    ProcessInstanceResult,
    PublishedMessage,
    SignalBroadcast,
    Topology,
    _from_activated_job,
    _from_decision,
    _from_deploy_resource,
    _from_process_instance,
    _from_process_instance_result,
    _from_topology,
)

__all__ = ["ZeebeClient", "ActivationStream", "JobStream", "encode_variables"]

log = logging.getLogger(__name__)

Resource = Union[str, "os.PathLike[str]", Tuple[str, bytes]]


# --------------------------------------------------------------------------- input checks


def encode_variables(variables: Any, *, what: str = "variables", required: bool = False) -> str:
    """JSON-encode a variables dict for the wire, refusing anything else before any I/O.

    Args:
        variables: A ``dict`` with ``str`` keys and JSON-serialisable values, or ``None``.
        what: Name used in the error message.
        required: ``None`` is refused too.

    Returns:
        The JSON document (``""`` for ``None``).

    Raises:
        TypeError: Not a dict, a non-str key, or a value JSON cannot encode.
    """
    if variables is None and not required:
        return ""
    if not isinstance(variables, Mapping):
        raise TypeError(
            f"{what} must be a dict of variable name -> JSON value, got {type(variables).__name__}: "
            f"wrap the value in a dict, e.g. {{\"value\": ...}}"
        )
    for name in variables:
        if not isinstance(name, str):
            raise TypeError(f"{what} names must be str, got {name!r} ({type(name).__name__}): use str keys")
    try:
        return json.dumps(dict(variables), allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what} must be JSON-serialisable ({exc}): convert values such as datetime, Decimal, "
            "set, bytes or NaN to str, float, list or None first"
        ) from exc


# The argument checks are the shared ones (wrong kind: a TypeError, out of range: a ValueError,
# both ConfigurationErrors); these names keep the call sites short.
_check_str = checks.text
_check_key = checks.key


def _check_seconds(value: Any, name: str, *, allow_zero: bool = True) -> float:
    return checks.seconds(value, name, allow_zero=allow_zero)


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _names(values: Optional[Iterable[str]], name: str) -> List[str]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a list of variable names, not a single str: use [{values!r}]")
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"{name} must contain str variable names, got {v!r}")
    return out


def _check_tenant(value: Any, name: str = "tenant_id") -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str tenant id, got {value!r} ({type(value).__name__})")
    return value


def _tenant_list(values: Any) -> List[str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"tenant_ids must be a list of tenant ids, not a single str: use [{values!r}]")
    return [_check_tenant(v, "tenant_ids entries") for v in values]


def _read_resource(resource: Any) -> Tuple[str, bytes]:
    if isinstance(resource, tuple):
        if len(resource) != 2 or not isinstance(resource[0], str) or not isinstance(resource[1], (bytes, bytearray)):
            raise TypeError(f"a resource tuple must be (name: str, content: bytes), got {resource!r:.80}")
        return resource[0], bytes(resource[1])
    if isinstance(resource, (str, os.PathLike)):
        path = os.fspath(resource)
        try:
            with open(path, "rb") as fh:
                return os.path.basename(path), fh.read()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read resource {path!r}: {exc.strerror}") from exc
    raise TypeError(
        f"a resource must be a file path or a (name, bytes) tuple, got {type(resource).__name__}"
    )


# --------------------------------------------------------------------------- activation stream


class ActivationStream:
    """One ActivateJobs call in flight: iterate for jobs, ``cancel()`` from any thread.

    The worker keeps one per task type so that ``stop()`` can end a long poll at once.
    Iteration raises :class:`~zeebe_affinity_sync.errors.ZeebeError` on a gateway error
    (``GatewayUnavailableError`` after ``cancel()``).
    """

    def __init__(self, call: Any, on_error: Optional[Callable[[ZeebeError], None]] = None,
                 client: Optional["ZeebeClient"] = None) -> None:
        self._call = call
        self._on_error = on_error
        self._client = client

    def __iter__(self) -> Iterator[Job]:
        try:
            for response in self._call:
                for job in response.jobs:
                    yield _from_activated_job(job, self._client)
        except grpc.RpcError as exc:
            error = from_grpc_error(exc, operation="ActivateJobs", subject="job")
            if self._on_error is not None:
                self._on_error(error)
            raise error from exc

    def cancel(self) -> None:
        """End the call (the gateway hands back jobs it could not deliver)."""
        cancel = getattr(self._call, "cancel", None)
        if cancel is not None:
            cancel()


class JobStream:
    """An open StreamActivatedJobs call: iterate for jobs as the gateway pushes them.

    The stream has no end of its own: it runs until :meth:`cancel` (from any thread), the
    gateway closes it, or an error. Iteration raises
    :class:`~zeebe_affinity_sync.errors.ZeebeError` on a gateway error and simply ends after
    :meth:`cancel`. A stream only receives jobs created (or made activatable again) while it is
    open: poll beside it for the rest, as :class:`JobWorker` does.
    """

    def __init__(self, call: Any, on_error: Optional[Callable[[ZeebeError], None]] = None,
                 client: Optional["ZeebeClient"] = None) -> None:
        self._call = call
        self._on_error = on_error
        self._client = client
        self._cancelled = False

    def __iter__(self) -> Iterator[Job]:
        try:
            for message in self._call:
                yield _from_activated_job(message, self._client)
        except grpc.RpcError as exc:
            if self._cancelled and exc.code() == grpc.StatusCode.CANCELLED:
                return
            error = from_grpc_error(exc, operation="StreamActivatedJobs", subject="job")
            if self._on_error is not None:
                self._on_error(error)
            raise error from exc

    def cancel(self) -> None:
        """Close the stream; jobs pushed but not yet read go back to the gateway (they time out
        there if they were already on the wire)."""
        self._cancelled = True
        cancel = getattr(self._call, "cancel", None)
        if cancel is not None:
            cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled


# --------------------------------------------------------------------------- the client


class ZeebeClient:
    """Synchronous Zeebe client; every method is thread-safe.

    Args:
        gateway_address: ``host:port``, ``grpcs://host:port`` (TLS) or ``grpc://host:port``;
            else ``ZEEBE_GRPC_ADDRESS``, ``ZEEBE_ADDRESS``; else ``localhost:26500``.
        secure: TLS; else the address's scheme, ``CAMUNDA_SECURE_CONNECTION`` /
            ``ZEEBE_INSECURE_CONNECTION``; else on iff a CA or client certificate is given.
        ca_certificate_path: PEM roots for TLS; else ``CAMUNDA_CUSTOM_ROOT_CERT_PATH``,
            ``ZEEBE_CA_CERTIFICATE_PATH``.
        ca_certificate: PEM roots as text; else ``CAMUNDA_CUSTOM_ROOT_CERT_STRING``.
        client_certificate_path: mTLS client certificate chain (PEM); else
            ``CAMUNDA_CUSTOM_CERT_CHAIN_PATH``. Needs ``client_private_key_path``.
        client_private_key_path: Its private key (PEM); else ``CAMUNDA_CUSTOM_PRIVATE_KEY_PATH``.
        auth_strategy: ``"NONE"``, ``"OAUTH"`` or ``"BASIC"``; else ``CAMUNDA_AUTH_STRATEGY``;
            else OAuth if OAuth credentials are set, basic if a basic-auth user is, else none.
        client_id: OAuth client id; else ``ZEEBE_CLIENT_ID``.
        client_secret: OAuth client secret; else ``ZEEBE_CLIENT_SECRET``.
        authorization_server_url: OAuth token endpoint; else ``CAMUNDA_OAUTH_URL``,
            ``ZEEBE_AUTHORIZATION_SERVER_URL``.
        token_audience: OAuth audience; else ``CAMUNDA_ZEEBE_OAUTH_AUDIENCE``,
            ``CAMUNDA_TOKEN_AUDIENCE``, ``ZEEBE_TOKEN_AUDIENCE``; else the gateway host.
        token_scope: OAuth scope; else ``CAMUNDA_TOKEN_SCOPE``; else none.
        token_cache_dir: Folder of the on-disk token cache; else ``CAMUNDA_TOKEN_CACHE_DIR``;
            else ``~/.camunda``.
        token_disk_cache_disabled: Keep tokens in memory only; else
            ``CAMUNDA_TOKEN_DISK_CACHE_DISABLE``.
        oauth_disabled: Ignore the OAuth settings; else ``CAMUNDA_OAUTH_DISABLED``.
        basic_auth_username: Basic-auth user; else ``CAMUNDA_BASIC_AUTH_USERNAME``.
        basic_auth_password: Basic-auth password; else ``CAMUNDA_BASIC_AUTH_PASSWORD``.
        tenant_id: Default tenant of deploy, create, publish, signal and decision calls and of
            job activation; else ``CAMUNDA_TENANT_ID``; else the gateway's default tenant
            (``config.tenant_id`` is then ``None``). Each call's own ``tenant_id`` /
            ``tenant_ids`` wins.
        request_timeout: gRPC deadline of ordinary calls, seconds (default 15).
        max_message_bytes: gRPC max message size, bytes (default 4 MiB).
        retry_policy: How safe calls are repeated (default: 5 attempts, 0.1 s doubling to 5 s).

    Raises:
        ConfigurationError: A setting is missing or wrong (before any I/O).
    """

    def __init__(
        self,
        gateway_address: Optional[str] = None,
        *,
        secure: Optional[bool] = None,
        ca_certificate_path: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        authorization_server_url: Optional[str] = None,
        token_audience: Optional[str] = None,
        oauth_disabled: Optional[bool] = None,
        ca_certificate: Optional[Union[str, bytes]] = None,
        client_certificate_path: Optional[str] = None,
        client_private_key_path: Optional[str] = None,
        auth_strategy: Optional[str] = None,
        token_scope: Optional[str] = None,
        token_cache_dir: Optional[str] = None,
        token_disk_cache_disabled: Optional[bool] = None,
        basic_auth_username: Optional[str] = None,
        basic_auth_password: Optional[str] = None,
        tenant_id: Optional[str] = None,
        request_timeout: float = defaults.REQUEST_TIMEOUT,
        max_message_bytes: int = defaults.CLIENT_MAX_MESSAGE_BYTES,
        retry_policy: Optional[RetryPolicy] = None,
    ) -> None:
        self.config: ClientConfig = resolve_config(
            gateway_address,
            secure=secure,
            ca_certificate_path=ca_certificate_path,
            client_id=client_id,
            client_secret=client_secret,
            authorization_server_url=authorization_server_url,
            token_audience=token_audience,
            oauth_disabled=oauth_disabled,
            ca_certificate=ca_certificate,
            client_certificate_path=client_certificate_path,
            client_private_key_path=client_private_key_path,
            auth_strategy=auth_strategy,
            token_scope=token_scope,
            token_cache_dir=token_cache_dir,
            token_disk_cache_disabled=token_disk_cache_disabled,
            basic_auth_username=basic_auth_username,
            basic_auth_password=basic_auth_password,
            tenant_id=tenant_id,
            request_timeout=request_timeout,
            max_message_bytes=max_message_bytes,
        )
        # shared by every client of this process with the same settings: one token, one request
        self.token_provider: Optional[OAuthTokenProvider] = (
            OAuthTokenProvider.shared(self.config.oauth) if self.config.oauth is not None else None
        )
        self.retry_policy = retry_policy or RetryPolicy()
        self._channel = LazyChannel(self.config, self.token_provider)

    # ----------------------------------------------------------------- plumbing

    @property
    def tenant_id(self) -> Optional[str]:
        """The default tenant of this client's calls (``None``: the gateway's default tenant)."""
        return self.config.tenant_id

    def _tenant(self, tenant_id: Optional[str]) -> str:
        if tenant_id is not None:
            return _check_tenant(tenant_id)
        return self.tenant_id or ""

    def _tenants(self, tenant_ids: Optional[Sequence[str]]) -> List[str]:
        if tenant_ids is not None:
            return _tenant_list(tenant_ids)
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

    # ----------------------------------------------------------------- cluster and deploy

    def topology(self) -> Topology:
        """The cluster topology (also a cheap "is the gateway there" check).

        Raises:
            ZeebeError: The gateway could not answer (``GatewayUnavailableError`` if unreachable).
        """
        return _from_topology(self._call("Topology", pb.TopologyRequest(), retry=True))

    def deploy_resource(self, *resources: Resource, tenant_id: Optional[str] = None) -> Deployment:
        """Deploy BPMN resources (deploying an unchanged resource again is a no-op).

        Args:
            resources: Each a file path or a ``(name, bytes)`` tuple.
            tenant_id: Tenant to deploy to (default: the client's :attr:`tenant_id`).

        Raises:
            TypeError: A resource is neither a path nor a ``(name, bytes)`` tuple.
            FileNotFoundError: A path cannot be read.
            InvalidArgumentError: The gateway refused the BPMN (the message names the problem).
        """
        if not resources:
            raise TypeError("deploy_resource() needs at least one resource: a path or a (name, bytes) tuple")
        request = pb.DeployResourceRequest(
            resources=[pb.Resource(name=name, content=content) for name, content in map(_read_resource, resources)],
            tenantId=self._tenant(tenant_id),
        )
        return _from_deploy_resource(self._call("DeployResource", request, retry=True))

    # ----------------------------------------------------------------- process instances

    def _create_request(
        self, bpmn_process_id: str, variables: Any, version: Optional[int], tenant_id: Optional[str]
    ) -> pb.CreateProcessInstanceRequest:
        _check_str(bpmn_process_id, "bpmn_process_id")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise TypeError(f"version must be an int or None (latest), got {version!r}")
        return pb.CreateProcessInstanceRequest(
            bpmnProcessId=bpmn_process_id,
            version=-1 if version is None else version,
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )

    def create_process_instance(
        self,
        bpmn_process_id: str,
        variables: Optional[Dict[str, Any]] = None,
        *,
        version: Optional[int] = None,
        tenant_id: Optional[str] = None,
    ) -> ProcessInstance:
        """Start an instance of the latest (or the given) version of a process. Never retried.

        Args:
            tenant_id: The tenant whose process to start (default: the client's :attr:`tenant_id`).

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            ProcessNotFoundError: No such process is deployed.
            ZeebeError: Any other gateway error.
        """
        request = self._create_request(bpmn_process_id, variables, version, tenant_id)
        return _from_process_instance(self._call("CreateProcessInstance", request, subject="process"))

    def create_process_instance_with_result(
        self,
        bpmn_process_id: str,
        variables: Optional[Dict[str, Any]] = None,
        *,
        version: Optional[int] = None,
        timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_id: Optional[str] = None,
    ) -> ProcessInstanceResult:
        """Start an instance and wait until it completes. Never retried.

        Args:
            timeout: Seconds to wait for completion (default 15); the gRPC deadline is a little
                longer so the gateway's own timeout answers first.
            fetch_variables: Only return these variables (default: all root variables).
            tenant_id: The tenant whose process to start (default: the client's :attr:`tenant_id`).

        Raises:
            ZeebeTimeoutError: The instance did not complete in time (it keeps running).
            ProcessNotFoundError: No such process is deployed.
        """
        inner = self._create_request(bpmn_process_id, variables, version, tenant_id)
        wait = defaults.WITH_RESULT_TIMEOUT if timeout is None else _check_seconds(timeout, "timeout", allow_zero=False)
        request = pb.CreateProcessInstanceWithResultRequest(
            request=inner,
            requestTimeout=_ms(wait),
            fetchVariables=_names(fetch_variables, "fetch_variables"),
        )
        reply = self._call(
            "CreateProcessInstanceWithResult",
            request,
            subject="process",
            timeout=wait + defaults.WITH_RESULT_DEADLINE_MARGIN,
        )
        return _from_process_instance_result(reply)

    def cancel_process_instance(self, process_instance_key: int) -> None:
        """Cancel a running instance.

        Raises:
            ProcessNotFoundError: No such running instance.
        """
        request = pb.CancelProcessInstanceRequest(
            processInstanceKey=_check_key(process_instance_key, "process_instance_key")
        )
        self._call("CancelProcessInstance", request, subject="process")

    def set_variables(self, element_instance_key: int, variables: Dict[str, Any], *, local: bool = False) -> int:
        """Set variables on a scope (a process instance key is the root scope).

        Returns:
            The key of the variable-document command.

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            NotFoundError: No such active element instance.
        """
        request = pb.SetVariablesRequest(
            elementInstanceKey=_check_key(element_instance_key, "element_instance_key"),
            variables=encode_variables(variables, required=True),
            local=bool(local),
        )
        return int(self._call("SetVariables", request, subject="process", retry=True).key)

    def publish_message(
        self,
        name: str,
        correlation_key: str,
        variables: Optional[Dict[str, Any]] = None,
        *,
        time_to_live: float = defaults.MESSAGE_TIME_TO_LIVE,
        message_id: Optional[str] = None,
        tenant_id: Optional[str] = None,
    ) -> PublishedMessage:
        """Publish a message; it is buffered ``time_to_live`` seconds if nothing awaits it yet.

        Retried on UNAVAILABLE only when ``message_id`` is set (the id makes a repeat harmless).
        The message only correlates within ``tenant_id`` (default: the client's :attr:`tenant_id`).

        Raises:
            AlreadyExistsError: A message with this id is still buffered.
        """
        _check_str(name, "name")
        if not isinstance(correlation_key, str):
            raise TypeError(f"correlation_key must be a str, got {type(correlation_key).__name__}: use str(...)")
        if message_id is not None:
            _check_str(message_id, "message_id")
        request = pb.PublishMessageRequest(
            name=name,
            correlationKey=correlation_key,
            timeToLive=_ms(_check_seconds(time_to_live, "time_to_live")),
            messageId=message_id or "",
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )
        reply = self._call("PublishMessage", request, retry=message_id is not None)
        return PublishedMessage(key=reply.key, tenant_id=reply.tenantId)

    def broadcast_signal(
        self, signal_name: str, variables: Optional[Dict[str, Any]] = None, *, tenant_id: Optional[str] = None
    ) -> SignalBroadcast:
        """Broadcast a signal: every signal catch event / signal start event of that name in the
        tenant is triggered. Never retried (a repeat would trigger them twice).

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            ZeebeError: The gateway refused the signal.
        """
        request = pb.BroadcastSignalRequest(
            signalName=_check_str(signal_name, "signal_name"),
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )
        reply = self._call("BroadcastSignal", request)
        return SignalBroadcast(key=reply.key, tenant_id=reply.tenantId)

    def evaluate_decision(
        self,
        decision_id: Optional[str] = None,
        variables: Optional[Dict[str, Any]] = None,
        *,
        decision_key: Optional[int] = None,
        tenant_id: Optional[str] = None,
    ) -> DecisionEvaluation:
        """Evaluate a deployed DMN decision (the latest version of ``decision_id``, or exactly
        ``decision_key``) with ``variables``. Retried on UNAVAILABLE (an evaluation changes nothing).

        A failed evaluation is an answer, not an error: look at ``failed_decision_id`` and
        ``failure_message`` of the result.

        Raises:
            TypeError: Neither or both of ``decision_id`` / ``decision_key``, or bad variables.
            NotFoundError: No such decision is deployed (in the tenant).
        """
        if (decision_id is None) == (decision_key is None):
            raise TypeError("evaluate_decision() needs exactly one of decision_id or decision_key")
        request = pb.EvaluateDecisionRequest(
            decisionId=_check_str(decision_id, "decision_id") if decision_id is not None else "",
            decisionKey=_check_key(decision_key, "decision_key") if decision_key is not None else 0,
            variables=encode_variables(variables),
            tenantId=self._tenant(tenant_id),
        )
        return _from_decision(self._call("EvaluateDecision", request, subject="decision", retry=True))

    def resolve_incident(self, incident_key: int) -> None:
        """Resolve an incident (raise the job's retries first for a job incident).

        Raises:
            NotFoundError: No such incident.
        """
        request = pb.ResolveIncidentRequest(incidentKey=_check_key(incident_key, "incident_key"))
        self._call("ResolveIncident", request, retry=True)

    # ----------------------------------------------------------------- jobs

    def _activate_request(
        self,
        task_type: str,
        worker: str,
        timeout: float,
        max_jobs_to_activate: int,
        request_timeout: Optional[float],
        fetch_variables: Optional[Sequence[str]],
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> pb.ActivateJobsRequest:
        _check_str(task_type, "task_type")
        if not isinstance(worker, str):
            raise TypeError(f"worker must be a str, got {worker!r}")
        if isinstance(max_jobs_to_activate, bool) or not isinstance(max_jobs_to_activate, int) or max_jobs_to_activate < 1:
            raise ValueError(f"max_jobs_to_activate must be an int >= 1, got {max_jobs_to_activate!r}")
        return pb.ActivateJobsRequest(
            type=task_type,
            worker=worker,
            timeout=_ms(_check_seconds(timeout, "timeout", allow_zero=False)),
            maxJobsToActivate=max_jobs_to_activate,
            fetchVariable=_names(fetch_variables, "fetch_variables"),
            requestTimeout=-1 if request_timeout is None else _ms(_check_seconds(request_timeout, "request_timeout")),
            tenantIds=self._tenants(tenant_ids),
        )

    def _activation_deadline(self, request_timeout: Optional[float]) -> float:
        if request_timeout is None:
            return self.config.request_timeout
        wait = request_timeout if request_timeout > 0 else defaults.WORKER_POLL_REQUEST_TIMEOUT
        return wait + defaults.ACTIVATE_DEADLINE_MARGIN

    def activate_jobs_stream(
        self,
        task_type: str,
        *,
        worker: str = defaults.WORKER_NAME,
        timeout: float = defaults.WORKER_JOB_TIMEOUT,
        max_jobs_to_activate: int = defaults.WORKER_MAX_JOBS_TO_ACTIVATE,
        request_timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> ActivationStream:
        """Open one ActivateJobs call without reading it; the job worker's building block.

        Same arguments as :meth:`activate_jobs`. Not retried: the caller owns the loop.
        """
        request = self._activate_request(
            task_type, worker, timeout, max_jobs_to_activate, request_timeout, fetch_variables, tenant_ids
        )
        stub = self._channel.stub()
        try:
            call = stub.ActivateJobs(request, timeout=self._activation_deadline(request_timeout))
        except grpc.RpcError as exc:  # an interceptor can fail before the call starts
            raise from_grpc_error(exc, operation="ActivateJobs", subject="job") from exc
        return ActivationStream(call, self._after_error, self)

    def activate_jobs(
        self,
        task_type: str,
        *,
        worker: str = defaults.WORKER_NAME,
        timeout: float = defaults.WORKER_JOB_TIMEOUT,
        max_jobs_to_activate: int = defaults.WORKER_MAX_JOBS_TO_ACTIVATE,
        request_timeout: Optional[float] = None,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> List[Job]:
        """Activate up to ``max_jobs_to_activate`` jobs of a type and return them.

        Args:
            task_type: The service task type.
            worker: Worker name recorded on the jobs.
            timeout: Job lock in seconds; after it the job can go to another worker.
            max_jobs_to_activate: Upper bound of jobs returned.
            request_timeout: ``None`` answers at once (possibly with no job); a number of seconds
                long-polls that long for the first job (``0``: the gateway's default).
            fetch_variables: Only fetch these variables (default: all visible ones).
            tenant_ids: Only jobs of these tenants (default: the client's :attr:`tenant_id`, or
                the gateway's default tenant).

        Raises:
            InvalidArgumentError: The gateway refused the request.
            ZeebeError: Any other gateway error (retried first if UNAVAILABLE).
        """
        request = self._activate_request(
            task_type, worker, timeout, max_jobs_to_activate, request_timeout, fetch_variables, tenant_ids
        )
        deadline = self._activation_deadline(request_timeout)

        def once() -> List[Job]:
            call = self._channel.stub().ActivateJobs(request, timeout=deadline)
            return [_from_activated_job(job, self) for response in call for job in response.jobs]

        try:
            return self.retry_policy.call(once, operation="ActivateJobs")
        except grpc.RpcError as exc:
            error = from_grpc_error(exc, operation="ActivateJobs", subject="job")
            self._after_error(error)
            raise error from exc

    def stream_activated_jobs(
        self,
        task_type: str,
        *,
        worker: str = defaults.WORKER_NAME,
        timeout: float = defaults.WORKER_JOB_TIMEOUT,
        fetch_variables: Optional[Sequence[str]] = None,
        tenant_ids: Optional[Sequence[str]] = None,
    ) -> JobStream:
        """Open a StreamActivatedJobs call: the gateway pushes each new job of ``task_type`` the
        moment it is activatable, activated for ``worker`` with a ``timeout`` second lock.

        The call has no deadline (it stays open until :meth:`JobStream.cancel`). It only sees
        jobs that become activatable while it is open; long-poll :meth:`activate_jobs` beside it
        for jobs that were already waiting. Not retried: the caller owns the loop.

        Raises:
            TypeError / ValueError: A bad argument (before any I/O).
        """
        _check_str(task_type, "task_type")
        if not isinstance(worker, str):
            raise TypeError(f"worker must be a str, got {worker!r}")
        request = pb.StreamActivatedJobsRequest(
            type=task_type,
            worker=worker,
            timeout=_ms(_check_seconds(timeout, "timeout", allow_zero=False)),
            fetchVariable=_names(fetch_variables, "fetch_variables"),
            tenantIds=self._tenants(tenant_ids),
        )
        try:
            call = self._channel.stub().StreamActivatedJobs(request)
        except grpc.RpcError as exc:  # an interceptor can fail before the call starts
            raise from_grpc_error(exc, operation="StreamActivatedJobs", subject="job") from exc
        return JobStream(call, self._after_error, self)

    def complete_job(self, job_key: int, variables: Optional[Dict[str, Any]] = None) -> None:
        """Complete a job, merging ``variables`` into the process.

        Raises:
            TypeError: ``variables`` is not a JSON-serialisable dict.
            JobNotFoundError: The job is gone (completed, timed out and taken, cancelled).
        """
        request = pb.CompleteJobRequest(
            jobKey=_check_key(job_key, "job_key"), variables=encode_variables(variables)
        )
        self._call("CompleteJob", request, subject="job", retry=True)

    def fail_job(
        self,
        job_key: int,
        retries: int,
        error_message: str = "",
        *,
        retry_backoff: float = 0.0,
        variables: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Fail a job; with ``retries`` 0 an incident is raised.

        Args:
            retries: Retries left after this failure (usually ``job.retries - 1``).
            retry_backoff: Seconds before the job can be activated again.

        Raises:
            JobNotFoundError: No such job.
        """
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise TypeError(f"retries must be an int, got {retries!r}")
        request = pb.FailJobRequest(
            jobKey=_check_key(job_key, "job_key"),
            retries=retries,
            errorMessage=str(error_message),
            retryBackOff=_ms(_check_seconds(retry_backoff, "retry_backoff")),
            variables=encode_variables(variables),
        )
        self._call("FailJob", request, subject="job", retry=True)

    def throw_error(
        self, job_key: int, error_code: str, error_message: str = "", variables: Optional[Dict[str, Any]] = None
    ) -> None:
        """Throw a BPMN error from a job (caught by a matching error event, else an incident).

        Raises:
            JobNotFoundError: No such job.
        """
        request = pb.ThrowErrorRequest(
            jobKey=_check_key(job_key, "job_key"),
            errorCode=_check_str(error_code, "error_code"),
            errorMessage=str(error_message),
            variables=encode_variables(variables),
        )
        self._call("ThrowError", request, subject="job", retry=True)

    def update_job_retries(self, job_key: int, retries: int) -> None:
        """Set a job's retries (then resolve its incident to retry it).

        Raises:
            JobNotFoundError: No such job.
        """
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise TypeError(f"retries must be an int, got {retries!r}")
        request = pb.UpdateJobRetriesRequest(jobKey=_check_key(job_key, "job_key"), retries=retries)
        self._call("UpdateJobRetries", request, subject="job", retry=True)

    def update_job_timeout(self, job_key: int, timeout: float) -> None:
        """Move a job's deadline to ``timeout`` seconds from now.

        Raises:
            JobNotFoundError: No such job.
        """
        request = pb.UpdateJobTimeoutRequest(
            jobKey=_check_key(job_key, "job_key"), timeout=_ms(_check_seconds(timeout, "timeout"))
        )
        self._call("UpdateJobTimeout", request, subject="job", retry=True)

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the channel; later calls raise ``RuntimeError``. Idempotent."""
        self._channel.close()

    def __enter__(self) -> "ZeebeClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        auth = {"OAUTH": "oauth", "BASIC": "basic-auth"}.get(self.config.auth_strategy, "no-auth")
        tls = "tls" if self.config.secure else "plaintext"
        return f"<ZeebeClient {self.config.address} {tls} {auth}{' closed' if self.closed else ''}>"
