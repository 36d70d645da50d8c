"""Regenerate the README's screenshot of the app: `make screenshots` (python tests/screenshot_app.py OUT.png).

Starts the app as a reader would (`python -m history_of_interpretation.app --port N`),
explains the first sample photo with the preselected methods (three) in headless
Chromium, and saves the whole page once every map has loaded.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time

from browser import chromium, free_port, wait_for_http

from history_of_interpretation.app.endpoints import DEFAULT_METHODS
from history_of_interpretation.files import atomic_output

MAP_SECONDS = 300
WIDTH = 1280


def main(out: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "history_of_interpretation.app", "--port", str(port)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/")
        with chromium(width=WIDTH, height=1200) as driver:
            driver.get(f"http://127.0.0.1:{port}/")
            wait = WebDriverWait(driver, MAP_SECONDS, poll_frequency=0.5)
            # the top-5 dropdown fills once the model has seen the photo
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#class-choice input").get_attribute("value"))
            driver.find_element(By.ID, "explain").click()
            maps = len(DEFAULT_METHODS) + 1  # the photo, then one map per method
            wait.until(
                lambda d: d.execute_script(
                    "const maps = [...document.querySelectorAll('#maps figure img')];"
                    "return maps.length === arguments[0] && maps.every(i => i.complete && i.naturalWidth > 0)"
                    " && document.querySelector('#status').innerText.startsWith('done:')",
                    maps,
                )
            )
            time.sleep(1)  # let the layout settle
            # the whole page, beyond the window: Chrome's own full-page capture
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
            with atomic_output(out, suffix=".png") as temporary:
                temporary.write_bytes(base64.b64decode(shot["data"]))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/screenshot_app.py OUT.png")
    main(sys.argv[1])
