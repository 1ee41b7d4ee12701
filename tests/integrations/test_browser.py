"""The demo's chat page in headless Chromium (Debian's ``chromium`` driven by Playwright): the
page starts a conversation, sends a line, and the process's reply appears; a reply slower than
the server's wait comes back as 202 + Location, and the page polls it until the reply is there."""
from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any, Iterator, List, Tuple

import pytest
from flask import Flask, request, send_from_directory

from zeebe_affinity_sync.demo import STATIC_DIR
from zeebe_affinity_sync.flask import MessageRound, ZeebeAffinity

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


@contextlib.contextmanager
def chromium_page() -> Iterator[Any]:
    """A fresh page in headless Chromium, closed after the test."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def record_responses(page: Any) -> List[Tuple[str, str, int]]:
    seen: List[Tuple[str, str, int]] = []
    page.on("response", lambda r: seen.append((r.request.method, r.url, r.status)))
    return seen


def test_chat_page_shows_the_process_reply(chat_url):
    with chromium_page() as page:
        seen = record_responses(page)
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
        assert [r for r in seen if r[2] >= 400] == []  # favicon.ico included: no 404 per load


#: Seconds the message view of the slow app waits: far less than one relay round trip, so
#: every reply misses it and comes back as 202 + Location (the process keeps running).
TOO_SHORT = 0.001


@pytest.fixture(scope="module")
def slow_chat_url(local_stack) -> Iterator[str]:
    """The chat page against the real stack, with a message wait too short for any reply."""
    affinity = ZeebeAffinity()
    app = Flask("slow_chat")
    app.config.update(local_stack.flask_config())
    app.config["ZEEBE_AFFINITY_OUTCOME_URL"] = "/outcomes/{key}"
    affinity.init_app(app)

    @app.post("/chat")
    @affinity.process("chat")
    def start() -> Any:
        return {}

    @app.post("/chat/<int:conversation_id>")
    @affinity.message("chat-message", timeout=TOO_SHORT)
    def chat(conversation_id: int) -> Any:
        return MessageRound(str(conversation_id), conversation_id, {"text": request.get_json()["text"]})

    @app.get("/outcomes/<key>")
    def outcome(key: str) -> Any:
        return affinity.collect(key)

    @app.get("/")
    def page() -> Any:
        return send_from_directory(STATIC_DIR, "chat.html")

    try:
        with serving(app) as base:
            yield base + "/"
    finally:
        affinity.close(app)


def test_a_slow_reply_is_polled_at_its_location_until_it_comes(slow_chat_url):
    with chromium_page() as page:
        seen = record_responses(page)
        page.goto(slow_chat_url)
        page.locator("#log p.bot").first.wait_for(timeout=20_000)
        page.fill("#text", "take your time")
        page.press("#text", "Enter")
        # the progress line shows while the page polls, then gives way to the reply
        page.locator("#log p.pending").wait_for(timeout=20_000)
        reply = page.locator("#log p.bot", has_text='You said "take your time"')
        reply.wait_for(timeout=30_000)
        assert "round 1" in reply.inner_text()
        assert page.locator("#log p.pending").count() == 0
        assert page.locator("#log p.error").count() == 0
        posts = [r for r in seen if r[0] == "POST" and "/chat/" in r[1]]
        assert [status for _, _, status in posts] == [202]
        polls = [status for method, url, status in seen if method == "GET" and "/outcomes/" in url]
        assert polls and polls[-1] == 200 and set(polls[:-1]) <= {202}, polls


def test_an_error_while_polling_is_shown_and_the_chat_goes_on(slow_chat_url):
    with chromium_page() as page:
        page.goto(slow_chat_url)
        page.locator("#log p.bot").first.wait_for(timeout=20_000)
        # the real server answers 202 for the line; the poll of its Location then meets a 503
        # (scripted here: a hub going down at that moment cannot be timed from a test)
        page.route("**/outcomes/**", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body='{"error": "affinity-unavailable", "message": "the relay cannot be reached: retry later"}'))
        page.fill("#text", "hello")
        page.press("#text", "Enter")
        error = page.locator("#log p.error")
        error.wait_for(timeout=20_000)
        assert error.inner_text() == "No reply: the relay cannot be reached: retry later"
        assert page.locator("#log p.pending").count() == 0
        assert page.is_enabled("#text")  # the user can try again
