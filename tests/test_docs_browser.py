"""The API docs page in headless Chromium: both OpenAPI documents load and show their
endpoints (a page that only contains the right words can still show an error)."""

from __future__ import annotations

import pytest
from browser import ThreadServer, css, css_all, screenshot, wait_for
from conftest import app_with


@pytest.fixture(scope="module")
def docs_server():
    server = ThreadServer(app_with())
    try:
        yield server
    finally:
        server.stop()


def shown_paths(driver) -> set[str]:
    return {e.text.replace("\u200b", "") for e in css_all(driver, ".opblock-summary-path")}


@pytest.mark.parametrize("prefix", ["", "/s/docs-world"])
def test_the_docs_page_renders_both_documents(browser, docs_server, prefix):
    from selenium.webdriver.support.ui import Select

    browser.get(docs_server.base + prefix + "/_mock/docs/")
    wait_for(browser, lambda d: "/v2/binding/enduserapi/shareInfo" in shown_paths(d))
    assert "/v2/enduser/enduserapi/emailPwdLogin" in shown_paths(browser)
    assert "Failed to load" not in css(browser, "body").text
    if not prefix:
        screenshot(browser, "docs-quectel")
    Select(css(browser, ".topbar select")).select_by_visible_text("Control API (/_mock)")
    wait_for(browser, lambda d: "/_mock/shares/{code}/expire" in shown_paths(d))
    assert {"/_mock/reset", "/_mock/clock", "/_mock/rules"} <= shown_paths(browser)
    assert "Failed to load" not in css(browser, "body").text
    if not prefix:
        screenshot(browser, "docs-control")
