"""The demo's chat page in headless Chromium (Debian's ``chromium`` driven by Playwright): the
page starts a conversation, sends a line, and the process's reply appears."""
from __future__ import annotations

import os
import shutil
from typing import Iterator

import pytest

from zeebe_affinity_sync.demo.flask_app import affinity as demo_affinity
from zeebe_affinity_sync.demo.flask_app import create_app

from .procs import serving

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"no chromium at {CHROMIUM}: apt-get install -y chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def chat_url(local_stack) -> Iterator[str]:
    app = create_app(local_stack.flask_config())
    try:
        with serving(app) as base:
            yield base + "/"
    finally:
        demo_affinity.close(app)


def test_chat_page_shows_the_process_reply(chat_url):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(chat_url)
            welcome = page.locator("#log p.bot").first
            welcome.wait_for(timeout=20_000)
            assert welcome.inner_text().startswith("Hello!")
            page.fill("#text", "is my tea ready")
            page.press("#text", "Enter")
            reply = page.locator("#log p.bot", has_text='You said "is my tea ready"')
            reply.wait_for(timeout=20_000)
            assert "round 1" in reply.inner_text()
            page.fill("#text", "bye")
            page.click("#send")
            page.locator("#log p.bot", has_text="Goodbye!").wait_for(timeout=20_000)
            assert page.locator("#log p.error").count() == 0
        finally:
            browser.close()
