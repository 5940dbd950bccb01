"""Headless Chromium (Debian's) driven by Playwright against pytest-django's live server.

Every browser test runs with ``live_server`` (hence ``transactional_db``): the
server thread, the qcluster process and the test share committed rows.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
WIDTHS = ((1280, 800), (390, 844))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"Debian Chromium is not installed at {CHROMIUM}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # tests make between browser steps are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def base_url(live_server: Any, settings: Any) -> str:
    """The live server's address, also used as ``BEACON_BASE_URL`` (links, inbox URLs)."""
    url = live_server.url.replace("localhost", "127.0.0.1")
    settings.BEACON_BASE_URL = url
    return url


@pytest.fixture(autouse=True)
def enforced_csp(settings: Any) -> None:
    """Pages are driven under the Content-Security-Policy production enforces."""
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": settings.BEACON_CSP_DIRECTIVES}


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context(
        base_url=base_url, viewport={"width": WIDTHS[0][0], "height": WIDTHS[0][1]}
    )
    context.set_default_timeout(15_000)
    pg = context.new_page()
    violations: list[str] = []
    pg.on("console", lambda msg: violations.append(f"{pg.url}: {msg.text}")
          if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert not violations, "the page broke the Content-Security-Policy:\n" + "\n".join(violations)


def login(page: Any, username: str, password: str) -> None:
    """Log in through the login page, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/login/" not in page.url, "login failed"


def settle(page: Any) -> None:
    """Let pending htmx requests (a preview refresh, say) land before a screenshot."""
    page.wait_for_timeout(1000)  # htmx triggers are debounced by up to 700 ms
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
        timeout=10_000,
    )


def shoot(page: Any, name: str) -> None:
    """Save full-page screenshots of the current page at 1280px and 390px wide."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        settle(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})


def reload_until(page: Any, ready: Callable[[], bool], *, timeout: float = 30.0,
                 what: str = "the page to change") -> None:
    """Reload the page until ``ready()`` holds, as a person pressing F5 would."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.5)
        page.reload()


def form_errors(page: Any) -> str:
    """What a form page complains about, for assertion messages."""
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "last-form-error.html").write_text(page.content())
    errors = page.locator(".errorlist, .msg-error, .field-error").all_inner_texts()
    return f"still on {page.url}: " + " | ".join(errors)


def start_new_automation(page: Any, automations_tab: str, shot: str, event_type: str) -> None:
    """From a scope's Automations tab, open the guided form and pick the event type."""
    page.goto(automations_tab)
    shoot(page, shot)
    page.get_by_role("link", name=re.compile("New automation|Create")).first.click()
    page.wait_for_url(re.compile(r"/automations/new/"))
    page.select_option("select[name=event_type]", event_type)


def create_automation(page: Any, name: str, shot: str) -> Any:
    """Name the filled-in form, press Create and land on the new automation's page."""
    from automations.models import Automation

    page.fill("input[name=name]", name)
    shoot(page, shot)
    page.get_by_role("button", name="Create automation").click()
    page.wait_for_load_state()
    assert re.search(r"/t/acme/automations/\d+/$", page.url), form_errors(page)
    return Automation.objects.get(name=name)


def open_execution(page: Any, execution: Any) -> str:
    """Follow the ``#<id>`` link of a history table to the execution; its HTML."""
    page.get_by_role("link", name=f"#{execution.pk}").click()
    page.wait_for_url(f"**/t/acme/executions/{execution.pk}/")
    return page.content()


class Api:
    """The JSON API of the live server, called with a real API key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base = base_url + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, json: Any = None, expect: int = 200) -> Any:
        resp = self.session.request(method, self.base + path, json=json, timeout=15)
        assert resp.status_code == expect, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()


@pytest.fixture
def api_as(base_url: str) -> Callable[[Any], Api]:
    from teams.models import ApiKey

    def make(user: Any) -> Api:
        return Api(base_url, ApiKey.issue(user, "browser-test")[1])

    return make
