"""A real headless Chromium driving the explorer (Selenium with the system's chromium and
chromedriver, Debian packages ``chromium`` and ``chromium-driver``), and a local server to drive."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import socket
import threading
import time

import numpy as np
from PIL import Image

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_paths() -> tuple[str | None, str | None]:
    browser = os.environ.get("STYLEGAN_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    driver = os.environ.get("STYLEGAN_CHROMEDRIVER") or shutil.which("chromedriver")
    return browser, driver


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        return f"the browser tests need {e.name} (pip install -e '.[dev]')"
    browser, driver = chromium_paths()
    if not browser or not driver:
        return "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app):
    """Run ``app`` with uvicorn in a thread on a free local port; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the explorer server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--disable-extensions",
        "--mute-audio",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def decode_data_url(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


class Page:
    """Helpers to act on the explorer page as a user does and to wait for the new picture."""

    def __init__(self, driver, timeout: float = 30):
        self.d = driver
        self.timeout = timeout

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def wait(self, condition, what: str):
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; page error: {self.error()!r}")

    def renders(self) -> int:
        return self.js("return window.explorer.renders")

    def idle(self) -> bool:
        return self.js("const e = window.explorer; return !e.inFlight && !e.pending && e.changedAt === null")

    def after_change(self, act):
        """Do ``act()`` and wait until the page shows the picture for the new settings."""
        before = self.renders()
        act()
        self.wait(lambda: self.renders() > before and self.idle(), "a new picture")
        return self.picture()

    def set_value(self, element_id: str, value, event: str = "input"):
        self.js(
            "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
            "e.dispatchEvent(new Event(arguments[2], {bubbles: true}));",
            element_id,
            str(value),
            event,
        )

    def picture(self) -> np.ndarray:
        return decode_data_url(self.js("return document.getElementById('view').src"))

    def error(self) -> str | None:
        try:
            return self.js("return window.explorer && window.explorer.lastError")
        except Exception:  # noqa: BLE001
            return None
