"""Driving the pages in a real headless browser: Debian's chromium, through its chromedriver.

Tests that use the `browser` fixture are skipped, with the reason shown in pytest's summary,
where no such browser is installed (`.ci/run` installs one). Screenshots go to
build/screenshots/ (not committed) so that a person can look at what the tests saw.
"""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"
# Without the networking flags, Chromium on a machine with no outside network stalls on
# the services it calls at start (updates, sync, QUIC probes).
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000", "--force-device-scale-factor=1",
)  # fmt: skip
WAIT = 15  # seconds a page gets to show what a test waits for


def find_browser() -> tuple[str, str] | str:
    """(chromium, chromedriver), or why they cannot be had."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        return "no chromium/chromedriver here: install Debian's chromium and chromium-driver to run the browser tests"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return chromium, driver


def start_browser(profile: Path, downloads: Path | None = None, insecure: bool = False):
    """A headless Chromium driven by selenium (the test is skipped where there is none).
    `downloads`: where downloads land, without asking; `insecure`: pages of a certificate
    the browser does not trust are opened anyway, as a person goes on past the warning."""
    found = find_browser()
    if isinstance(found, str):
        pytest.skip(found)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if downloads is not None:
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
        )
    options.accept_insecure_certs = insecure
    driver = webdriver.Chrome(options=options, service=Service(executable_path=found[1]))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, timeout: float = WAIT):
    """What `condition(driver)` returns once truthy (selenium's WebDriverWait)."""
    from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A page that reloads meanwhile makes found elements stale and scripts fail: ask again.
    ignored = (StaleElementReferenceException, JavascriptException)
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored).until(condition)


def css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def css_all(driver, selector: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def screenshot(driver, name: str) -> Path:
    """The whole page as build/screenshots/NAME.png (the window grown to the page's height)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height, 600), 4000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    return path


def decode_qr(png: bytes) -> list[str]:
    """The texts of the QR codes in a PNG image (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


class ThreadServer:
    """The Flask app on werkzeug's thread server (as the pytest plugin serves it), on a free
    port of 127.0.0.1: a server that cannot keep an answer open."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
