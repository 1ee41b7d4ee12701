"""OAuth client credentials against a real local token endpoint, and TLS with a self-signed
certificate made by the openssl CLI; the gateway is a real gRPC server recording the metadata."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from tests.client.fake_gateway import FakeServer
from zeebe_affinity_sync.errors import OAuthError
from zeebe_affinity_sync.zeebe import JobWorker, ZeebeClient
from zeebe_affinity_sync.zeebe.config import OAuthSettings
from zeebe_affinity_sync.zeebe.oauth import OAuthTokenProvider


class TokenEndpoint:
    """A tiny OAuth token endpoint: answers each POST with a new token ``tok-<n>``."""

    def __init__(self, expires_in: float = 3600) -> None:
        self.expires_in = expires_in
        self.status = 200
        self.delay = 0.0  # seconds each answer waits, to make concurrent requests overlap
        self.requests: List[Dict[str, str]] = []  # parsed form bodies; under lock
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                with endpoint.lock:
                    endpoint.requests.append(form)
                    n = len(endpoint.requests)
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                if endpoint.status != 200:
                    body = json.dumps({"error": "invalid_client"}).encode()
                else:
                    body = json.dumps({"access_token": f"tok-{n}", "expires_in": endpoint.expires_in,
                                       "token_type": "Bearer"}).encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth/token"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-token-endpoint", daemon=True
        )

    def __enter__(self) -> "TokenEndpoint":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    with TokenEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return key, cert


def oauth_kwargs(endpoint: TokenEndpoint) -> Dict[str, Any]:
    return {"client_id": "my-id", "client_secret": "my-secret", "authorization_server_url": endpoint.url,
            "token_audience": "zeebe.test"}


def test_bearer_token_is_sent_and_cached(fake: FakeServer, token_endpoint: TokenEndpoint) -> None:
    with ZeebeClient(fake.address, **oauth_kwargs(token_endpoint)) as client:
        for _ in range(3):
            client.topology()
        assert client.token_provider is not None and client.token_provider.fetch_count == 1
    assert [md.get("authorization") for md in fake.gateway.metadata_of("Topology")] == ["Bearer tok-1"] * 3
    assert token_endpoint.requests == [
        {"grant_type": "client_credentials", "client_id": "my-id", "client_secret": "my-secret",
         "audience": "zeebe.test"}
    ]


def test_bearer_token_also_goes_on_job_activation(fake: FakeServer, token_endpoint: TokenEndpoint) -> None:
    fake.gateway.add_jobs("t", 1)
    with ZeebeClient(fake.address, **oauth_kwargs(token_endpoint)) as client:
        jobs = client.activate_jobs("t", request_timeout=1.0)
    assert len(jobs) == 1
    assert fake.gateway.metadata_of("ActivateJobs")[0]["authorization"] == "Bearer tok-1"


def test_token_is_refreshed_before_expiry(token_endpoint: TokenEndpoint) -> None:
    now = [1000.0]
    settings = OAuthSettings("id", "secret", token_endpoint.url, "aud")
    token_endpoint.expires_in = 100
    provider = OAuthTokenProvider(settings, refresh_margin=30, clock=lambda: now[0])
    assert provider.token() == "tok-1"
    now[0] += 69  # still outside the margin
    assert provider.token() == "tok-1"
    now[0] += 2  # inside the 30 s margin: refreshed while the old one is still valid
    assert provider.token() == "tok-2"
    now[0] += 500  # long expired
    assert provider.token() == "tok-3"
    assert provider.fetch_count == 3


def test_many_threads_share_one_fetch(token_endpoint: TokenEndpoint) -> None:
    provider = OAuthTokenProvider(OAuthSettings("id", "secret", token_endpoint.url, "aud"))
    barrier = threading.Barrier(8)
    seen: List[str] = []

    def ask() -> None:
        barrier.wait()
        seen.append(provider.token())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == ["tok-1"] * 8
    assert len(token_endpoint.requests) == 1


def test_refused_credentials_raise_oauth_error(fake: FakeServer, token_endpoint: TokenEndpoint) -> None:
    token_endpoint.status = 401
    with ZeebeClient(fake.address, **oauth_kwargs(token_endpoint)) as client:
        with pytest.raises(OAuthError, match="HTTP 401.*invalid_client"):
            client.topology()
        with pytest.raises(OAuthError, match="HTTP 401"):
            client.activate_jobs("t")
    assert fake.gateway.calls == []  # nothing reached the gateway without a token


def test_unreachable_token_endpoint(fake: FakeServer) -> None:
    from tests.support.net import free_port

    url = f"http://127.0.0.1:{free_port()}/token"
    with ZeebeClient(fake.address, client_id="a", client_secret="b", authorization_server_url=url) as client:
        with pytest.raises(OAuthError, match="cannot reach the token endpoint"):
            client.topology()


def test_tls_with_a_custom_ca(tls_files: Tuple[Path, Path]) -> None:
    key, cert = tls_files
    with FakeServer(tls=(key.read_bytes(), cert.read_bytes())) as server:
        with ZeebeClient(server.address, ca_certificate_path=str(cert)) as client:
            assert client.config.secure
            assert client.topology().cluster_size == 1


def test_tls_plus_oauth_like_camunda_saas(
    tls_files: Tuple[Path, Path], token_endpoint: TokenEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, cert = tls_files
    with FakeServer(tls=(key.read_bytes(), cert.read_bytes())) as server:
        monkeypatch.setenv("ZEEBE_ADDRESS", server.address)
        monkeypatch.setenv("CAMUNDA_SECURE_CONNECTION", "true")
        monkeypatch.setenv("ZEEBE_CA_CERTIFICATE_PATH", str(cert))
        monkeypatch.setenv("ZEEBE_CLIENT_ID", "env-id")
        monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "env-secret")
        monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", token_endpoint.url)
        server.gateway.add_jobs("secure-task", 1)
        worker = JobWorker(max_running_jobs=2, poll_request_timeout=5)  # client built from the env
        worker.register("secure-task", lambda variables: {"seen": variables["n"]})
        with worker:
            with server.gateway.lock:
                assert server.gateway.lock.wait_for(lambda: server.gateway.finished, timeout=30)
        completes = server.gateway.calls_of("CompleteJob")
        assert len(completes) == 1 and json.loads(completes[0].variables)["seen"] > 0
        assert all(md["authorization"] == "Bearer tok-1" for md in server.gateway.metadata_of("CompleteJob"))
        assert token_endpoint.requests[0]["audience"] == "127.0.0.1"
    assert worker.client.closed  # the worker built the client, so it closed it


def test_tls_refuses_an_unknown_certificate(tls_files: Tuple[Path, Path], tmp_path: Path) -> None:
    from zeebe_affinity_sync.errors import GatewayUnavailableError
    from zeebe_affinity_sync.zeebe.retry import RetryPolicy

    key, cert = tls_files
    with FakeServer(tls=(key.read_bytes(), cert.read_bytes())) as server:
        # no custom CA: the system roots do not know our self-signed certificate
        with ZeebeClient(server.address, secure=True, request_timeout=3,
                         retry_policy=RetryPolicy(max_attempts=1)) as client:
            with pytest.raises(GatewayUnavailableError):
                client.topology()
    assert server.gateway.calls == []


def test_unauthenticated_answer_drops_the_cached_token(fake: FakeServer, token_endpoint: TokenEndpoint) -> None:
    import grpc

    from zeebe_affinity_sync.errors import PermissionDeniedError

    fake.gateway.fail("Topology", grpc.StatusCode.UNAUTHENTICATED)
    fake.gateway.fail("ActivateJobs", grpc.StatusCode.UNAUTHENTICATED)
    with ZeebeClient(fake.address, **oauth_kwargs(token_endpoint)) as client:
        with pytest.raises(PermissionDeniedError):
            client.topology()
        client.topology()
        with pytest.raises(PermissionDeniedError):
            client.activate_jobs("t")
        client.activate_jobs("t")
    tokens = [md["authorization"] for md in fake.gateway.metadata_of("Topology") + fake.gateway.metadata_of("ActivateJobs")]
    assert tokens == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-2", "Bearer tok-3"]
