"""The dashboard in headless Chromium, against the real server (granian, RSGI), as a QA
engineer uses it: each test in a world of its own (/s/NAME/)."""

from __future__ import annotations

import json
import time
import urllib.request

from browser import css, css_all, decode_qr, screenshot, wait_for
from helpers import Running

LAMP = "p11u5w/LAMP00000001"


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def click_and_reload(driver, element) -> None:
    """Click a control that changes the world; the page reloads when the call succeeded and
    shows the error otherwise. Read in the page itself: elements go stale as it reloads."""
    driver.execute_script("window.beforeClick = true")
    element.click()
    outcome = wait_for(driver, lambda d: d.execute_script(
        "if (window.beforeClick) { const f = document.getElementById('flash');"
        "  return f && !f.hidden ? 'error: ' + f.textContent : null; }"
        "return document.readyState === 'complete' ? 'reloaded' : null;"))  # fmt: skip
    assert outcome == "reloaded", outcome


def share_cards(driver) -> list:
    return css_all(driver, "article.share")


def test_a_world_opens_with_its_users_devices_and_tokens(browser, server):
    open_page(browser, server.base + "/_mock/ui/")
    assert "World" in browser.title
    users = css(browser, "table.users").text
    assert "C1001" in users and "owner-token" in users and "owner-pass-1" in users
    assert css(browser, f'tr[data-device="{LAMP}"]').text.startswith(LAMP)
    assert css(browser, "#clock-now").text.startswith("20")
    screenshot(browser, "world")


def test_a_share_code_made_in_the_page_scans_back_to_the_same_code(browser, server):
    open_page(browser, server.base + "/s/qr/_mock/ui/")
    assert not share_cards(browser)
    click_and_reload(browser, css(browser, f'tr[data-device="{LAMP}"] button[data-call="POST /shares"]'))
    card = share_cards(browser)[0]
    code = card.get_attribute("data-code")
    state = server.request("GET", "/s/qr/_mock/state")[1]
    assert [s["code"] for s in state["shares"]] == [code]
    assert code in card.text and "pending" in card.text
    qr = card.find_element("css selector", "img.qr")
    assert qr.size["width"] >= 200  # a module at least 6 px: a phone reads it from a screen
    assert decode_qr(qr.screenshot_as_png) == [code]
    screenshot(browser, "share-qr")


def test_advancing_the_clock_from_the_page_expires_a_share(browser, server):
    server.request("POST", "/s/clock/_mock/clock", {"freeze": True})
    status, share = server.request("POST", "/s/clock/_mock/shares", {"pk": "p11u5w", "dk": "LAMP00000001", "acceptingExpireAt": "+30m"})
    assert status == 201
    open_page(browser, server.base + "/s/clock/_mock/ui/")
    card = css(browser, f'article.share[data-code="{share["code"]}"]')
    assert "pending" in card.text and "(in 30m)" in card.text
    click_and_reload(browser, css(browser, "#clock button:nth-of-type(2)"))  # +1 h
    card = css(browser, f'article.share[data-code="{share["code"]}"]')
    assert "ended" in card.text and "accept window passed (cause 1)" in card.text and "(30m ago)" in card.text
    assert server.request("GET", "/s/clock/_mock/state")[1]["shares"][0]["cause"] == "accept_window_passed"


def test_expire_now_and_end_from_the_page(browser, server):
    codes = [server.request("POST", "/s/acts/_mock/shares", {"pk": "p11u5w", "dk": "LAMP00000001", "coverMark": 2})[1]["code"] for _ in range(2)]
    open_page(browser, server.base + "/s/acts/_mock/ui/")
    click_and_reload(browser, css(browser, f'article.share[data-code="{codes[0]}"] button[data-call$="/expire"]'))
    click_and_reload(browser, css(browser, f'article.share[data-code="{codes[1]}"] button[data-call^="DELETE"]'))
    causes = {s["code"]: s["cause"] for s in server.request("GET", "/s/acts/_mock/state")[1]["shares"]}
    assert causes == {codes[0]: "accept_window_passed", codes[1]: "cancelled_by_owner"}
    assert "cancelled by owner" in css(browser, f'article.share[data-code="{codes[1]}"]').text


def test_a_rule_added_from_the_form_fires_in_the_live_journal(browser, server):
    open_page(browser, server.base + "/s/rules/_mock/ui/rules")
    form = css(browser, "#rule-form")
    form.find_element("name", "endpoint").send_keys("userDeviceList")
    form.find_element("name", "uid").send_keys("C1002")
    form.find_element("name", "code").send_keys("5047")
    form.find_element("name", "times").send_keys("1")
    preview = json.loads(css(browser, "#rule-preview").text)
    assert preview == {"match": {"endpoint": "userDeviceList", "uid": "C1002"}, "action": {"code": 5047}, "times": 1}
    click_and_reload(browser, form.find_element("css selector", "button"))
    assert "userDeviceList" in css(browser, "table.rules").text
    screenshot(browser, "rules")

    open_page(browser, server.base + "/s/rules/_mock/ui/journal")
    wait_for(browser, lambda d: css(d, "#journal-status").text == "live")
    browser.execute_script("window.samePage = true")
    body = _call(server, "/s/rules/v2/binding/enduserapi/userDeviceList", "recipient-token")
    assert body["code"] == 5047
    row = wait_for(browser, lambda d: css_all(d, "#journal details.entry"))[0]
    assert browser.execute_script("return window.samePage") is True  # arrived live, no reload
    assert "userDeviceList" in row.text and "5047" in row.text and "rule r1" in row.text
    row.click()
    assert '"code": 5047' in row.find_element("css selector", "pre.answer").text

    _call(server, "/s/rules/v2/binding/enduserapi/userDeviceList", "owner-token")  # the rule is spent
    wait_for(browser, lambda d: len(css_all(d, "#journal details.entry")) == 2)
    screenshot(browser, "journal")
    css(browser, '#journal-filter input[name="code"]').send_keys("5047")
    shown = [r for r in css_all(browser, "#journal details.entry") if r.is_displayed()]
    assert len(shown) == 1 and "5047" in shown[0].text
    open_page(browser, server.base + "/s/rules/_mock/ui/rules")
    assert css(browser, "td.fired").text == "1"


def _call(server, path: str, token: str) -> dict:  # a real HTTP client, as an app is
    req = urllib.request.Request(server.base + path, headers={"Authorization": token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def test_the_worlds_page_lists_every_world_and_opens_one(browser, server):
    server.request("POST", "/s/listed/_mock/clock", {"freeze": True})
    open_page(browser, server.base + "/_mock/ui/worlds")
    rows = {r.find_element("css selector", "td code").text: r for r in css_all(browser, "table.worlds tbody tr")}
    assert {"default", "listed"} <= set(rows)
    assert "frozen" in rows["listed"].text and "default" in rows["listed"].text
    screenshot(browser, "worlds")
    rows["listed"].find_element("css selector", "a.button").click()
    wait_for(browser, lambda d: d.current_url.endswith("/s/listed/_mock/ui/"))
    from selenium.webdriver.support.ui import Select

    Select(css(browser, "#world-switcher")).select_by_value("default")
    wait_for(browser, lambda d: d.current_url == server.base + "/_mock/ui/")


def test_switching_a_device_property_shows_the_new_value(browser, server):
    lamp = server.request("GET", f"/s/props/_mock/devices/{LAMP}")[1]
    assert lamp["online"] is True and isinstance(lamp["values"]["switch"], bool)
    was = lamp["values"]["switch"]
    open_page(browser, server.base + "/s/props/_mock/ui/")
    row = f'tr[data-device="{LAMP}"]'
    click_and_reload(browser, css(browser, f'{row} form.value button[name="switch"]'))
    assert css(browser, f'{row} form.value button[name="switch"]').text == ("off" if was else "on")
    brightness = css(browser, f'{row} form.value input[name="brightness"]')
    brightness.clear()
    brightness.send_keys("55")
    click_and_reload(browser, brightness.find_element("xpath", "following-sibling::button"))
    assert css(browser, f'{row} form.value input[name="brightness"]').get_attribute("value") == "55"
    click_and_reload(browser, css(browser, f'{row} button[data-body*="online"]'))
    assert "offline" in css(browser, row).text
    after = server.request("GET", f"/s/props/_mock/devices/{LAMP}")[1]
    assert after["values"]["switch"] is (not was) and after["values"]["brightness"] == 55 and after["online"] is False
    screenshot(browser, "device-values")


def test_on_a_server_without_streaming_the_journal_still_goes_live(browser):
    """werkzeug's thread server (the pytest plugin's) cannot keep an answer open: the page
    gets what is new on each reconnect instead."""
    from browser import ThreadServer
    from helpers import app_with

    server = ThreadServer(app_with())
    try:
        open_page(browser, server.base + "/_mock/ui/journal")
        wait_for(browser, lambda d: css_all(d, "#journal-empty") and css(d, "#journal-empty").is_displayed())
        browser.execute_script("window.samePage = true")
        for token in ("owner-token", "recipient-token"):
            _call(server, "/v2/enduser/enduserapi/userInfo", token)
        rows = wait_for(browser, lambda d: len(css_all(d, "#journal details.entry")) == 2 and css_all(d, "#journal details.entry"))
        assert [r.text.split()[-1] for r in rows] == ["C1002", "C1001"]  # newest first, each once
        assert browser.execute_script("return window.samePage") is True
        seconds = int(time.time()) + 600  # a timestamp in seconds: answered, with a warning
        req = urllib.request.Request(f"{server.base}/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt={seconds}",
                                     data=b"", headers={"Authorization": "owner-token"})  # fmt: skip
        urllib.request.urlopen(req, timeout=10).read()
        row = wait_for(browser, lambda d: len(css_all(d, "#journal details.entry")) == 3 and css(d, "#journal details.entry"))
        assert "warning" in row.text
        row.click()
        assert f"acceptingExpireAt={seconds} looks like seconds" in row.find_element("css selector", "ul.warnings").text
    finally:
        server.stop()


def test_with_an_admin_token_the_dashboard_logs_in_and_its_calls_carry_the_token(browser):
    server = Running("--admin-token", "s3cret")
    try:
        browser.delete_all_cookies()
        open_page(browser, server.base + "/_mock/ui/rules")
        assert "/_mock/ui/login" in browser.current_url
        css(browser, 'input[name="token"]').send_keys("s3cret")
        css(browser, "form button").click()
        wait_for(browser, lambda d: d.current_url == server.base + "/_mock/ui/rules")
        before = server.request("GET", "/_mock/clock", headers={"Authorization": "Bearer s3cret"})[1]["now"]
        server.request("POST", "/_mock/clock", {"freeze": True}, headers={"Authorization": "Bearer s3cret"})
        open_page(browser, server.base + "/_mock/ui/")
        click_and_reload(browser, css(browser, "#clock button:nth-of-type(3)"))  # +1 day, through the cookie
        after = server.request("GET", "/_mock/clock", headers={"Authorization": "Bearer s3cret"})[1]["now"]
        assert after - before >= 86_400_000
        assert server.request("POST", "/_mock/clock", {"advance": "1d"})[0] == 401  # without it, refused
    finally:
        browser.delete_all_cookies()
        server.stop()


def test_a_refused_change_shows_why_and_changes_nothing(browser, server):
    server.request("POST", "/s/errors/_mock/clock", {"freeze": True})
    before = server.request("GET", "/s/errors/_mock/clock")[1]["now"]
    open_page(browser, server.base + "/s/errors/_mock/ui/")
    field = css(browser, '#clock input[name="advance"]')
    field.send_keys("soon")
    field.find_element("xpath", "following-sibling::button").click()
    flash = wait_for(browser, lambda d: css(d, "#flash").is_displayed() and css(d, "#flash"))
    assert "POST /_mock/clock: invalid request body: advance:" in flash.text
    assert server.request("GET", "/s/errors/_mock/clock")[1]["now"] == before


def _in_view(driver, selector: str) -> bool:
    return driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return r.top >= 0 && r.top < window.innerHeight;", selector)  # fmt: skip


def test_the_users_table_is_one_click_away_past_every_device(browser, server):
    open_page(browser, server.base + "/s/parts/_mock/ui/")
    assert not _in_view(browser, "table.users")  # below some fifty devices
    links = css_all(browser, "nav.sections a")
    assert [a.text.split()[0] for a in links] == ["Shares", "Devices", "Users"]
    links[2].click()
    wait_for(browser, lambda d: _in_view(d, "table.users"))
    assert browser.current_url.endswith("#users")
    assert css(browser, "nav.sections").is_displayed() and _in_view(browser, "nav.sections")  # it stays at hand
    screenshot(browser, "world-users")


def test_a_date_value_fits_its_input(browser, server):
    open_page(browser, server.base + "/s/dates/_mock/ui/")
    field = css(browser, 'tr[data-device="p11u7a/SENS00000001"] input[name="last_calibration"]')
    assert len(field.get_attribute("value")) == 13  # epoch milliseconds
    assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", field)


def test_a_refused_value_goes_back_to_the_devices_value(browser, server):
    open_page(browser, server.base + "/s/refused/_mock/ui/")
    field = css(browser, f'tr[data-device="{LAMP}"] input[name="brightness"]')
    was = field.get_attribute("value")
    field.clear()
    field.send_keys("250")  # above the lamp's max 100
    field.find_element("xpath", "following-sibling::button").click()
    flash = wait_for(browser, lambda d: css(d, "#flash").is_displayed() and css(d, "#flash"))
    assert "brightness" in flash.text and "100" in flash.text
    assert field.get_attribute("value") == was  # not the refused 250
    assert server.request("GET", f"/s/refused/_mock/devices/{LAMP}")[1]["values"]["brightness"] == int(was)


def test_the_journal_says_what_its_button_does_and_its_filters_start_empty(browser, server):
    open_page(browser, server.base + "/s/words/_mock/ui/journal")
    button = css(browser, 'button[data-call="DELETE /journal"]')
    assert button.text == "delete all entries"
    placeholders = [i.get_attribute("placeholder") for i in css_all(browser, "#journal-filter input")]
    assert placeholders == ["all endpoints", "all codes", "all users"]  # no value a filter could hold
    assert [i.get_attribute("value") for i in css_all(browser, "#journal-filter input")] == ["", "", ""]
    open_page(browser, server.base + "/s/words/_mock/ui/rules")
    hints = {i.get_attribute("name"): i.get_attribute("placeholder") for i in css_all(browser, "#rule-form input")}
    assert hints["uid"] == "any caller" and hints["endpoint"] == "any endpoint"


def test_no_placeholder_of_any_page_reads_as_a_value(browser, server):
    """A grey "C1002", "5151" or "+1h" in an empty field looks like a filter or a value set."""
    import re

    value_like = re.compile(r"^([+-]?\d|C\d+$|[a-z]+[A-Z]\w*$)")  # numbers, uids, endpoint names
    seen = {}
    for page in ("", "rules", "journal", "families"):
        open_page(browser, server.base + "/s/hints/_mock/ui/" + page)
        seen.update({f"{page}/{i.get_attribute('name')}": i.get_attribute("placeholder")
                     for i in css_all(browser, "input[placeholder]")})  # fmt: skip
    assert len(seen) >= 10
    assert {name: hint for name, hint in seen.items() if value_like.match(hint)} == {}
