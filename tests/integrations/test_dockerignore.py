"""The Docker build context leaves out local environments and caches: `COPY . /tmp/src` in
server/Dockerfile must not send a `.venv` (hundreds of MB) or `.git` into the build, and must
still send what `pip install .` needs."""
from __future__ import annotations

import fnmatch
import os

from .conftest import REPO


def patterns():
    with open(os.path.join(REPO, ".dockerignore"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    # Docker's rules, for the simple patterns used here: a pattern matches the path or one of its
    # parent folders; "**/" matches any depth.
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns():
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or (pattern.startswith("**/") and
                                                     fnmatch.fnmatch(prefix.split("/")[-1], pattern[3:])):
                return True
    return False


def test_local_environments_and_caches_stay_out_of_the_build():
    for path in [".venv/lib/python3.11/site-packages/grpc/__init__.py", ".git/HEAD", ".tools/node_modules/x",
                 "zeebe_affinity_sync/__pycache__/cli.cpython-311.pyc", "zeebe_affinity_sync.egg-info/PKG-INFO",
                 ".ci/venv/bin/python", "tests/conftest.py"]:
        assert ignored(path), path


def test_what_the_image_needs_is_sent():
    for path in ["setup.py", "setup.cfg", "README.md", "zeebe_affinity_sync/cli.py",
                 "zeebe_affinity_sync/demo/static/chat.html", "zeebe_affinity_sync/gateway/gateway.proto",
                 "server/wsgi.py", "server/gunicorn.conf.py", "server/Dockerfile"]:
        assert os.path.exists(os.path.join(REPO, path)), path
        assert not ignored(path), path
