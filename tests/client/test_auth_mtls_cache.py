"""Basic auth and mTLS against real gRPC servers, and the OAuth token cache against a real local
token endpoint: reuse across clients and across a process restart, refresh, a corrupt file, the
disabled cache, one request in flight, the back-off after a 401.

Certificates (a CA, a server and a client certificate signed by it) are made by the openssl CLI.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path
from typing import Dict, Iterator, List

import grpc
import pytest

from tests.client.fake_gateway import FakeGateway, FakeServer
from tests.client.test_oauth_tls import TokenEndpoint
from zeebe_affinity_sync.errors import GatewayUnavailableError, OAuthError
from zeebe_affinity_sync.gateway import gateway_pb2_grpc as pb_grpc
from zeebe_affinity_sync.zeebe import JobWorker, ZeebeClient
from zeebe_affinity_sync.zeebe.config import OAuthSettings
from zeebe_affinity_sync.zeebe.oauth import OAuthTokenProvider
from zeebe_affinity_sync.zeebe.retry import RetryPolicy
from zeebe_affinity_sync.zeebe.token_cache import TokenDiskCache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    with TokenEndpoint() as endpoint:
        yield endpoint


# --------------------------------------------------------------------------- basic auth

def test_basic_auth_from_the_environment_goes_on_every_call(fake: FakeServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ZEEBE_GRPC_ADDRESS", f"grpc://{fake.address}")
    monkeypatch.setenv("CAMUNDA_AUTH_STRATEGY", "BASIC")
    monkeypatch.setenv("CAMUNDA_BASIC_AUTH_USERNAME", "demo")
    monkeypatch.setenv("CAMUNDA_BASIC_AUTH_PASSWORD", "demo-pass")
    fake.gateway.add_jobs("basic-task", 1)
    worker = JobWorker(max_running_jobs=1, poll_request_timeout=5)
    worker.register("basic-task", lambda: None)
    with worker:
        worker.client.topology()
        with fake.gateway.lock:
            assert fake.gateway.lock.wait_for(lambda: fake.gateway.finished, timeout=30)
    expected = "Basic ZGVtbzpkZW1vLXBhc3M="  # base64("demo:demo-pass")
    for rpc in ("Topology", "ActivateJobs", "CompleteJob"):
        seen = [md.get("authorization") for md in fake.gateway.metadata_of(rpc)]
        assert seen and set(seen) == {expected}, (rpc, seen)


def test_no_auth_sends_no_authorization(fake: FakeServer):
    with ZeebeClient(fake.address, auth_strategy="NONE", client_id="ignored") as client:
        client.topology()
    assert "authorization" not in fake.gateway.metadata_of("Topology")[0]


# --------------------------------------------------------------------------- mTLS

def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all PEM."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make test certificates")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return {n: d / n for n in ("ca.pem", "server.key", "server.pem", "client.key", "client.pem")}


class _RecordingGateway(FakeGateway):
    """Also records the client certificate's common name seen by the server."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: List[str] = []

    def Topology(self, request, context):  # noqa: N802 - gRPC method name
        names = context.auth_context().get("x509_common_name", [])
        self.peers.extend(n.decode() for n in names)
        return super().Topology(request, context)


@pytest.fixture
def mtls_server(pki: Dict[str, Path]) -> Iterator[tuple]:
    gateway = _RecordingGateway()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_GatewayServicer_to_server(gateway, server)
    credentials = grpc.ssl_server_credentials(
        [(pki["server.key"].read_bytes(), pki["server.pem"].read_bytes())],
        root_certificates=pki["ca.pem"].read_bytes(),
        require_client_auth=True,  # the point: no client certificate, no connection
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield f"127.0.0.1:{port}", gateway
    finally:
        server.stop(grace=None).wait(5)


def test_mtls_with_a_client_certificate_from_the_environment(mtls_server, pki, monkeypatch):
    address, gateway = mtls_server
    monkeypatch.setenv("ZEEBE_GRPC_ADDRESS", f"grpcs://{address}")
    monkeypatch.setenv("CAMUNDA_CUSTOM_ROOT_CERT_PATH", str(pki["ca.pem"]))
    monkeypatch.setenv("CAMUNDA_CUSTOM_CERT_CHAIN_PATH", str(pki["client.pem"]))
    monkeypatch.setenv("CAMUNDA_CUSTOM_PRIVATE_KEY_PATH", str(pki["client.key"]))
    with ZeebeClient() as client:
        assert client.topology().cluster_size == 1
    assert gateway.peers == ["client"]  # the server saw our certificate


def test_mtls_refuses_a_client_without_a_certificate(mtls_server, pki):
    address, gateway = mtls_server
    with ZeebeClient(address, ca_certificate=pki["ca.pem"].read_text(), request_timeout=3,
                     retry_policy=RetryPolicy(max_attempts=1)) as client:
        assert client.config.secure and client.config.certificate_chain is None
        with pytest.raises(GatewayUnavailableError):
            client.topology()
    assert gateway.calls == []


def test_root_certificate_as_a_string(pki, monkeypatch):
    with FakeServer(tls=(pki["server.key"].read_bytes(), pki["server.pem"].read_bytes())) as server:
        monkeypatch.setenv("ZEEBE_ADDRESS", server.address)
        monkeypatch.setenv("CAMUNDA_CUSTOM_ROOT_CERT_STRING", pki["ca.pem"].read_text().replace("\n", "\\n"))
        with ZeebeClient() as client:
            assert client.config.secure
            assert client.topology().brokers


# --------------------------------------------------------------------------- token cache

def _settings(endpoint: TokenEndpoint, cache_dir, **extra) -> OAuthSettings:
    return OAuthSettings("cache-id", "cache-secret", endpoint.url, "zeebe.test",
                         cache_dir=None if cache_dir is None else str(cache_dir), **extra)


def _oauth_env(monkeypatch, endpoint: TokenEndpoint, cache_dir: Path) -> None:
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "cache-id")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "cache-secret")
    monkeypatch.setenv("CAMUNDA_OAUTH_URL", endpoint.url)
    monkeypatch.setenv("CAMUNDA_ZEEBE_OAUTH_AUDIENCE", "zeebe.test")
    monkeypatch.setenv("CAMUNDA_TOKEN_CACHE_DIR", str(cache_dir))


def test_two_clients_share_one_token_and_the_file_is_private(fake, token_endpoint, monkeypatch, tmp_path):
    _oauth_env(monkeypatch, token_endpoint, tmp_path / "cache")
    with ZeebeClient(fake.address) as first, ZeebeClient(fake.address) as second:
        first.topology()
        second.topology()
        assert first.token_provider is second.token_provider
    assert len(token_endpoint.requests) == 1
    assert [md["authorization"] for md in fake.gateway.metadata_of("Topology")] == ["Bearer tok-1"] * 2
    (path,) = (tmp_path / "cache").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    content = json.loads(path.read_text())
    assert content["access_token"] == "tok-1" and "cache-secret" not in path.read_text()
    assert "cache-id" in path.name and "zeebe.test" in path.name


_RESTARTED = """
import json, sys
from zeebe_affinity_sync.zeebe import ZeebeClient
with ZeebeClient(sys.argv[1]) as client:
    client.topology()
    print(json.dumps({"fetched": client.token_provider.fetch_count}))
"""


def test_a_restarted_process_reuses_the_token_on_disk(fake, token_endpoint, monkeypatch, tmp_path):
    _oauth_env(monkeypatch, token_endpoint, tmp_path)
    with ZeebeClient(fake.address) as client:
        client.topology()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _RESTARTED, fake.address], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"fetched": 0}
    assert len(token_endpoint.requests) == 1
    assert [md["authorization"] for md in fake.gateway.metadata_of("Topology")] == ["Bearer tok-1"] * 2


def test_a_new_provider_reads_the_disk_and_refresh_rewrites_it(token_endpoint, tmp_path):
    token_endpoint.expires_in = 100
    now, wall = [1000.0], [5_000_000.0]
    provider = OAuthTokenProvider(_settings(token_endpoint, tmp_path), refresh_margin=30,
                                  clock=lambda: now[0], wall_clock=lambda: wall[0])
    assert provider.token() == "tok-1"
    later = OAuthTokenProvider(_settings(token_endpoint, tmp_path), refresh_margin=30,
                               clock=lambda: now[0], wall_clock=lambda: wall[0] + 10)
    assert later.token() == "tok-1" and later.fetch_count == 0
    now[0] += 71
    wall[0] += 71  # inside the margin: refreshed from the endpoint, and the file follows
    assert provider.token() == "tok-2"
    assert TokenDiskCache(provider.settings).load() == ("tok-2", wall[0] + 100)
    assert len(token_endpoint.requests) == 2


def test_a_token_about_to_expire_on_disk_is_not_used(token_endpoint, tmp_path):
    settings = _settings(token_endpoint, tmp_path)
    TokenDiskCache(settings).save("old", 5_000_010.0)  # 10 s left, less than the 30 s margin
    provider = OAuthTokenProvider(settings, refresh_margin=30, wall_clock=lambda: 5_000_000.0)
    assert provider.token() == "tok-1"


def test_a_corrupt_cache_file_is_ignored_and_replaced(token_endpoint, tmp_path, caplog):
    settings = _settings(token_endpoint, tmp_path)
    cache = TokenDiskCache(settings)
    Path(cache.path).write_text('{"access_token": "tok-x", "expires_at": "soon')  # cut short
    with caplog.at_level("WARNING"):
        assert OAuthTokenProvider(settings).token() == "tok-1"
    assert "corrupt" in caplog.text
    assert cache.load()[0] == "tok-1"
    Path(cache.path).write_text(json.dumps({"access_token": 7, "expires_at": 1}))
    assert OAuthTokenProvider(settings).token() == "tok-2"


def test_the_disabled_cache_writes_nothing(fake, token_endpoint, monkeypatch, tmp_path):
    _oauth_env(monkeypatch, token_endpoint, tmp_path)
    monkeypatch.setenv("CAMUNDA_TOKEN_DISK_CACHE_DISABLE", "true")
    with ZeebeClient(fake.address) as client:
        client.topology()
        assert client.config.oauth.cache_dir is None
    assert list(tmp_path.iterdir()) == []
    assert OAuthTokenProvider(_settings(token_endpoint, None)).token() == "tok-2"  # nothing to reuse


def test_unauthenticated_removes_the_file(fake, token_endpoint, monkeypatch, tmp_path):
    _oauth_env(monkeypatch, token_endpoint, tmp_path)
    fake.gateway.fail("Topology", grpc.StatusCode.UNAUTHENTICATED)
    with ZeebeClient(fake.address) as client:
        with pytest.raises(Exception):
            client.topology()
        assert list(tmp_path.iterdir()) == []  # the refused token is not kept for the next process
        client.topology()
    assert [md["authorization"] for md in fake.gateway.metadata_of("Topology")] == ["Bearer tok-1", "Bearer tok-2"]


def test_one_token_request_in_flight_across_clients_and_threads(fake, token_endpoint, monkeypatch, tmp_path):
    _oauth_env(monkeypatch, token_endpoint, tmp_path)
    token_endpoint.delay = 0.3
    clients = [ZeebeClient(fake.address) for _ in range(3)]
    barrier = threading.Barrier(9)
    errors: List[BaseException] = []

    def call(client: ZeebeClient) -> None:
        try:
            barrier.wait(10)
            client.topology()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()
    assert errors == []
    assert len(token_endpoint.requests) == 1
    assert len(fake.gateway.metadata_of("Topology")) == 9


def test_backoff_after_a_401(token_endpoint, tmp_path):
    token_endpoint.status = 401
    now = [0.0]
    provider = OAuthTokenProvider(_settings(token_endpoint, tmp_path), unauthorized_backoff=30,
                                  unauthorized_backoff_max=100, clock=lambda: now[0])
    with pytest.raises(OAuthError, match="HTTP 401"):
        provider.token()
    for _ in range(5):
        with pytest.raises(OAuthError, match="not asking the token endpoint again for 30s"):
            provider.token()
    assert len(token_endpoint.requests) == 1  # no storm
    now[0] = 31
    with pytest.raises(OAuthError, match="HTTP 401"):
        provider.token()
    assert len(token_endpoint.requests) == 2
    now[0] = 31 + 59
    with pytest.raises(OAuthError, match="again for 1s"):  # the back-off doubled to 60 s
        provider.token()
    token_endpoint.status = 200
    now[0] = 31 + 61
    assert provider.token() == "tok-3"  # and a success clears it


def test_scope_is_sent_when_set(token_endpoint, tmp_path):
    OAuthTokenProvider(_settings(token_endpoint, tmp_path, scope="api://zeebe/.default")).token()
    assert token_endpoint.requests[0]["scope"] == "api://zeebe/.default"
    OAuthTokenProvider(_settings(token_endpoint, None)).token()
    assert "scope" not in token_endpoint.requests[1]
