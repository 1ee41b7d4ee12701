"""The README's "relay worker in your own app" snippet, run verbatim as its own process against a
real engine and hub that have no other relay worker: requests get their outcomes only if the
snippet's worker relays them, and SIGTERM stops it cleanly."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from zeebe_affinity_sync.affinity.client import ZBAffinityClient
from zeebe_affinity_sync.demo.stack import LocalStack

from .conftest import REPO

RELAY_FIRST = os.path.join(REPO, "tests", "affinity", "bpmn", "relay-first.bpmn")


def relay_snippet() -> str:
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## The relay worker in your own app"):text.index("## Capacity planning")]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return block


def test_the_relay_worker_snippet_relays_and_stops_on_sigterm(tmp_path):
    script = tmp_path / "relay.py"
    script.write_text(relay_snippet(), encoding="utf-8")
    with LocalStack(bpmn_files=(RELAY_FIRST,), workers=False) as stack:
        proc = subprocess.Popen([sys.executable, str(script)], env=dict(os.environ, **stack.environ()),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            with ZBAffinityClient(stack.zeebe_address, affinity_url=stack.hub_url,
                                  affinity_token=stack.token) as client:
                outcomes = [client.create_process_instance_with_affinity("relay-first", {"n": n}, timeout=30)
                            for n in range(5)]
            assert [o.variables["n"] for o in outcomes] == list(range(5))
        finally:
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            out, err = proc.communicate(timeout=40)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
        assert time.monotonic() - started < 35
        assert b"Traceback" not in err
