"""Headless Chromium for tests and screenshots: Debian's chromium and chromedriver, via Selenium.

Nothing downloads a browser: Selenium gets the driver's path, so Selenium Manager never
runs. Host names resolve to nothing, so a page that reaches for the internet fails here
instead of leaking, and `Page.remote_requests` (or `requests_made`) names what it tried.
`free_port()` and `wait_for_http(url)` help start a local server (the app) to point it at.

As a script, `python tests/browser.py PAGE PNG` saves a screenshot of PAGE (a file).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL_HINT = (
    "run `make browser` (as root on Debian/Ubuntu: apt-get install chromium chromium-driver), "
    "or point CHROMIUM and CHROMEDRIVER at an installed pair"
)
# Flags that work in containers without a GPU, a sandbox or the internet.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
NETWORK_SCHEMES = {"http", "https", "ws", "wss", "ftp"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def leaves_the_machine(url: str) -> bool:
    """Whether a request for `url` goes over the network to another host (file:, data: and
    the browser's own chrome: resources stay here; so does a server on this machine)."""
    parts = urlsplit(url)
    return parts.scheme in NETWORK_SCHEMES and parts.hostname not in LOCAL_HOSTS


def missing_browser() -> str | None:
    """Why the browser cannot start (None when chromium and chromedriver are both there)."""
    absent = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    return f"{' and '.join(absent)} not found: {INSTALL_HINT}" if absent else None


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile, logging its console and network events."""
    problem = missing_browser()
    if problem:
        raise RuntimeError(problem)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


@dataclass
class Page:
    """What one page load did: its console errors, broken images and links, requests off the machine."""

    url: str
    console_errors: list[str]
    images: int
    broken_images: list[str]
    broken_links: list[str]  # links to files (file://) that do not exist
    remote_requests: list[str]


# Every <img>, loaded eagerly: naturalWidth stays 0 for a missing or undecodable image.
_IMAGES_SCRIPT = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
Promise.all(images.map(img => { img.loading = "eager"; return img.decode().catch(() => null); }))
  .then(() => done(images.map(img => [img.currentSrc || img.src, img.naturalWidth])));
"""


def requests_made(driver: webdriver.Chrome) -> list[str]:
    """The URLs the browser has requested since the last call (from Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float = 180.0) -> None:
    """Wait until `url` answers (a server starting in another process or thread)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.5)


def open_page(driver: webdriver.Chrome, url: str) -> Page:
    """Load `url` and report on it; the logs are drained first, so they hold only this page."""
    driver.get_log("browser")
    requests_made(driver)
    driver.get(url)
    images = driver.execute_async_script(_IMAGES_SCRIPT)
    links = driver.execute_script("return Array.from(document.links, link => link.href)")
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    requests = requests_made(driver)
    return Page(
        url=url,
        console_errors=errors,
        images=len(images),
        broken_images=[src for src, width in images if width == 0],
        broken_links=[
            link
            for link in links
            if urlsplit(link).scheme == "file" and not Path(url2pathname(urlsplit(link).path)).is_file()
        ],
        remote_requests=[url for url in requests if leaves_the_machine(url)],
    )


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 900) -> None:
    """Save a screenshot of the file `page` (the window's visible part) as `png`."""
    with chromium(width, height) as driver:
        report = open_page(driver, page.resolve().as_uri())
        if report.console_errors or report.broken_images or report.broken_links or report.remote_requests:
            raise RuntimeError(f"{page} does not load cleanly: {report}")
        png.parent.mkdir(parents=True, exist_ok=True)
        if not driver.save_screenshot(str(png)):
            raise RuntimeError(f"could not write {png}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tests/browser.py PAGE.html OUT.png")
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
