"""The API's documentation page in headless Chromium, under the site's security policy.

ReDoc is served locally; its search runs in a Web Worker made from a blob, which the docs
page's policy allows (``worker-src 'self' blob:``) and no other page's does. The page must
load nothing from elsewhere and break no rule of the policy.
"""

from __future__ import annotations

import pytest

from tests.app.api_fixtures import api_app, api_url  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.browser


def test_docs_render_and_search_under_the_policy(api_url, page):  # noqa: F811
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.goto(f"{api_url}/api/docs")
    page.wait_for_selector("h1:has-text('Estado Abierto')", timeout=30000)
    assert page.locator("h2:has-text('Every commitment with its derived progress')").count() == 1
    search = page.locator("input[placeholder='Search...']")
    search.fill("milestone")
    page.wait_for_selector("[data-role='search:results'] li, [role='search'] li",
                           timeout=30000)
    assert page.blocked_requests == []
    refused = [m for m in messages if "Content Security Policy" in m or "Refused" in m]
    assert refused == []
    icon = page.evaluate("document.querySelector('link[rel=icon]').href")
    assert icon.endswith("/favicon.ico")


def test_only_the_docs_page_may_start_a_worker_from_a_blob(api_app):  # noqa: F811
    client = api_app.test_client()
    docs = client.get("/api/docs").headers["Content-Security-Policy"]
    assert "worker-src 'self' blob:" in docs and "frame-ancestors 'none'" in docs
    for url in ("/", "/api/openapi.json", "/plans"):
        assert "blob:" not in client.get(url).headers["Content-Security-Policy"], url
