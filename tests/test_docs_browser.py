"""The API docs page in headless Chromium: both OpenAPI documents load and show their
endpoints (a page that only contains the right words can still show an error)."""

from __future__ import annotations

import pytest
from browser import ThreadServer, css, css_all, screenshot, wait_for
from helpers import app_with


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


def test_try_it_out_leaves_optional_filters_empty(browser, docs_server):
    """Try-it-out pre-fills what the document gives as an example: userDeviceList's optional
    filters stay empty (a pre-filled dk answered one device), a required parameter is filled."""
    browser.get(docs_server.base + "/_mock/docs/")
    wait_for(browser, lambda d: "/v2/binding/enduserapi/userDeviceList" in shown_paths(d))

    def try_out(operation: str) -> None:
        css(browser, f"#operations-binding-{operation} .opblock-summary").click()
        wait_for(browser, lambda d: css(d, f"#operations-binding-{operation} .try-out__btn")).click()
        wait_for(browser, lambda d: css_all(d, f"#operations-binding-{operation} tr[data-param-name] input"))

    def value(operation: str, name: str) -> str:
        return css(browser, f'#operations-binding-{operation} tr[data-param-name="{name}"] input').get_attribute("value")

    try_out("userDeviceList")
    assert [value("userDeviceList", n) for n in ("dk", "deviceName", "pkList", "page")] == ["", "", "", ""]
    assert "LAMP00000001" in css(browser, '#operations-binding-userDeviceList tr[data-param-name="dk"]').text
    screenshot(browser, "docs-try-it-out")
    try_out("shareInfo")
    assert value("shareInfo", "dk") == "LAMP00000001"
