"""The app's page in headless Chromium: maps that all show, errors that name the reader's file, Stop, a client gone."""

from __future__ import annotations

import logging
import os
import time

import pytest
from app_helpers import (
    PAGE_SECONDS,
    STOP_SECONDS,
    job_threads,
    png_header_only,
    rotated_photo,
    truncated_jpeg,
    wait_for,
)
from browser import chromium, missing_browser, requests_made
from PIL import Image

from history_of_interpretation import load_image
from history_of_interpretation.app import endpoints, jobs

# Skipped where no Chromium is installed, except in CI (CI=true), which must install it (make browser).
pytestmark = pytest.mark.skipif(
    missing_browser() is not None and not os.environ.get("CI"), reason=str(missing_browser())
)


@pytest.fixture(scope="module")
def page(server):
    """A headless Chromium on the app, its first photo previewed."""
    with chromium(height=1400) as driver:
        driver.get(server)
        wait_until(driver, lambda d: chosen_class(d), "the first photo's top 5")
        yield driver


def wait_until(driver, condition, what: str, seconds: float = PAGE_SECONDS):
    """Wait for `condition(driver)` (an element not there yet counts as not yet), and return it."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.3).until(condition, message=f"waited for {what}")


def find(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def page_text(driver) -> str:
    return find(driver, "body").text


def status(driver) -> str:
    """The status line's text (without gradio's badge of the last event's state)."""
    return find(driver, "#status [data-testid=markdown]").text


def chosen_class(driver) -> str:
    """The class the top-5 dropdown shows, e.g. 'espresso (94.0%)'."""
    return find(driver, "#class-choice input").get_attribute("value") or ""


def choose(driver, element_id: str, text: str):
    """Pick an option of a gradio dropdown by typing it."""
    from selenium.webdriver.common.keys import Keys

    box = find(driver, f"#{element_id} input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text)
    time.sleep(0.5)
    box.send_keys(Keys.ENTER)


def only_methods(driver, *names: str):
    """Tick exactly `names` in the methods' checkboxes."""
    from selenium.webdriver.common.by import By

    for box in driver.find_elements(By.CSS_SELECTOR, "#methods input[type=checkbox]"):
        if box.is_selected() != (box.get_attribute("name") in names):
            box.click()


def set_number(driver, title: str, element_id: str, value: int):
    """Open the settings of the method called `title` and type a number into one of its fields."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    fields = f"#{element_id} input"
    if not [box for box in driver.find_elements(By.CSS_SELECTOR, fields) if box.is_displayed()]:
        heading = f"//*[contains(@class, 'label-wrap')][contains(., '{title}: settings')]"
        wait_until(driver, lambda d: d.find_element(By.XPATH, heading).is_displayed(), f"{title}'s settings")
        driver.find_element(By.XPATH, heading).click()
    box = wait_until(driver, lambda d: (box := find(d, fields)).is_displayed() and box, f"the field {element_id}", 10)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value))
    box.send_keys(Keys.TAB)


def upload(driver, path):
    clear_upload(driver)
    find(driver, "#upload input[type=file]").send_keys(str(path))


def clear_upload(driver):
    """Empty the upload field (its Clear button shows only while it holds a file)."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, "#upload button[aria-label=Clear]"):
        button.click()


def explain(driver) -> str:
    """Press Explain and wait for the status line to say that this request's maps are done; return it."""
    before = status(driver)
    find(driver, "#explain").click()
    return wait_until(driver, lambda d: (now := status(d)).startswith("done:") and now != before and now, "the maps")


# Each figure of the results, and whether something hides it: an ancestor that scrolls or clips with more
# content than it shows, or a place beyond the page's own height.
HIDDEN_FIGURES = """
const page = document.documentElement.scrollHeight;
return [...document.querySelectorAll(arguments[0] + ' figure')].map(figure => {
  const image = figure.querySelector('img'), caption = figure.querySelector('figcaption');
  let hidden = null;
  for (let box = figure.parentElement; box && box !== document.body; box = box.parentElement) {
    const style = getComputedStyle(box);
    if (['auto', 'scroll', 'hidden'].includes(style.overflowY) && box.scrollHeight > box.clientHeight + 1) {
      hidden = 'inside a box that scrolls: ' + box.className;
    }
  }
  const bottom = caption.getBoundingClientRect().bottom + window.scrollY;
  if (bottom > page) hidden = 'below the page';
  if (!(image.complete && image.naturalWidth > 0)) hidden = 'image not loaded';
  if (caption.getBoundingClientRect().height === 0) hidden = 'caption not shown';
  return [caption.innerText, hidden, image.naturalWidth / image.naturalHeight];
});
"""


def figures(driver, where: str = "#maps") -> list:
    return driver.execute_script(HIDDEN_FIGURES, where)


def toasts(driver) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll('.toast-body')].map(t => t.innerText)")


def test_every_map_and_caption_shows_in_the_page(page):
    choose(page, "sample", "coffee")
    wait_until(page, lambda d: chosen_class(d).startswith("espresso"), "coffee's top 5")
    only_methods(page, "vanilla_gradient", "guided_backprop", "grad_cam", "grad_cam_plus_plus", "loo_grid")
    assert explain(page).startswith("done: 5 maps in")
    shown = figures(page)
    assert [caption.split(":")[0] for caption, _, _ in shown] == [
        "as the model sees it",
        "leave-one-out (grid)",
        "vanilla gradient",
        "guided backprop",
        "Grad-CAM",
        "Grad-CAM++",
    ]
    assert [hidden for _, hidden, _ in shown] == [None] * 6  # no inner scroll box, nothing cut off
    assert all(0.8 < aspect < 1.4 for _, _, aspect in shown)  # each drawn about square: no blank half
    assert find(page, "#maps").size["width"] > 0.9 * page.execute_script("return document.body.clientWidth") - 64


def test_a_thumbnail_picks_its_sample(page):
    from selenium.webdriver.common.by import By

    page.find_elements(By.CSS_SELECTOR, "#thumbnails button")[2].click()  # rocket
    wait_until(page, lambda d: chosen_class(d).startswith(("missile", "projectile")), "the rocket's top 5")
    bars = page.execute_script("return [...document.querySelectorAll('#top5 .label, #top5 dl, #top5 button')].length")
    assert bars >= 5 and "missile" in find(page, "#top5").text


def test_upload_errors_name_the_file_only_and_go_after_a_good_request(page, tmp_path, monkeypatch):
    monkeypatch.setattr(endpoints, "ERROR_SECONDS", 600)  # so that only the good request can make them go
    (tmp_path / "notes.png").write_text("not an image")
    upload(page, tmp_path / "notes.png")
    wait_until(page, lambda d: "notes.png is not an image that can be read" in page_text(d), "the first error")
    upload(page, truncated_jpeg(tmp_path / "holiday.jpg"))
    wait_until(page, lambda d: "holiday.jpg cannot be read as an image" in page_text(d), "the second error")
    assert not any("/tmp" in toast or "gradio" in toast for toast in toasts(page))  # the file's name, not its path
    assert len(toasts(page)) <= 2
    Image.fromarray(load_image("rocket")).save(tmp_path / "rocket.png")
    upload(page, tmp_path / "rocket.png")
    wait_until(page, lambda d: chosen_class(d).startswith(("missile", "projectile")), "the upload's top 5")
    wait_until(page, lambda d: not toasts(d), "the errors to go", 10)
    only_methods(page, "grad_cam")
    assert explain(page).startswith("done: 1 map in")
    assert [caption.split(":")[0] for caption, _, _ in figures(page)] == ["as the model sees it", "Grad-CAM"]
    clear_upload(page)


# The preview's colour at the middle of its top edge and of its left edge, once it shows a new image.
TOP_AND_LEFT = """
const img = document.querySelector('#seen img');
if (!img || !img.complete || !img.naturalWidth || img.src === arguments[0]) return null;
const canvas = document.createElement('canvas');
canvas.width = img.naturalWidth;
canvas.height = img.naturalHeight;
const context = canvas.getContext('2d');
context.drawImage(img, 0, 0);
const at = (x, y) => [...context.getImageData(x * img.naturalWidth, y * img.naturalHeight, 1, 1).data];
return [at(0.5, 0.05), at(0.05, 0.5)];
"""


def test_a_phone_photo_shows_upright(page, tmp_path):
    before = find(page, "#seen img").get_attribute("src")
    upload(page, rotated_photo(tmp_path / "phone.jpg", 6))
    top, left = wait_until(page, lambda d: d.execute_script(TOP_AND_LEFT, before), "the phone photo's preview")
    assert top[0] > 200 and top[2] < 60, top  # its red third on top: turned upright
    assert left[2] > 200 and left[0] < 60, left  # blue at the left, where the sideways photo was red
    clear_upload(page)


def test_the_huge_image_and_an_unknown_class_show_plain_errors(page, tmp_path):
    from selenium.webdriver.common.keys import Keys

    upload(page, png_header_only(tmp_path / "huge.png", 12000, 12000))
    wait_until(page, lambda d: "huge.png is 12000x12000 pixels (144 megapixels)" in page_text(d), "the size error")
    clear_upload(page)
    find(page, "#class-name textarea, #class-name input").send_keys("cat")
    find(page, "#explain").click()
    wait_until(page, lambda d: "Did you mean tabby (281), tiger cat (282)" in page_text(d), "the class error")
    class_name = find(page, "#class-name textarea, #class-name input")
    class_name.send_keys(Keys.CONTROL, "a")
    class_name.send_keys(Keys.DELETE)  # as a reader empties it: gradio sees no .clear()


def start_long(driver):
    """A request the budget allows that takes minutes on 2 cores (2,000 SmoothGrad samples)."""
    only_methods(driver, "smoothgrad")
    set_number(driver, "SmoothGrad", "smoothgrad_samples", 2000)
    find(driver, "#explain").click()
    wait_until(driver, lambda d: "running SmoothGrad" in status(d), "the long request to start")


def test_stop_ends_the_running_job_and_the_next_request_answers(page, caplog):
    caplog.set_level(logging.INFO, logger=jobs.__name__)
    start_long(page)
    wait_until(page, lambda d: "up to 2,000 passes" in find(d, "#estimate").text, "the cost estimate", 10)
    find(page, "#stop").click()
    wait_until(page, lambda d: status(d) == "stopped", "the page to say so", 10)
    wait_for(lambda: not job_threads(), "the job to stop", STOP_SECONDS)
    assert "a job was stopped after 0 steps, while SmoothGrad (1 of 1)" in caplog.text  # within its one method
    set_number(page, "SmoothGrad", "smoothgrad_samples", 5)
    assert explain(page).startswith("done: 1 map in")


def test_a_job_stops_when_its_client_goes_away(server, caplog):
    caplog.set_level(logging.INFO, logger=jobs.__name__)
    with chromium() as driver:
        driver.get(server)
        wait_until(driver, lambda d: chosen_class(d), "the page")
        start_long(driver)
        assert job_threads()
    wait_for(lambda: not job_threads(), "the job of a closed page to stop", STOP_SECONDS)
    assert "a job was stopped after 0 steps, while SmoothGrad (1 of 1)" in caplog.text


def test_the_discrimination_tab_explains_each_half_without_empty_space(page):
    from selenium.webdriver.common.by import By

    page.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Class discrimination')]").click()
    assert find(page, "#pair-maps").size["height"] < 100  # before Compare: a line of text, no empty frame
    find(page, "#compare").click()
    wait_until(page, lambda d: len(figures(d, "#pair-maps")) == 2, "two rows of maps")
    rows = figures(page, "#pair-maps")
    assert [hidden for _, hidden, _ in rows] == [None, None]
    assert rows[0][0].startswith("the class of chelsea (left half): Grad-CAM: 1 pass")
    assert all(2.5 < aspect < 3.6 for _, _, aspect in rows)  # a row of three panels, drawn that wide


def test_nothing_is_requested_from_outside_the_machine(page):
    outside = [
        url
        for url in requests_made(page)
        if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.split("/")[2].startswith("127.0.0.1")
    ]
    assert not outside
