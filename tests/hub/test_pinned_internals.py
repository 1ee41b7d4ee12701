"""The simple-websocket and gunicorn internals the hub relies on (hub/websocket.py, hub/worker.py).

``setup.cfg`` pins ``simple-websocket>=1.0,<2``; this test fails first if a release inside that
range moves what the transport uses, so the pin can be revisited before anything breaks.
"""
from __future__ import annotations

import inspect
from importlib.metadata import version

import simple_websocket
from simple_websocket.ws import Base, Server


def test_version_is_inside_the_pinned_major():
    major = int(version("simple-websocket").split(".")[0])
    assert major == 1, "hub/websocket.py is written against simple-websocket 1.x"


def test_the_attributes_and_hooks_the_transport_uses_still_exist():
    base_init = inspect.getsource(Base.__init__)
    # set before handshake() runs, which HubServer.handshake replaces
    for attribute in ("self.sock = sock", "self.input_buffer = []", "self.event = event_class()",
                      "self.connected = False", "self.handshake()", "self.thread = thread_class("):
        assert attribute in base_init, attribute
    assert base_init.index("self.input_buffer = []") < base_init.index("self.handshake()")
    assert base_init.index("self.handshake()") < base_init.index("self.thread.start()")
    reader = inspect.getsource(Base._thread) + inspect.getsource(Base._handle_events)
    # the reader only appends to input_buffer, reads with sock.recv, writes with sock.send
    assert "self.input_buffer.append(" in reader
    assert "self.sock.recv(self.receive_bytes)" in reader
    assert "self.sock.send(" in reader and "self.event.set()" in reader
    assert "self.sock.close()" in reader  # _GatedSocket.close turns it into a shutdown
    # compression is accepted only when the client offers it (HubServer strips the offer)
    assert "PerMessageDeflate()" in inspect.getsource(Base._handle_events)
    server = inspect.getsource(Server.__init__) + inspect.getsource(Server.handshake)
    assert "environ.get('gunicorn.socket')" in server and "HTTP_" in server
    assert "ping_interval" in inspect.signature(Server.__init__).parameters
    assert "max_message_size" in inspect.signature(Server.__init__).parameters
    assert "thread_class" in inspect.signature(Server.__init__).parameters
    assert issubclass(simple_websocket.ConnectionClosed, Exception)
    assert issubclass(simple_websocket.ConnectionError, Exception)


def test_gunicorn_thread_worker_has_what_hub_worker_builds_on():
    """HubWorker (hub/worker.py) overrides these; setup.cfg pins gunicorn>=24,<28 for them."""
    from gunicorn.http.unreader import Unreader
    from gunicorn.workers.gthread import TConn, ThreadWorker

    major = int(version("gunicorn").split(".")[0])
    assert 24 <= major < 28
    for name in ("accept", "on_client_socket_readable", "murder_keepalived", "handle",
                 "enqueue_req", "finish_request"):
        assert callable(getattr(ThreadWorker, name)), name
    assert list(inspect.signature(ThreadWorker.accept).parameters) == ["self", "listener"]
    assert list(inspect.signature(TConn.__init__).parameters) == [
        "self", "cfg", "sock", "client", "server"]
    init = inspect.getsource(ThreadWorker.__init__)
    assert "self.keepalived_conns" in init and "self.nr_conns" in init
    assert callable(Unreader.unread)
