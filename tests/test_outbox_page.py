"""The dashboard's outbox page: the codes a world sent, and a device put in stock from the page,
in headless Chromium against the real server."""

from __future__ import annotations

import json
import time
import urllib.request

from browser import css, css_all, screenshot, wait_for

from mock_server.cloud import crypto


def _post(url: str, body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json", **({"Authorization": token} if token else {})}
    with urllib.request.urlopen(
        urllib.request.Request(url, data=data, method="POST", headers=headers), timeout=10
    ) as r:
        return json.loads(r.read())


def _send_code(base: str, phone: str) -> None:
    with urllib.request.urlopen(base + "/_mock/clock", timeout=10) as resp:
        ts = json.loads(resp.read())["now"]
    random = "76a6L647F02CAoN9"
    signature = crypto.signature(phone, "3", random, str(ts), "sim-domain-secret")
    query = f"codeType=3&internationalCode=86&phone={phone}&random={random}&ts={ts}&userDomain=C.DM.5903.1"
    assert _post(f"{base}/v2/sms/enduserapi/v2/sendPhoneSmsCode?{query}&signature={signature}")["code"] == 200


def test_the_outbox_page_shows_a_sent_code_and_empties(browser, server):
    base = f"{server.base}/s/outbox{time.monotonic_ns()}"
    _send_code(base, "13900000077")
    browser.get(base + "/_mock/ui/outbox")
    row = css(browser, 'table.outbox tr[data-to="13900000077"]')
    with urllib.request.urlopen(base + "/_mock/outbox", timeout=10) as resp:
        sent = json.loads(resp.read())["messages"][0]["code"]
    assert css(browser, 'tr[data-to="13900000077"] code.code').text == sent
    assert "registration" in row.text and "not yet" in row.text
    screenshot(browser, "outbox")
    browser.execute_script("window.confirm = () => true; window.beforeClick = true")
    css(browser, 'button[data-call="DELETE /outbox"]').click()
    wait_for(
        browser, lambda d: not d.execute_script("return window.beforeClick") and "Nothing sent yet" in d.page_source
    )
    assert css_all(browser, "table.outbox tr[data-to]") == []


def test_a_device_put_in_stock_from_the_page_can_be_bound(browser, server):
    base = f"{server.base}/s/stock{time.monotonic_ns()}"
    browser.get(base + "/_mock/ui/outbox")
    form = css(browser, "#stock-form")
    for name, value in (("pk", "p11u6t"), ("dk", "PLUG00000077"), ("sn", "SN-PLUG-77"), ("name", "Desk plug")):
        form.find_element("name", name).send_keys(value)
    browser.execute_script("window.beforeClick = true")
    form.find_element("css selector", "button").click()
    wait_for(browser, lambda d: not d.execute_script("return window.beforeClick") and "PLUG00000077" in d.page_source)
    assert "Desk plug" in css(browser, 'table.stock tr[data-device="p11u6t/PLUG00000077"]').text
    bound = _post(f"{base}/v2/binding/enduserapi/bindDeviceSn?pk=p11u6t&sn=SN-PLUG-77", token="second-token")
    assert bound["code"] == 200 and bound["data"]["dk"] == "PLUG00000077"
    browser.refresh()
    wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    assert css_all(browser, 'table.stock tr[data-device="p11u6t/PLUG00000077"]') == []


def test_the_outbox_page_renders_without_a_browser(app):
    client = app.test_client()
    page = client.get("/_mock/ui/outbox").get_data(as_text=True)
    assert "Nothing sent yet" in page and 'data-device="p11u5w/LAMP00000009"' in page
    assert '/_mock/ui/outbox" class="on"' in page
