"""The app: controls generated from the method specs, input checks, concurrent requests, and the page in Chromium."""

from __future__ import annotations

import os
import struct
import threading
import time
import zlib

import gradio as gr
import numpy as np
import pytest

from history_of_interpretation import load_image
from history_of_interpretation.app import page as app, work as app_work
from history_of_interpretation.app.controls import all_controls, controls_for, settings_from_values  # noqa: E402
from history_of_interpretation.methods import METHODS, SPECS, attribute  # noqa: E402
from history_of_interpretation.methods.rules import FLAG, SEED, checked_by_method, count, number, one_of, optional
from history_of_interpretation.methods.spec import method

COUNT = count(50)


@method(
    title="toy",
    authors="Nobody",
    year=2000,
    paper="A toy",
    rules={
        "count": COUNT,
        "seed": SEED,
        "scale": number(0, 2),
        "kind": one_of("a", "b"),
        "flag": FLAG,
        "channels": optional(COUNT),
        "baseline": checked_by_method("an image"),
    },
    passes=lambda settings, extras: {},
    rgb=False,
    signed=False,
    display="heat",
    resolution="pixel",
)
def toy(
    context,
    count: int = 3,
    seed: int = 0,
    scale: float = 0.5,
    kind: str = "a",
    flag: bool = False,
    channels=None,
    baseline="black",
):
    """A method with one parameter of every kind of rule."""


# --- controls from the specs ---------------------------------------------------------------


def test_each_rule_gives_its_kind_of_control():
    controls = {c.parameter: c for c in controls_for(toy.spec)}
    assert {name: c.kind for name, c in controls.items()} == {
        "count": "integer",
        "seed": "integer",
        "scale": "number",
        "kind": "choice",
        "flag": "flag",
        "channels": "integer",
    }  # the image baseline keeps its default
    assert (controls["count"].minimum, controls["seed"].minimum, controls["scale"].minimum) == (1, 0, 0)
    assert (controls["count"].maximum, controls["scale"].maximum, controls["channels"].maximum) == (50, 2, 50)
    assert controls["kind"].choices == ("a", "b")
    assert controls["channels"].optional and not controls["count"].optional
    assert {name: c.default for name, c in controls.items()} == {
        "count": 3,
        "seed": 0,
        "scale": 0.5,
        "kind": "a",
        "flag": False,
        "channels": None,
    }
    assert controls["count"].description == COUNT.description


def test_every_registered_method_gets_a_control_per_settable_parameter():
    controls = all_controls()
    for name in METHODS:
        spec = SPECS[name]
        own = {c.parameter for c in controls if c.method == name}
        fixed = {p for p, rule in spec.rules.items() if rule.kind == "given"}
        assert own == set(spec.defaults) - fixed, name


def test_the_page_lists_every_method_with_its_settings():
    config = app.build().get_config_file()
    labels = {component["props"].get("label") for component in config["components"]}
    choices = next(c["props"]["choices"] for c in config["components"] if c["props"].get("elem_id") == "methods")
    assert [value for _, value in choices] == list(METHODS)
    assert {f"{SPECS[c.method].title}: settings" for c in all_controls()} <= labels
    assert {c.label for c in all_controls()} <= labels


def test_default_values_give_the_default_settings():
    controls = all_controls()
    values = [c.default for c in controls]
    for name in METHODS:
        assert settings_from_values(SPECS[name], controls, values) == SPECS[name].checked({})


def test_number_fields_become_checked_settings():
    controls = controls_for(toy.spec)
    values = {c.parameter: c.default for c in controls}

    def settings(**changed):
        return settings_from_values(toy.spec, controls, [{**values, **changed}[c.parameter] for c in controls])

    assert settings(count=5.0)["count"] == 5 and isinstance(settings(count=5.0)["count"], int)
    assert settings(channels=None)["channels"] is None and settings(channels=2.0)["channels"] == 2
    with pytest.raises(ValueError, match="toy: count must be a whole number from 1 to 50, not 2.5"):
        settings(count=2.5)
    with pytest.raises(ValueError, match="count is empty; it must be a whole number from 1 to 50"):
        settings(count=None)
    with pytest.raises(ValueError, match="toy: count must be a whole number from 1 to 50, not 1000000000"):
        settings(count=1e9)
    with pytest.raises(ValueError, match="kind must be one of 'a', 'b', not 'c'"):
        settings(kind="c")


# --- input checks ------------------------------------------------------------------------------


def png_header_only(path, width: int, height: int):
    """A PNG that declares width x height but holds no pixels: only decoding it would fail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_a_file_that_is_not_an_image_is_refused(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.png is not an image that can be read"):
        app_work.photo("chelsea", text, 224)


def test_a_one_pixel_image_is_refused(tmp_path):
    from PIL import Image

    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ValueError, match="dot.png is 1x1 pixels; use a photo at least 32 pixels on each side"):
        app_work.photo(None, tmp_path / "dot.png", 224)


def test_a_huge_image_is_refused_from_its_header_before_decoding(tmp_path):
    huge = png_header_only(tmp_path / "huge.png", 12000, 12000)
    with pytest.raises(ValueError, match="huge.png is 12000x12000 pixels \\(144 megapixels\\)"):
        app_work.photo(None, huge, 224)


def test_an_upload_replaces_the_sample(tmp_path):
    from PIL import Image

    Image.fromarray(load_image("coffee")).save(tmp_path / "mine.png")
    np.testing.assert_array_equal(app_work.photo("chelsea", tmp_path / "mine.png", 224), load_image("coffee", 224))
    with pytest.raises(ValueError, match="choose a sample photo or upload one"):
        app_work.photo(None, None, 224)


def test_the_class_by_name_wins_and_an_unknown_name_is_an_error():
    assert app_work.target(3, "tiger cat") == 282
    assert app_work.target(3, "  ") == 3 and app_work.target(None, "") is None
    with pytest.raises(ValueError, match="unknown ImageNet class name 'tigger cat'"):
        app_work.target(None, "tigger cat")


def test_errors_reach_the_page_as_plain_messages():
    @app.plain_errors
    def failing():
        raise ValueError("grid must be a whole number of at least 1, not 0")

    with pytest.raises(gr.Error, match="grid must be a whole number of at least 1, not 0"):
        failing()


def test_the_command_line_takes_a_port():
    assert app.parse_arguments(["--port", "8123"]).port == 8123
    assert app.parse_arguments([]).port == app.DEFAULT_PORT


def test_no_analytics_and_no_font_server():
    import os

    from gradio.themes.utils.fonts import GoogleFont

    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert not any(isinstance(font, GoogleFont) for font in (*app.THEME._font, *app.THEME._font_mono))


# --- the work, on the real model -------------------------------------------------------------------


def test_explain_draws_each_map_with_its_cost(lite0):
    image = load_image("chelsea", lite0.input_size)
    settings = {"vanilla_gradient": {}, "loo_grid": SPECS["loo_grid"].checked({"grid": 2})}
    steps = []
    pictures = app_work.explain(image, lite0, None, settings, lambda done, text: steps.append(done))
    assert [p.results[0].method for p in pictures] == ["vanilla_gradient", "loo_grid"]
    assert [p.caption for p in pictures] == [
        f"vanilla gradient: 1 pass, {pictures[0].results[0].seconds:.2f} s",
        f"leave-one-out (grid): 4 passes, {pictures[1].results[0].seconds:.2f} s",
    ]
    assert all(p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.std() > 0 for p in pictures)
    assert steps == [0.0, 0.5, 1.0]


def test_class_discrimination_explains_each_half_with_its_own_class(lite0):
    pictures = app_work.discriminate("chelsea", "coffee", lite0)
    own = [lite0.top_k(load_image(name, lite0.input_size), 1)[0][0] for name in ("chelsea", "coffee")]
    assert [[r.target for r in p.results] for p in pictures] == [[own[0]] * 2, [own[1]] * 2]
    assert [[r.method for r in p.results] for p in pictures] == [list(app_work.DISCRIMINATION_METHODS)] * 2


def test_two_requests_at_once_each_get_their_own_result(lite0):
    """attribute() counts passes on counters shared by every context on a model: the lock keeps them apart."""
    jobs = {"cat": ("chelsea", "loo_grid", {"grid": 3}), "cup": ("coffee", "smoothgrad", {"samples": 5})}
    expected = {
        key: attribute(name, lite0, load_image(photo, 224), **params) for key, (photo, name, params) in jobs.items()
    }
    start, results = threading.Barrier(len(jobs)), {}

    def request(key):
        photo, name, params = jobs[key]
        image = app_work.photo(photo, None, 224)
        start.wait()
        results[key] = app_work.explain(image, lite0, None, {name: SPECS[name].checked(params)})[0].results[0]

    threads = [threading.Thread(target=request, args=(key,)) for key in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key in jobs:
        assert (
            results[key].pass_counts
            == expected[key].pass_counts
            == {"cat": {"forward": 9}, "cup": {"gradient": 5}}[key]
        )
        assert results[key].target == expected[key].target
        np.testing.assert_allclose(results[key].map, expected[key].map, rtol=1e-4, atol=1e-6)


def test_inception_offline_says_what_to_do(monkeypatch, tmp_path):
    from history_of_interpretation.models import inception

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(inception, "_internet_reachable", lambda *args, **kwargs: False)
    with pytest.raises(gr.Error, match="inception_v3 needs its ImageNet weights"):
        app.plain_errors(app_work.model)("inception_v3")


# --- the page in a real browser ------------------------------------------------------------------

from browser import chromium, free_port, missing_browser, requests_made  # noqa: E402

# Skipped where no Chromium is installed, except in CI (CI=true), which must install it (make browser).
needs_chromium = pytest.mark.skipif(
    missing_browser() is not None and not os.environ.get("CI"), reason=str(missing_browser())
)
PAGE_SECONDS = 120  # a map on 2 shared CPU cores, the model's first load included


@pytest.fixture(scope="module")
def server(lite0):
    """The app's address on a free localhost port, served from a thread."""
    port = free_port()
    demo = app.launch(port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def page(server):
    """A fresh headless Chromium on the app."""
    with chromium(height=1600) as driver:
        driver.get(server)
        yield driver


def test_two_requests_to_the_server_at_once_each_get_their_own_result(server):
    from gradio_client import Client

    controls = all_controls()
    values = [c.default for c in controls]
    values[[(c.method, c.parameter) for c in controls].index(("smoothgrad", "samples"))] = 6
    client = Client(server, verbose=False)
    jobs = {"chelsea": "loo_grid", "coffee": "smoothgrad"}
    submitted = {
        photo: client.submit(photo, None, "efficientnet_lite0", None, "", [name], *values, api_name="/run_explain")
        for photo, name in jobs.items()
    }
    results = {photo: job.result(timeout=PAGE_SECONDS) for photo, job in submitted.items()}
    assert results["chelsea"][0][0]["caption"].startswith("leave-one-out (grid): 9 passes,")
    assert results["coffee"][0][0]["caption"].startswith("SmoothGrad: 6 passes,")
    assert "| loo_grid | Egyptian cat | 9 |" in results["chelsea"][1]
    assert "| smoothgrad | espresso | 6 |" in results["coffee"][1]


def wait_until(driver, condition, what: str, seconds: float = PAGE_SECONDS):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.5).until(lambda d: condition(d), message=what)


def shown_maps(driver) -> list[str]:
    """The captions of the maps in the gallery whose image has loaded (naturalWidth > 0)."""
    from selenium.webdriver.common.by import By

    loaded = driver.execute_script(
        "return [...document.querySelectorAll('#maps img')].filter(i => i.complete && i.naturalWidth > 0).length"
    )
    captions = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#maps .caption-label, #maps figcaption")]
    return captions if loaded else []


def choose(driver, element_id: str, text: str):
    """Pick an option of a gradio dropdown by typing it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, f"#{element_id} input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text)
    time.sleep(0.5)
    box.send_keys(Keys.ENTER)


def chosen_class(driver) -> str:
    """The class the top-5 dropdown shows, e.g. 'espresso (94.0%)'."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "#class-choice input").get_attribute("value") or ""


def only_method(driver, name: str):
    """Tick `name` alone in the methods' checkboxes."""
    from selenium.webdriver.common.by import By

    for box in driver.find_elements(By.CSS_SELECTOR, "#methods input[type=checkbox]"):
        if box.is_selected() != (box.get_attribute("name") == name):
            box.click()


def explain_and_wait(driver, before: list[str]) -> list[str]:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "explain").click()
    return wait_until(driver, lambda d: (maps := shown_maps(d)) and maps != before and maps, "a map to appear")


@needs_chromium
def test_a_sample_and_a_method_give_a_map(page):
    from selenium.webdriver.common.by import By

    wait_until(page, lambda d: d.find_elements(By.CSS_SELECTOR, "#sample input"), "the page")
    choose(page, "sample", "coffee")
    wait_until(page, lambda d: chosen_class(d).startswith("espresso"), "coffee's top 5")
    only_method(page, "vanilla_gradient")
    captions = explain_and_wait(page, before=[])
    assert len(captions) == 1 and captions[0].startswith("vanilla gradient: 1 pass,"), captions


@needs_chromium
def test_a_non_image_upload_shows_the_error_and_the_next_request_works(page, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    before = shown_maps(page)
    (tmp_path / "notes.png").write_text("not an image")
    page.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(tmp_path / "notes.png"))
    wait_until(
        page,
        lambda d: "notes.png is not an image that can be read" in d.find_element(By.TAG_NAME, "body").text,
        "the error message",
    )
    clear_upload(page)
    Image.fromarray(load_image("rocket")).save(tmp_path / "rocket.png")
    page.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(tmp_path / "rocket.png"))
    wait_until(page, lambda d: chosen_class(d).startswith(("missile", "projectile")), "the upload's top 5")
    only_method(page, "grad_cam")
    captions = explain_and_wait(page, before)
    assert len(captions) == 1 and captions[0].startswith("Grad-CAM: 1 pass,"), captions


def clear_upload(driver):
    """Empty the upload field (its Clear button shows only while it holds a file)."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, "#upload button[aria-label=Clear]"):
        button.click()


def page_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


@needs_chromium
def test_a_huge_image_and_an_unknown_class_show_plain_errors(page, tmp_path):
    from selenium.webdriver.common.by import By

    clear_upload(page)
    upload = page.find_element(By.CSS_SELECTOR, "#upload input[type=file]")
    upload.send_keys(str(png_header_only(tmp_path / "huge.png", 12000, 12000)))
    wait_until(page, lambda d: "huge.png is 12000x12000 pixels (144 megapixels)" in page_text(d), "the size error")
    clear_upload(page)
    page.find_element(By.CSS_SELECTOR, "#class-name textarea, #class-name input").send_keys("tigger cat")
    page.find_element(By.ID, "explain").click()
    wait_until(page, lambda d: "unknown ImageNet class name 'tigger cat'" in page_text(d), "the class error")


@needs_chromium
def test_the_discrimination_tab_explains_each_half(page):
    from selenium.webdriver.common.by import By

    page.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Class discrimination')]").click()
    page.find_element(By.ID, "compare").click()
    wait_until(
        page,
        lambda d: (
            d.execute_script(
                "return [...document.querySelectorAll('#pair-maps img')].filter(i => i.naturalWidth > 0).length"
            )
            == 2
        ),
        "two rows of maps",
    )
    assert "the class of chelsea (left half): Grad-CAM: 1 pass" in page_text(page)


@needs_chromium
def test_nothing_is_requested_from_outside_the_machine(page):
    outside = [
        url
        for url in requests_made(page)
        if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.split("/")[2].startswith("127.0.0.1")
    ]
    assert not outside
