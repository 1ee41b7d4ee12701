"""``ZeebeAffinity``: the Flask extension.

A view returns the variables; the extension starts the process, waits for its outcome and answers
with it::

    from flask import Flask, request
    from zeebe_affinity_sync.flask import ZeebeAffinity

    affinity = ZeebeAffinity()

    def create_app():
        app = Flask(__name__)
        app.config["ZEEBE_AFFINITY_URL"] = "ws://hub:8089"
        affinity.init_app(app)

        @app.post("/orders")
        @affinity.process("order-process", timeout=10)
        def order():
            return request.get_json()

        return app

Errors become JSON answers (504 timeout, 503 overload / gateway down, 404 unknown process, 400 bad
variables, 422 process failed...), see :mod:`zeebe_affinity_sync.web` for the table. The same
mapping is registered as an app error handler, so custom views calling ``affinity.client``
directly get it too.

One client serves every request thread of a process. It is created on first use in the process
that uses it (fork-safe under gunicorn ``--preload``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar, Union, cast

from flask import Flask, Response, current_app, jsonify, make_response, request
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as BaseResponse

from . import defaults
from .errors import AffinityError, ZeebeError
from .web import ClientHolder, HttpAnswer, MessageRound, WebSettings, answer_collect, answer_error, build_client
from .web.decorators import Framework, decorate, message_kind, process_kind
from .web.settings import read_settings

__all__ = ["ZeebeAffinity", "MessageRound", "EXTENSION_KEY", "CONFIG_DEFAULTS"]

#: Key of the extension's state in ``app.extensions``.
EXTENSION_KEY = "zeebe_affinity"

#: Config keys and their defaults, applied with ``app.config.setdefault`` by ``init_app``.
CONFIG_DEFAULTS: Dict[str, Any] = {
    "ZEEBE_ADDRESS": None,
    "ZEEBE_AFFINITY_URL": None,
    "ZEEBE_AFFINITY_TOKEN": None,
    "ZEEBE_AFFINITY_TIMEOUT": defaults.AFFINITY_TIMEOUT,
    "ZEEBE_AFFINITY_STRATEGY": defaults.WEB_STRATEGY,
    "ZEEBE_AFFINITY_MODE": None,  # deprecated name of ZEEBE_AFFINITY_STRATEGY
    "ZEEBE_AFFINITY_REDIS_URL": None,
    "ZEEBE_AFFINITY_FAILURE_STATUS": defaults.WEB_FAILURE_STATUS,
    "ZEEBE_AFFINITY_OUTCOME_URL": None,
    "ZEEBE_AFFINITY_CLIENT_OPTIONS": {},
    "ZEEBE_AFFINITY_TENANT_ID": None,
}

#: WebSettings field -> the config key holding it.
_CONFIG_KEYS: Dict[str, str] = {
    "zeebe_address": "ZEEBE_ADDRESS",
    "strategy": "ZEEBE_AFFINITY_STRATEGY",
    "mode": "ZEEBE_AFFINITY_MODE",
    "affinity_url": "ZEEBE_AFFINITY_URL",
    "affinity_token": "ZEEBE_AFFINITY_TOKEN",
    "timeout": "ZEEBE_AFFINITY_TIMEOUT",
    "redis_url": "ZEEBE_AFFINITY_REDIS_URL",
    "failure_status": "ZEEBE_AFFINITY_FAILURE_STATUS",
    "outcome_url": "ZEEBE_AFFINITY_OUTCOME_URL",
    "client_options": "ZEEBE_AFFINITY_CLIENT_OPTIONS",
    "tenant_id": "ZEEBE_AFFINITY_TENANT_ID",
}

F = TypeVar("F", bound=Callable[..., Any])
ClientFactory = Callable[..., Any]  # (settings) -> client, or () -> client


@dataclass
class _State:
    """What one app holds in ``app.extensions["zeebe_affinity"]``."""

    settings: WebSettings
    holder: ClientHolder


def _to_flask(answer: HttpAnswer) -> Response:
    response = jsonify(answer.body)
    response.status_code = answer.status
    for name, value in answer.headers.items():
        response.headers[name] = value
    return response


def _handle_error(exc: Exception) -> Any:
    # The app error handler: the library's errors escaping any view (e.g. one using
    # ``affinity.client`` directly) are answered like the decorators answer them.
    state = current_app.extensions.get(EXTENSION_KEY)
    answer = answer_error(exc, state.settings) if state is not None else None
    if answer is None:
        raise exc
    return _to_flask(answer)


class _Flask(Framework):
    """The decorators' view of Flask, for one extension object."""

    #: what ``request.get_json()`` raises for a body that is not JSON
    body_errors = (BadRequest,)

    def __init__(self, extension: "ZeebeAffinity") -> None:
        self._extension = extension

    def passthrough(self, result: Any) -> Optional[Response]:
        # A view may still answer by itself (e.g. a validation error) instead of starting a process.
        if isinstance(result, BaseResponse):
            return cast(Response, result)
        if isinstance(result, tuple):
            return make_response(result)
        return None

    def respond(self, answer: HttpAnswer) -> Response:
        return _to_flask(answer)

    def settings(self) -> WebSettings:
        return self._extension._state().settings

    def get_client(self) -> Any:
        return self._extension._state().holder.get()

    def request_body(self, args: Tuple[Any, ...]) -> Optional[bytes]:
        return request.get_data(cache=True)


class ZeebeAffinity:
    """The Flask extension: configuration, one affinity client per process, view decorators.

    Args:
        app: The app to initialise now; leave it out with the app-factory pattern and call
            :meth:`init_app` later.
        client_factory: ``callable(settings) -> client`` (or ``callable() -> client``) replacing
            the built-in client construction (for a custom client, or a ready-made one in tests:
            ``client_factory=lambda: zeebe_affinity_client``).
    """

    def __init__(
        self, app: Optional[Flask] = None, *, client_factory: Optional[ClientFactory] = None
    ) -> None:
        self._client_factory = client_factory
        self._framework = _Flask(self)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension on ``app``, reading its configuration.

        Set the configuration before calling this. Keys (defaults applied with ``setdefault``):

        - ``ZEEBE_ADDRESS``: gateway ``host:port``; ``None`` falls back to the ``ZEEBE_ADDRESS``
          environment variable, then ``localhost:26500``.
        - ``ZEEBE_AFFINITY_URL``: hub websocket URL (``ws://`` or ``wss://``); ``None`` falls
          back to the ``ZEEBE_AFFINITY_URL`` environment variable.
        - ``ZEEBE_AFFINITY_TOKEN``: hub token; ``None`` falls back to ``ZEEBE_AFFINITY_TOKEN``.
        - ``ZEEBE_AFFINITY_TIMEOUT``: seconds a view waits for its outcome (default 30).
        - ``ZEEBE_AFFINITY_STRATEGY``: ``"hub"`` (default), ``"redis"`` or ``"with_result"``
          (``ZEEBE_AFFINITY_MODE``, its old name, still works with a DeprecationWarning).
        - ``ZEEBE_AFFINITY_REDIS_URL``: Redis URL, required with strategy ``"redis"``.
        - ``ZEEBE_AFFINITY_FAILURE_STATUS``: HTTP status of a failure outcome (default 422).
        - ``ZEEBE_AFFINITY_OUTCOME_URL``: URL template with ``{key}``; when set, a timeout
          answers ``202`` with ``Location`` pointing there instead of ``504``.
        - ``ZEEBE_AFFINITY_CLIENT_OPTIONS``: dict of extra keyword arguments for the client.
        - ``ZEEBE_AFFINITY_TENANT_ID``: the client's default tenant; ``None`` falls back to
          ``CAMUNDA_TENANT_ID``.

        Raises:
            RuntimeError: The extension is already registered on this app.
            ConfigurationError: A setting has a wrong value (the message says which and why).
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "ZeebeAffinity is already registered on this app: create one ZeebeAffinity and "
                "call init_app once per app"
            )
        for key, value in CONFIG_DEFAULTS.items():
            app.config.setdefault(key, dict(value) if isinstance(value, dict) else value)
        settings = self._settings(app.config)
        holder = ClientHolder(lambda: build_client(settings))
        app.extensions[EXTENSION_KEY] = _State(settings, holder)
        app.register_error_handler(AffinityError, _handle_error)
        app.register_error_handler(ZeebeError, _handle_error)

    def _settings(self, config: Any) -> WebSettings:
        values = {name: config[key] for name, key in _CONFIG_KEYS.items()}
        values["client_factory"] = self._client_factory
        names = dict(_CONFIG_KEYS, client_factory="ZeebeAffinity(client_factory=...)")
        return read_settings(values, names)

    # ----------------------------------------------------------------------- state access

    def _state(self, app: Optional[Flask] = None) -> _State:
        if app is None:
            try:
                app = cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
            except RuntimeError:
                raise RuntimeError(
                    "ZeebeAffinity needs an application context: use it inside a request, or "
                    "inside `with app.app_context():`"
                ) from None
        state = app.extensions.get(EXTENSION_KEY)
        if state is None:
            raise RuntimeError(
                f"ZeebeAffinity is not registered on app {app.name!r}: call affinity.init_app(app)"
            )
        return cast(_State, state)

    @property
    def client(self) -> Any:
        """The current app's affinity client (``ZBAffinityClient`` or ``RedisAffinity``).

        Created on first use in this process. Needs an application context.
        """
        return self._state().holder.get()

    def settings(self, app: Optional[Flask] = None) -> WebSettings:
        """The settings read from the app's config by :meth:`init_app`."""
        return self._state(app).settings

    def close(self, app: Optional[Flask] = None) -> None:
        """Close this process's client of ``app`` (default: the current app).

        The next use creates a new one. Call it at shutdown, or between tests.
        """
        self._state(app).holder.close()

    # ----------------------------------------------------------------------- decorators

    def process(
        self, bpmn_process_id: str, *, timeout: Optional[float] = None, version: Optional[int] = None
    ) -> Callable[[F], F]:
        """Decorate a view that returns the variables ``dict`` of a new process instance.

        The decorated view answers ``200`` with the outcome variables as JSON and the instance
        key in the ``X-Process-Instance-Key`` header. A view returning a ``Response`` or a
        ``(body, status)`` tuple instead answers with it unchanged (e.g. a validation error).

        Args:
            bpmn_process_id: The process to start.
            timeout: Seconds to wait for the outcome (default: ``ZEEBE_AFFINITY_TIMEOUT``).
            version: Process version to start (default: the latest).

        Raises:
            TypeError: (at request time) the view returned something else than a dict, a response
                or a tuple.
        """

        def decorator(view: F) -> F:
            return decorate(self._framework, view, process_kind(bpmn_process_id, version=version), timeout)

        return decorator

    def message(
        self, name: str, *, timeout: Optional[float] = None
    ) -> Callable[[F], F]:
        """Decorate a view that returns a :class:`MessageRound` for a running instance.

        The extension publishes message ``name`` with the round's correlation key and variables,
        waits for the instance's next outcome (a relay task after the message catch event) and
        answers with it, as :meth:`process` does.

        Args:
            name: The message name of the catch event.
            timeout: Seconds to wait for the outcome (default: ``ZEEBE_AFFINITY_TIMEOUT``).

        Raises:
            TypeError: (at request time) the view returned something else than a
                ``MessageRound``, a response or a tuple.
        """

        def decorator(view: F) -> F:
            return decorate(self._framework, view, message_kind(name), timeout)

        return decorator

    def collect(self, process_instance_key: Union[int, str], *, timeout: Optional[float] = None) -> Response:
        """Answer with the outcome of an instance whose request timed out (collect later).

        Use it in the view behind ``ZEEBE_AFFINITY_OUTCOME_URL``. ``200`` with the outcome when
        it is there, ``202`` + ``Location`` while it is still pending.

        Args:
            process_instance_key: The key from the earlier 202/504 answer.
            timeout: Seconds to wait for it (default 0: answer at once).
        """
        state = self._state()
        wait = defaults.WEB_COLLECT_TIMEOUT if timeout is None else timeout
        return _to_flask(answer_collect(state.holder.get, process_instance_key, state.settings, wait))
