"""client_factory may take the settings or nothing (``lambda: zeebe_affinity_client``)."""
from __future__ import annotations

import pytest

from zeebe_affinity_sync.testing import current_affinity_client
from zeebe_affinity_sync.web import WebSettings, build_client


def test_a_factory_with_no_argument_is_called_without_one():
    marker = object()
    assert build_client(WebSettings(client_factory=lambda: marker)) is marker


def test_a_factory_with_one_argument_gets_the_settings():
    settings = WebSettings(client_factory=lambda s: s)
    assert build_client(settings) is settings


def test_current_affinity_client_outside_a_test_that_asks_for_it():
    with pytest.raises(RuntimeError, match="no zeebe_affinity_client in this test"):
        current_affinity_client()


def test_current_affinity_client_is_the_fixture(zeebe_affinity_client):
    assert current_affinity_client() is zeebe_affinity_client
    assert build_client(WebSettings(client_factory=current_affinity_client)) is zeebe_affinity_client
