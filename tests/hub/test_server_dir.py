"""``server/`` as deployed: plain ``gunicorn -c server/gunicorn.conf.py server.wsgi:app``."""
from __future__ import annotations

import os
import subprocess
import sys

import requests

from tests.hub.conftest import Client
from tests.support.net import free_port, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_server_directory_runs_the_hub_from_environment_settings(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ZEEBE_AFFINITY_") and k != "XDG_RUNTIME_DIR"}
    env.update(ZEEBE_AFFINITY_BIND=f"127.0.0.1:{port}", ZEEBE_AFFINITY_TOKEN="srv-token",
               ZEEBE_AFFINITY_THREADS="8", ZEEBE_AFFINITY_BROADCAST="false",
               HOME=str(tmp_path))  # where gunicorn >= 25.1 would put its control socket
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "server/gunicorn.conf.py", "server.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, "gunicorn exited"
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
            except requests.ConnectionError:
                return False

        wait_until(healthy, timeout=30)
        client = Client(f"ws://127.0.0.1:{port}/", {"Authorization": "Bearer srv-token"})
        try:
            assert client.hello["broadcast"] is False
            assert client.subscribe("k") == []
        finally:
            client.close()
        assert list(tmp_path.iterdir()) == []  # gunicorn.conf.py disabled the control socket
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
